// The database of `npm start`, for the local tools (npm run migrate, token,
// user, db:url): DATABASE_URL when set; else the embedded cluster kept in
// .data/postgres (VS_DATA_DIR/postgres), used as it runs under npm start, or
// started for the tool and stopped again afterwards.
import path from 'node:path';
import pg from 'pg';
import { CliError } from './cli.mjs';
import { DATA_DIR } from './dev-env.mjs';
import { readPostmaster, startEmbeddedPostgres } from './embedded-postgres.mjs';

/** The database npm start creates in its cluster and serves the API from. */
export const LOCAL_DATABASE = 'verification_service';

/** npm start's cluster folder. */
export const localDataDir = () => path.join(DATA_DIR, 'postgres');

/** The folder as the user knows it, for messages. */
export const shownDataDir = () =>
  path.relative(process.cwd(), localDataDir()).startsWith('..')
    ? localDataDir()
    : path.relative(process.cwd(), localDataDir()) || '.';

/** A URL for `database` on the cluster at `url`. */
export function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The URL of the local database while its cluster runs (under npm start or a tool), else null. */
export function runningLocalDatabase() {
  const postmaster = readPostmaster(localDataDir());
  if (!postmaster || postmaster.status !== 'ready') return null;
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${postmaster.port}/${LOCAL_DATABASE}`,
    postgresPid: postmaster.pid,
  };
}

/** Creates `database` on the cluster at `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl, database) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
}

/**
 * Starts npm start's cluster (creating it on first use) and its database.
 * @param {{ port?: number, handleSignals?: boolean }} opts
 */
export async function startLocalCluster(opts = {}) {
  let server;
  try {
    server = await startEmbeddedPostgres({ ...opts, dataDir: localDataDir() });
  } catch (err) {
    if (err.postgresPid) {
      throw new CliError(
        `the database in ${shownDataDir()} is starting or stopping (postgres pid ${err.postgresPid}): try again in a moment`,
      );
    }
    throw err;
  }
  try {
    await ensureDatabase(server.url, LOCAL_DATABASE);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { ...server, url: withDatabase(server.url, LOCAL_DATABASE) };
}

/**
 * The database a local tool works on: `{ url, release }`. Call release() when
 * done: it stops the cluster when this call started it.
 */
export async function openLocalDatabase() {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, release: async () => {} };
  const running = runningLocalDatabase();
  if (running) return { url: running.url, release: async () => {} };
  const server = await startLocalCluster();
  return { url: server.url, release: () => server.stop() };
}

/** Runs `fn` with a connected pg client on the local database. */
export async function withLocalClient(fn) {
  const db = await openLocalDatabase();
  try {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return await fn(client);
    } catch (err) {
      if (err.code === '42P01') {
        throw new CliError(
          'the database has no tables yet: run npm run migrate -- up (npm start does it too)',
        );
      }
      throw err;
    } finally {
      await client.end();
    }
  } finally {
    await db.release();
  }
}
