import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { createDatabase } from '../../lib/db';
import { createPgDatabase } from '../../lib/pgDatabase';
import { withSession } from '../../lib/sql';

// A PostgreSQL with ssl=on and a server certificate from a throwaway CA, reached
// through the project's own connection code (lib/connection.cjs), as every
// function reaches its database: through Sequelize (createDatabase) and through
// the pg pool of the send and verify functions (createPgDatabase), each case
// both ways. Needs `openssl` on the PATH.

const dir = mkdtempSync(path.join(os.tmpdir(), 'vs-tls-'));
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

function makeCa(name: string): void {
  openssl(
    'req',
    '-x509',
    '-new',
    '-nodes',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-keyout',
    file(`${name}.key`),
    '-out',
    file(`${name}.crt`),
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
}

/** The server certificate names only "localhost": 127.0.0.1 is a host not in it. */
function makeServerCert(): void {
  openssl(
    'req',
    '-new',
    '-nodes',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=localhost',
  );
  writeFileSync(
    file('server.ext'),
    'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '2',
    '-extfile',
    file('server.ext'),
  );
}

describe('TLS to PostgreSQL by sslmode (server with ssl=on)', () => {
  let server: ChildProcess;
  let port: number;

  beforeAll(async () => {
    makeCa('ca');
    makeCa('other-ca');
    makeServerCert();
    server = spawn(
      process.execPath,
      [
        path.join(__dirname, '..', 'helpers', 'tlsPostgres.mjs'),
        file('server.crt'),
        file('server.key'),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    server.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    port = await new Promise<number>((resolve, reject) => {
      server.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { port: number }).port);
      });
      server.once('exit', (code) => reject(new Error(`TLS PostgreSQL exited (${code}): ${err}`)));
    });
  }, 60_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const SSL_SQL = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

  /** Connects as a function would, both ways: whether each session is encrypted, or its error. */
  async function bothWays(host: string, sslmode: string, caFile?: string) {
    const settings = {
      databaseUrl: `postgres://postgres:postgres@${host}:${port}/postgres?sslmode=${sslmode}`,
      caFile,
      connectTimeoutMs: 5000,
    };
    const viaSequelize = async () => {
      const db = createDatabase(settings);
      try {
        const [row] = await db.sequelize.query<{ ssl: boolean }>(SSL_SQL, {
          type: QueryTypes.SELECT,
        });
        return row?.ssl ?? false;
      } finally {
        await db.sequelize.close();
      }
    };
    const viaPg = async () => {
      const db = createPgDatabase(settings);
      try {
        const [row] = await withSession(db.sql, (sql) => sql.rows<{ ssl: boolean }>(SSL_SQL));
        return row?.ssl ?? false;
      } finally {
        await db.pool.end();
      }
    };
    return Promise.all([settle(viaSequelize()), settle(viaPg())]);
  }

  const settle = (p: Promise<boolean>): Promise<PromiseSettledResult<boolean>> =>
    p.then(
      (value) => ({ status: 'fulfilled', value }),
      (reason: unknown) => ({ status: 'rejected', reason }),
    );

  /** Encrypted or not, the same both ways. */
  async function sessionSsl(host: string, sslmode: string, caFile?: string): Promise<boolean> {
    const [sequelize, pg] = await bothWays(host, sslmode, caFile);
    if (sequelize.status !== 'fulfilled' || pg.status !== 'fulfilled') {
      throw new Error(`not connected: ${JSON.stringify([sequelize, pg].map(reasonOf))}`);
    }
    expect(pg.value).toBe(sequelize.value);
    return pg.value;
  }

  /** Refused both ways, each with an error that matches `reason`. */
  async function expectRefused(reason: RegExp, host: string, sslmode: string, caFile?: string) {
    const outcomes = await bothWays(host, sslmode, caFile);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    for (const o of outcomes) expect(reasonOf(o)).toMatch(reason);
  }

  const reasonOf = (o: PromiseSettledResult<boolean>) =>
    o.status === 'rejected'
      ? o.reason instanceof Error
        ? o.reason.message
        : String(o.reason)
      : '';

  it('disable: connects without TLS', async () => {
    expect(await sessionSsl('127.0.0.1', 'disable')).toBe(false);
  });

  it('require: encrypts without checking the certificate (libpq meaning)', async () => {
    expect(await sessionSsl('127.0.0.1', 'require')).toBe(true);
  });

  it('verify-full: connects with the right CA and a host named in the certificate', async () => {
    expect(await sessionSsl('localhost', 'verify-full', file('ca.crt'))).toBe(true);
  });

  it('verify-full: refuses a certificate from another CA', async () => {
    await expectRefused(/certificate/i, 'localhost', 'verify-full', file('other-ca.crt'));
  });

  it('verify-full: refuses a host name the certificate does not name', async () => {
    await expectRefused(
      /IP: 127\.0\.0\.1 is not in the cert's list|does not match certificate/,
      '127.0.0.1',
      'verify-full',
      file('ca.crt'),
    );
  });

  it('verify-ca: checks the chain but not the host name', async () => {
    expect(await sessionSsl('127.0.0.1', 'verify-ca', file('ca.crt'))).toBe(true);
    await expectRefused(/certificate/i, '127.0.0.1', 'verify-ca', file('other-ca.crt'));
  });
});
