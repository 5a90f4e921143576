import pg from 'pg';
import { Options, Sequelize } from 'sequelize';
import { initModels, Models } from '../models';
import { errorForLog, logger } from './logger';
import type { Env } from './env';
import type { DatabaseSettings } from './settings';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sequelizeOptions } = require('./connection.cjs') as typeof import('./connection.cjs');

export interface Database {
  sequelize: Sequelize;
  /** The models, bound to `sequelize` on first access. */
  readonly models: Models;
}

export interface PoolOptions {
  max?: number;
  /** How often the pool looks for idle connections to close. */
  evictMs?: number;
}

/** A new Sequelize instance for a URL, its models bound when first used. */
export function createDatabase(settings: DatabaseSettings, pool: PoolOptions = {}): Database {
  const base = sequelizeOptions(settings.databaseUrl, {
    caFile: settings.caFile,
    connectTimeoutMs: settings.connectTimeoutMs,
  }) as Options;
  const sequelize = new Sequelize({
    ...base,
    dialectModule: pg,
    pool: {
      max: pool.max ?? 2,
      min: 0,
      // A released connection is closed once idle this long, at the next look
      // (every evictMs). This is what `idle: 0` gave: sequelize-pool reads 0 as unset.
      idle: 30000,
      acquire: settings.connectTimeoutMs + 1000,
      evict: pool.evictMs ?? 30000,
    },
  });
  // The models are bound on first use: binding them is several milliseconds of a
  // cold start, and the verification functions (hand-written SQL) never use them.
  let models: Models | undefined;
  return {
    sequelize,
    get models() {
      return (models ??= initModels(sequelize));
    },
  };
}

// Kept on globalThis, not in a module variable: under `serverless offline
// --useInProcess` every function's bundle carries its own copy of this module,
// and they share one pool per process this way.
const CACHE_KEY = Symbol.for('verification-service.database');
type Cache = Map<string, Database>;

function cache(): Cache {
  const g = globalThis as unknown as { [CACHE_KEY]?: Cache };
  return (g[CACHE_KEY] ??= new Map());
}

/** The container's one Database for these settings, created on first use. */
export function getDatabase(settings: DatabaseSettings): Database {
  const dbs = cache();
  let db = dbs.get(settings.databaseUrl);
  if (!db) {
    db = createDatabase(settings);
    dbs.set(settings.databaseUrl, db);
  }
  return db;
}

/** sequelize-pool's Pool, which Sequelize v6 keeps on its connection manager but does not type. */
interface IdlePool {
  destroyAllNow(): Promise<void>;
}

/**
 * To be called when an invocation ends. On AWS it does nothing: a warm container
 * keeps its connections for the next invocation. Under serverless-offline
 * (`IS_OFFLINE`) it closes the container's idle connections, because there a
 * container is a worker thread (a globalThis of its own), `--reloadHandler`
 * starts a new one for every request, and an idle worker lives on for a minute
 * or more: kept connections would add up to one per request.
 */
export async function endInvocation(env: Env = process.env): Promise<void> {
  if (env.IS_OFFLINE !== 'true') return;
  for (const db of cache().values()) {
    const pool = (db.sequelize.connectionManager as unknown as { pool?: Partial<IdlePool> }).pool;
    try {
      // Closes only the connections not in use; the pool stays open for the next request.
      await pool?.destroyAllNow?.();
    } catch (err) {
      logger.warn('could not close idle database connections', { error: errorForLog(err) });
    }
  }
}

/**
 * Hand-written statements on one pooled connection. The hot verification paths
 * run their SQL here rather than through `sequelize.query`, whose work per
 * statement (options, bind rewriting, a pool acquire outside a transaction,
 * result handling) was most of what those requests cost above plain `pg`. The
 * connection is the one Sequelize pools, with its type parsers, so rows come
 * back as `sequelize.query` returned them.
 */
export interface SqlSession {
  /** The rows of one statement with `$1`-style parameters. */
  rows<R>(text: string, values?: readonly unknown[]): Promise<R[]>;
}

/**
 * A statement with its `$n` parameters written in as literals, for the simple
 * query protocol (several statements in one round trip). Integers go in as
 * they are, strings quoted by pg's escapeLiteral; nothing else is accepted.
 */
export function inlineValues(text: string, values: readonly (number | string)[]): string {
  return text.replace(/\$(\d+)\b/g, (_, n: string) => {
    const value = values[Number(n) - 1];
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    if (typeof value === 'string') return pg.escapeLiteral(value);
    throw new Error(`inlineValues: no integer or string for $${n}`);
  });
}

