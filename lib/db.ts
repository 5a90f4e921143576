import pg from 'pg';
import { Options, Sequelize } from 'sequelize';
import { initModels, Models } from '../models';
import { containerPool } from './containerPools';
import type { DatabaseSettings } from './settings';
import type { LeasedConnection, SqlPool } from './sql';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sequelizeOptions } = require('./connection.cjs') as typeof import('./connection.cjs');

export interface Database {
  sequelize: Sequelize;
  /** The models, bound to `sequelize` on first access. */
  readonly models: Models;
  /** Hand-written statements on connections of Sequelize's pool (lib/sql.ts). */
  sql: SqlPool;
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
  // cold start, and some functions (hand-written SQL) never use them.
  let models: Models | undefined;
  return {
    sequelize,
    get models() {
      return (models ??= initModels(sequelize));
    },
    sql: sequelizeSqlPool(sequelize),
  };
}

/** sequelize-pool's Pool, which Sequelize v6 keeps on its connection manager but does not type. */
interface IdlePool {
  destroyAllNow(): Promise<void>;
}

/** The container's one Database for these settings, created on first use. */
export function getDatabase(settings: DatabaseSettings): Database {
  return containerPool(`sequelize ${settings.databaseUrl}`, () => createDatabase(settings), {
    async closeIdle(db) {
      const idle = (db.sequelize.connectionManager as unknown as { pool?: Partial<IdlePool> }).pool;
      // Closes only the connections not in use; the pool stays open for the next request.
      await idle?.destroyAllNow?.();
    },
    close: (db) => db.sequelize.close(),
  });
}

/** The part of the pooled `pg` client and of Sequelize's pool used here (untyped by Sequelize). */
interface PgConnection {
  query(text: string, values?: readonly unknown[]): ReturnType<LeasedConnection['query']>;
}
interface ConnectionManager {
  getConnection(options: { type: 'write' }): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): void;
  destroyConnection(connection: PgConnection): Promise<void>;
}

const sqlPools = new WeakMap<Sequelize, SqlPool>();

/**
 * Sessions on connections taken from the Sequelize pool: the same pool
 * (acquire timeout, eviction, its ConnectionError family when none can be
 * had, answered 503) and the same connections with their type parsers, so
 * rows come back as `sequelize.query` returned them.
 */
export function sequelizeSqlPool(sequelize: Sequelize): SqlPool {
  let found = sqlPools.get(sequelize);
  if (!found) {
    const manager = sequelize.connectionManager as unknown as ConnectionManager;
    found = {
      async connect(): Promise<LeasedConnection> {
        const connection = await manager.getConnection({ type: 'write' });
        return {
          query: (text, values) => connection.query(text, values),
          async release(reusable) {
            if (reusable) manager.releaseConnection(connection);
            else await manager.destroyConnection(connection);
          },
        };
      },
    };
    sqlPools.set(sequelize, found);
  }
  return found;
}
