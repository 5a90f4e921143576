import pg from 'pg';
import { Options, Sequelize } from 'sequelize';
import { initModels, Models } from '../models';
import { logger } from './logger';
import type { DatabaseSettings, Env } from './settings';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sequelizeOptions } = require('./connection.cjs') as typeof import('./connection.cjs');

export interface Database {
  sequelize: Sequelize;
  models: Models;
}

export interface PoolOptions {
  max?: number;
  /** How often the pool looks for idle connections to close. */
  evictMs?: number;
}

/** A new Sequelize instance (with models bound) for a URL. */
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
  return { sequelize, models: initModels(sequelize) };
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
      logger.warn('could not close idle database connections', { error: err as Error });
    }
  }
}