/** A session inside `inTransaction`. */
export interface TransactionSession extends SqlSession {
  /**
   * Runs one last statement (its values written in as literals) and COMMIT in
   * a single round trip; the transaction then ends when `work` returns.
   */
  commitWith(statement: string): Promise<void>;
  /**
   * BEGIN and the transaction's first statement (its values written in as
   * literals) in a single round trip; the statement's rows.
   */
  beginWith<R>(statement: string): Promise<R[]>;
}

/** A session that can also send several statements (no parameters) in one round trip. */
interface RawSession extends SqlSession {
  results(text: string): Promise<{ rows: unknown[] }[]>;
}

/** The part of the pooled `pg` client and of Sequelize's pool used here (untyped by Sequelize). */
interface PgConnection {
  query(text: string, values?: readonly unknown[]): Promise<{ rows: unknown[] }>;
}
interface ConnectionPool {
  getConnection(options: { type: 'write' }): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): void;
  destroyConnection(connection: PgConnection): Promise<void>;
}

/**
 * Runs `work` on one connection taken from the Sequelize pool, each statement in
 * its own implicit transaction, then gives the connection back. Acquiring it
 * fails as Sequelize does (its ConnectionError family, answered 503).
 */
export function withSession<T>(
  sequelize: Sequelize,
  work: (sql: SqlSession) => Promise<T>,
): Promise<T> {
  return onPooledConnection(sequelize, work);
}

/**
 * Runs `work` in one transaction (BEGIN ... COMMIT; ROLLBACK when it throws) on
 * one connection from the Sequelize pool, as `sequelize.transaction(cb)` does at
 * its default isolation level (READ COMMITTED), without its per-statement cost.
 */
export function inTransaction<T>(
  sequelize: Sequelize,
  work: (sql: TransactionSession) => Promise<T>,
): Promise<T> {
  return onPooledConnection(sequelize, async (sql, discard) => {
    // BEGIN is sent with the first statement: alone before `rows`, or in the
    // same round trip as the statement given to `beginWith`.
    let begun = false;
    let committed = false;
    const begin = async () => {
      if (!begun) {
        begun = true;
        await sql.rows('BEGIN');
      }
    };
    const tx: TransactionSession = {
      async rows<R>(text: string, values?: readonly unknown[]) {
        await begin();
        return sql.rows<R>(text, values);
      },
      async beginWith<R>(statement: string) {
        if (begun) throw new Error('beginWith: the transaction has begun');
        begun = true;
        // No parameters: the simple query protocol, which takes several
        // statements at once and answers with a result for each.
        const results = await sql.results(`BEGIN;\n${statement}`);
        return (results[1]?.rows ?? []) as R[];
      },
      async commitWith(statement: string) {
        await begin();
        // An error in the first statement skips the COMMIT.
        await sql.results(`${statement};\nCOMMIT`);
        committed = true;
      },
    };
    let result: T;
    try {
      result = await work(tx);
    } catch (err) {
      if (committed || !begun) throw err;
      // A session whose ROLLBACK failed may still be inside the transaction.
      await sql.rows('ROLLBACK').catch(discard);
      throw err;
    }
    if (begun && !committed) await sql.rows('COMMIT');
    return result;
  });
}

async function onPooledConnection<T>(
  sequelize: Sequelize,
  work: (sql: RawSession, discard: () => void) => Promise<T>,
): Promise<T> {
  const pool = sequelize.connectionManager as unknown as ConnectionPool;
  const connection = await pool.getConnection({ type: 'write' });
  let reusable = true;
  const discard = () => {
    reusable = false;
  };
  const query = async (text: string, values?: readonly unknown[]) => {
    try {
      return await connection.query(text, values);
    } catch (err) {
      // A statement error the server reported leaves the session usable; a
      // FATAL one (the server ended the session) or any other (a reset
      // socket, a closed connection) does not: it is not pooled again.
      if (
        !(err instanceof pg.DatabaseError) ||
        err.severity === 'FATAL' ||
        err.severity === 'PANIC'
      ) {
        discard();
      }
      throw err;
    }
  };
  const session: RawSession = {
    async rows<R>(text: string, values?: readonly unknown[]) {
      return (await query(text, values)).rows as R[];
    },
    async results(text: string) {
      // Several statements answer with an array of results, one with one result.
      const answer = (await query(text)) as unknown as { rows: unknown[] } | { rows: unknown[] }[];
      return Array.isArray(answer) ? answer : [answer];
    },
  };
  try {
    return await work(session, discard);
  } finally {
    if (reusable) pool.releaseConnection(connection);
    else await pool.destroyConnection(connection).catch(() => undefined);
  }
}
