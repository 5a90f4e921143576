import { ConfigError } from './errors';
import type { Env } from './env';
import { resolveSecretSettings, secretSources } from './secrets';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isProductionStage } = require('./stages.cjs') as typeof import('./stages.cjs');

/** A whole number from the environment, with a default and bounds; names the setting when wrong. */
export function intSetting(
  env: Env,
  name: string,
  fallback: number,
  bounds: { min?: number; max?: number } = {},
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim()))
    throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw.trim());
  if (bounds.min !== undefined && value < bounds.min) {
    throw new ConfigError(name, `must be at least ${bounds.min}, got ${value}`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw new ConfigError(name, `must be at most ${bounds.max}, got ${value}`);
  }
  return value;
}

export function requiredSetting(env: Env, name: string, hint = ''): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigError(name, `is required but not set${hint ? ` (${hint})` : ''}`);
  }
  return value;
}

export function optionalSetting(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * The stage (STAGE, `dev` when unset) and whether it is production: every stage
 * is, except `dev`, `local`, `test`, `ci` and those in NON_PRODUCTION_STAGES.
 */
export function stageOf(env: Env): { stage: string; isProduction: boolean } {
  const stage = env.STAGE?.trim() || 'dev';
  return { stage, isProduction: isProductionStage(stage, env) };
}

export interface DatabaseSettings {
  databaseUrl: string;
  caFile: string | undefined;
  /** How long to wait for a connection before answering 503. */
  connectTimeoutMs: number;
}

/** The sslmode values that encrypt: production accepts only these. */
const TLS_SSLMODES = ['require', 'verify-ca', 'verify-full'];

/**
 * The database settings; on production DATABASE_URL must ask for TLS. Checked
 * whenever the URL is known: at start, and again once a secret is read.
 */
export function databaseSettings(env: Env): DatabaseSettings {
  const databaseUrl = requiredSetting(
    env,
    'DATABASE_URL',
    'postgres://user:password@host:5432/database',
  );
  if (stageOf(env).isProduction) {
    let sslmode: string | null = null;
    try {
      sslmode = new URL(databaseUrl).searchParams.get('sslmode');
    } catch {
      // A malformed URL is reported by the connection options (lib/connection.cjs).
    }
    if (sslmode === null || !TLS_SSLMODES.includes(sslmode)) {
      throw new ConfigError(
        'DATABASE_URL',
        `must ask for TLS on a production stage (sslmode=require, verify-ca or verify-full; got ${sslmode ?? 'none'})`,
      );
    }
  }
  return {
    databaseUrl,
    caFile: optionalSetting(env, 'DATABASE_CA_FILE'),
    connectTimeoutMs: intSetting(env, 'DATABASE_CONNECT_TIMEOUT_MS', 3000, {
      min: 100,
      max: 60000,
    }),
  };
}

export interface MigrationSettings {
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  lockWaitMs: number;
}

export function migrationSettings(env: Env): MigrationSettings {
  return {
    lockTimeoutMs: intSetting(env, 'MIGRATION_LOCK_TIMEOUT_MS', 5000, { min: 0 }),
    statementTimeoutMs: intSetting(env, 'MIGRATION_STATEMENT_TIMEOUT_MS', 600000, { min: 0 }),
    lockWaitMs: intSetting(env, 'MIGRATION_LOCK_WAIT_MS', 60000, { min: 0 }),
  };
}

/**
 * HEALTH_CACHE_SECONDS (5): how long one container reuses a /health database
 * check; 0 checks on every request.
 */
export function healthCacheSeconds(env: Env): number {
  return intSetting(env, 'HEALTH_CACHE_SECONDS', 5, { min: 0, max: 60 });
}

/**
 * The environment with secrets resolved: every `X_SECRET_ID` (Secrets Manager id
 * or ARN, or `ssm:/parameter/name`) replaced by `X`, read once per container.
 */
export async function runtimeEnv(env: Env = process.env): Promise<Env> {
  return resolveSecretSettings(env);
}

// Stand-ins that pass the settings' own checks (URL shape, minimum lengths).
const START_CHECK_PLACEHOLDERS: Record<string, string> = {
  DATABASE_URL: 'postgres://secret-placeholder@localhost/secret-placeholder?sslmode=verify-full',
  VERIFICATION_CODE_PEPPER: 'x'.repeat(64),
  AUTH_JWT_SECRET: 'x'.repeat(64),
  // `whsec_` and the base64 of 32 zero bytes.
  CODE_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32).toString('base64')}`,
};

/**
 * The environment for checks at import, before secrets are read: a setting given
 * as `X_SECRET_ID` counts as present (its value is checked on the first request,
 * once read). Both `X` and `X_SECRET_ID`, or a malformed id, fail here.
 */
export function envForStartCheck(env: Env = process.env): Env {
  const sources = secretSources(env);
  if (sources.length === 0) return env;
  const checked: Env = { ...env };
  for (const { setting } of sources) checked[setting] = START_CHECK_PLACEHOLDERS[setting];
  return checked;
}
