import pg from 'pg';
import { Options, Sequelize } from 'sequelize';
import { initModels, Models } from '../models';
import type { DatabaseSettings } from './settings';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sequelizeOptions } = require('./connection.cjs') as typeof import('./connection.cjs');

export interface Database {
  sequelize: Sequelize;
  models: Models;
}

export interface PoolOptions {
  max?: number;
  /** The function timeout: connections older than this are closed (Lambda freezes containers). */
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
      idle: 0,
      acquire: settings.connectTimeoutMs + 1000,
      evict: pool.evictMs ?? 30000,
    },
  });
  return { sequelize, models: initModels(sequelize) };
}

// Kept on globalThis so that serverless-offline, which re-evaluates handler
// modules, reuses the pool instead of leaking one per reload.
const CACHE_KEY = Symbol.for('verification-service.database');
type Cache = Map<string, Database>;

/** The container's one Database for these settings, created on first use. */
export function getDatabase(settings: DatabaseSettings): Database {
  const g = globalThis as unknown as { [CACHE_KEY]?: Cache };
  const cache = (g[CACHE_KEY] ??= new Map());
  let db = cache.get(settings.databaseUrl);
  if (!db) {
    db = createDatabase(settings);
    cache.set(settings.databaseUrl, db);
  }
  return db;
}
