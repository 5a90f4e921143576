import net from 'node:net';
import pg from 'pg';
import { QueryTypes } from 'sequelize';
import { createDatabase, Database, inTransaction, withSession } from '../../lib/db';
import { isDatabaseUnavailable } from '../../lib/http';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

// The hand-written statements of the verification service run on connections
// taken from the Sequelize pool (lib/db.ts). One connection in the pool, so a
// connection handed back dirty or broken would show in the next call.
let testDb: TestDatabase;
let db: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDatabase(
    { databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 10000 },
    { max: 1 },
  );
  await db.sequelize.query('CREATE TABLE session_probe (n int NOT NULL)');
});

afterAll(async () => {
  await db?.sequelize.close();
  await testDb?.drop();
});

beforeEach(async () => {
  await db.sequelize.query('TRUNCATE session_probe');
});

const probe = () =>
  withSession(db.sequelize, async (sql) => {
    const [row] = await sql.rows<{ n: number; pid: number; open: boolean }>(
      `SELECT (SELECT count(*)::int FROM session_probe) AS n, pg_backend_pid() AS pid,
              now() <> statement_timestamp() AS open`,
    );
    return row as { n: number; pid: number; open: boolean };
  });

describe('inTransaction', () => {
  it('commits what the work wrote and answers its result', async () => {
    const result = await inTransaction(db.sequelize, async (sql) => {
      await sql.rows('INSERT INTO session_probe VALUES ($1), ($2)', [1, 2]);
      const [inside] = await sql.rows<{ n: number }>(
        'SELECT count(*)::int AS n FROM session_probe',
      );
      return inside?.n;
    });
    expect(result).toBe(2);
    expect((await probe()).n).toBe(2);
  });

  it('rolls back when the work throws, and the connection serves the next call outside any transaction', async () => {
    const before = await probe();
    await expect(
      inTransaction(db.sequelize, async (sql) => {
        await sql.rows('INSERT INTO session_probe VALUES ($1)', [1]);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const after = await probe();
    expect(after).toEqual({ n: 0, pid: before.pid, open: false });
  });

  it('rolls back after a failed statement and answers the driver error', async () => {
    const before = await probe();
    const failure = await inTransaction(db.sequelize, async (sql) => {
      await sql.rows('INSERT INTO session_probe VALUES ($1)', [1]);
      await sql.rows('INSERT INTO session_probe VALUES ($1)', [null]);
    }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(pg.DatabaseError);
    expect(failure).toMatchObject({ code: '23502' });
    expect(isDatabaseUnavailable(failure)).toBe(false);
    expect(await probe()).toEqual({ n: 0, pid: before.pid, open: false });
  });
});

describe('withSession', () => {
  it('runs each statement in its own transaction', async () => {
    await expect(
      withSession(db.sequelize, async (sql) => {
        await sql.rows('INSERT INTO session_probe VALUES ($1)', [1]);
        await sql.rows('INSERT INTO session_probe VALUES ($1)', [null]);
      }),
    ).rejects.toMatchObject({ code: '23502' });
    expect((await probe()).n).toBe(1);
  });

  it('answers a 503-class error when the session is killed, and the next call gets a new connection', async () => {
    const { pid } = await probe();
    const killer = new pg.Client({ connectionString: testDb.url });
    await killer.connect();
    try {
      const failure = withSession(db.sequelize, (sql) => sql.rows('SELECT pg_sleep(30)')).catch(
        (err: unknown) => err,
      );
      // Wait until the sleep runs on that backend, then end it from outside.
      for (let i = 0; i < 100; i += 1) {
        const { rows } = await killer.query(
          "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%'",
          [pid],
        );
        if (rows.length) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await killer.query('SELECT pg_terminate_backend($1)', [pid]);
      const err = await failure;
      expect(err).toMatchObject({ code: '57P01', severity: 'FATAL' });
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      await killer.end();
    }
    const next = await probe();
    expect(next.pid).not.toBe(pid);
  });
});

/** A TCP relay to the test database whose connections can be cut, as a network drop would. */
async function cuttableRelay(target: string): Promise<{ url: string; cut(): void; close(): void }> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const server = net.connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, server]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(server).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: url.toString(),
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => server.close(),
  };
}

describe('a connection lost under a statement', () => {
  it('answers a 503-class error, bare or wrapped by Sequelize, and the next call reconnects', async () => {
    const relay = await cuttableRelay(testDb.url);
    const remote = createDatabase(
      { databaseUrl: relay.url, caFile: undefined, connectTimeoutMs: 10000 },
      { max: 1 },
    );
    const sleeping = () =>
      db.sequelize.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND query = 'SELECT pg_sleep(30)'`,
        { type: QueryTypes.SELECT },
      );
    try {
      const statements = {
        bare: () => withSession(remote.sequelize, (sql) => sql.rows('SELECT pg_sleep(30)')),
        sequelize: () => remote.sequelize.query('SELECT pg_sleep(30)'),
      };
      for (const [path, run] of Object.entries(statements)) {
        const failure = run().catch((err: unknown) => err);
        for (let i = 0; i < 200 && (await sleeping()).length === 0; i += 1) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        relay.cut();
        const err = await failure;
        expect({ path, unavailable: isDatabaseUnavailable(err) }).toEqual({
          path,
          unavailable: true,
        });
        // The server notices the lost client only when the sleep ends; end it now.
        for (const { pid } of await sleeping()) {
          await db.sequelize.query('SELECT pg_terminate_backend($1)', { bind: [pid] });
        }
      }
      const rows = await remote.sequelize.query('SELECT 1 AS one', { type: QueryTypes.SELECT });
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await remote.sequelize.close();
      relay.close();
    }
  });
});
