import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { migrations } from '../../lib/migrator/migrations';
import { ProcessRun, runProcess } from '../helpers/runProcess';

// The local tools (npm run migrate, user, token, db:url) with DATABASE_URL unset
// use the database of npm start: its cluster in VS_DATA_DIR/postgres (here a
// folder of this test's own), as it runs, or started for the tool and stopped after.
const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-local-tools-'));
const clusterDir = path.join(dataDir, 'postgres');
const env: NodeJS.ProcessEnv = { ...process.env, VS_DATA_DIR: dataDir };
delete env.DATABASE_URL;

function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<ProcessRun> {
  return runProcess(process.execPath, args, { cwd: ROOT, env: { ...env, ...extraEnv } });
}

const script = (name: string, ...args: string[]) => run([`scripts/${name}`, ...args]);
const migrate = (...args: string[]) => run([TSX, 'scripts/migrate.ts', ...args]);
const sequelizeCli = (url: string, ...args: string[]) =>
  run([path.join(ROOT, 'node_modules', 'sequelize-cli', 'lib', 'sequelize'), ...args], {
    DATABASE_URL: url,
  });

const clusterRuns = () => fs.existsSync(path.join(clusterDir, 'postmaster.pid'));

/** Runs npm start's cluster as npm start would, until stop(). */
async function runCluster(): Promise<{ stop: () => Promise<void>; pid: number; url: string }> {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['test/helpers/embeddedPostgresDriver.mjs', clusterDir],
    { cwd: ROOT, env, stdio: 'pipe' },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  const started = await new Promise<{ pid: number; url: string }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve(JSON.parse(line) as { pid: number; url: string });
    });
    void exited.then(() => reject(new Error('the cluster did not start')));
  });
  return {
    ...started,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

afterAll(() => {
  // As root, this test's private folder sends the cluster to /var/lib/verification-service/<id>
  // behind a symbolic link (scripts/embedded-postgres.mjs): remove it too.
  if (fs.lstatSync(clusterDir, { throwIfNoEntry: false })?.isSymbolicLink()) {
    const home = path.dirname(fs.realpathSync(clusterDir));
    fs.rmSync(home, { recursive: true, force: true });
    if (fs.readdirSync(path.dirname(home)).length === 0) fs.rmdirSync(path.dirname(home));
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('local tools on the database of npm start', () => {
  it('db:url says, in one line, that nothing runs', async () => {
    const r = await script('db-url.mjs');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(/^db:url: the database of npm start .* is not running/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('migrate starts the cluster when it is not running, and stops it again', async () => {
    const up = await migrate('up');
    expect(up.stderr).not.toContain('DATABASE_URL');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`up: ${migrations.length} applied`);
    expect(fs.existsSync(path.join(clusterDir, 'PG_VERSION'))).toBe(true);
    expect(clusterRuns()).toBe(false);

    const status = await migrate('status', '--json');
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as { pending: string[] }).pending).toEqual([]);
    expect(clusterRuns()).toBe(false);
  });

  it('user creates a user and prints a token for it; token signs for it', async () => {
    const made = await script(
      'user.mjs',
      '--email',
      'alice@example.com',
      '--phone',
      '+1 201 555 0123',
      '--role',
      'staff',
      '--name',
      'Alice',
    );
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^export TOKEN=[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const id = Number(/created user (\d+)/.exec(made.stderr)?.[1]);
    expect(id).toBeGreaterThan(0);

    const again = await script('user.mjs', '--email', 'alice@example.com');
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`user: user ${id} already has email alice@example.com`);

    const token = await script('token.mjs', String(id), '30m');
    expect(token.code).toBe(0);
    const payload = JSON.parse(
      Buffer.from(token.stdout.trim().split('.')[1] ?? '', 'base64url').toString(),
    ) as { sub: string; exp: number; iat: number };
    expect(payload.sub).toBe(String(id));
    expect(payload.exp - payload.iat).toBe(1800);

    const missing = await script('token.mjs', '9999');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(
      'token: there is no user 9999: make one with npm run user -- --email <e>',
    );
    expect(clusterRuns()).toBe(false);
  });

  it('while the cluster runs, the tools use it and leave it running; db:url serves sequelize-cli', async () => {
    const cluster = await runCluster();
    try {
      const url = await script('db-url.mjs');
      expect(url.code).toBe(0);
      const printed = url.stdout.trim();
      expect(printed).toBe(
        `postgres://postgres:postgres@127.0.0.1:${new URL(cluster.url).port}/verification_service`,
      );

      const cli = await sequelizeCli(printed, 'db:migrate:status');
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(/up\s+20261126000001-create-users\.cjs/);

      const made = await script('user.mjs', '--email', 'bob@example.com');
      expect(made.code).toBe(0);
      const status = await migrate('status');
      expect(status.code).toBe(0);
      expect(clusterRuns()).toBe(true);

      const client = new Client({ connectionString: printed });
      await client.connect();
      const users = await client.query('SELECT email FROM users ORDER BY id');
      await client.end();
      expect(users.rows.map((r: { email: string }) => r.email)).toEqual([
        'alice@example.com',
        'bob@example.com',
      ]);
    } finally {
      await cluster.stop();
    }
    expect(clusterRuns()).toBe(false);
  });
});
