import pg from 'pg';
import { containerPool } from './containerPools';
import { errorForLog, logger } from './logger';
import type { DatabaseSettings } from './settings';
import { DatabaseConnectError, type LeasedConnection, type SqlPool } from './sql';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseDatabaseUrl } = require('./connection.cjs') as typeof import('./connection.cjs');

/**
 * The database of the send and verify functions: a `pg.Pool` and nothing of
 * Sequelize (about 1.7 MB of bundle and 70 ms or more of cold start), with
 * the settings the Sequelize pool of the other functions has (lib/db.ts):
 * at most 2 connections, closed after 30 s idle, the connect timeout, and TLS
 * from the URL's sslmode and DATABASE_CA_FILE read by the same code
 * (lib/connection.cjs). Like Sequelize's, its connections send no SET at
 * start (RDS Proxy would pin them).
 */
export interface PgDatabase {
  pool: pg.Pool;
  /** Sessions on `pool` (lib/sql.ts). */
  sql: SqlPool;
}

export interface PgPoolOptions {
  max?: number;
}

/** How long a released connection stays open unused. */
export const IDLE_CLOSE_MS = 30_000;

/** The `pg.Pool` options for the settings: lib/connection.cjs's reading of the URL. */
export function pgPoolConfig(
  settings: DatabaseSettings,
  options: PgPoolOptions = {},
): pg.PoolConfig {
  const c = parseDatabaseUrl(settings.databaseUrl, { caFile: settings.caFile });
  return {
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.username,
    password: c.password,
    ssl: c.ssl,
    // Bounds connecting a new connection and waiting for a free one alike
    // (Sequelize's pool waits connectTimeoutMs + 1 s for a free one).
    connectionTimeoutMillis: settings.connectTimeoutMs,
    max: options.max ?? 2,
    min: 0,
    idleTimeoutMillis: IDLE_CLOSE_MS,
  };
}

/** A new pool for the settings; nothing connects until the first session. */
export function createPgDatabase(
  settings: DatabaseSettings,
  options: PgPoolOptions = {},
): PgDatabase {
  const pool = new pg.Pool(pgPoolConfig(settings, options));
  // A connection that fails while idle (the server restarted, a proxy cut it)
  // is dropped by the pool, which then emits `error`: unheard, it would end
  // the process.
  pool.on('error', (err) => {
    logger.warn('an idle database connection failed', { error: errorForLog(err) });
  });
  // The same for a lent connection between two statements: the next
  // statement fails and the session discards it (lib/sql.ts).
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return { pool, sql: pgSqlPool(pool) };
}

/** A connection failure of `warm` older than this is not a later request's answer. */
const WARM_FAILURE_KEPT_MS = 5_000;

/** Sessions on a `pg.Pool`. */
export function pgSqlPool(pool: pg.Pool): SqlPool {
  // A connection opened ahead of need (`warm`). Once open it is an idle
  // connection of the pool; until then the next `connect` waits for it, and
  // if it fails, that failure is the next `connect`'s (one wait, not two).
  let opening: Promise<void> | undefined;
  let failure: { error: unknown; at: number } | undefined;
  return {
    warm() {
      if (opening !== undefined || pool.totalCount > 0) return false;
      const attempt = pool.connect().then(
        (client) => client.release(),
        (error: unknown) => {
          failure = { error, at: Date.now() };
        },
      );
      opening = attempt;
      void attempt.then(() => {
        if (opening === attempt) opening = undefined;
      });
      return true;
    },
    async connect(): Promise<LeasedConnection> {
      let client: pg.PoolClient;
      try {
        // Waited for, so that the pool lends it rather than opening a second.
        if (opening !== undefined) await opening;
        const failed = failure;
        failure = undefined;
        if (failed !== undefined && Date.now() - failed.at < WARM_FAILURE_KEPT_MS) {
          throw failed.error;
        }
        client = await pool.connect();
      } catch (err) {
        throw new DatabaseConnectError(err);
      }
      return {
        query: (text, values) =>
          client.query(text, values as unknown[] | undefined) as unknown as ReturnType<
            LeasedConnection['query']
          >,
        async release(reusable) {
          // An error (here `true`) makes the pool close the connection.
          client.release(reusable ? undefined : true);
        },
      };
    },
  };
}

/**
 * Closes the pool's idle connections now (its connections in use stay): each
 * is taken from the pool and released as broken, so the pool drops it at once
 * and ends its session.
 */
export async function closeIdleConnections(pool: pg.Pool): Promise<void> {
  const idle = pool.idleCount;
  if (idle === 0) return;
  // While idle ones are left, the pool lends those before connecting anew.
  const clients = await Promise.all(Array.from({ length: idle }, () => pool.connect()));
  for (const client of clients) client.release(true);
}

/** The container's one pool for these settings, created on first use. */
export function getPgDatabase(settings: DatabaseSettings): PgDatabase {
  return containerPool(`pg ${settings.databaseUrl}`, () => createPgDatabase(settings), {
    closeIdle: (db) => closeIdleConnections(db.pool),
    close: (db) => db.pool.end(),
  });
}
