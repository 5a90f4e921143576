import { getDatabase } from '../lib/db';
import { cachedHealthCheck, checkHealth, type Health } from '../lib/health';
import { DATABASE_RETRY_AFTER_SECONDS, handleHttp, json } from '../lib/http';
import { errorForLog, logger } from '../lib/logger';
import { metricsNamespace } from '../lib/metrics';
import { migrations } from '../lib/migrator/migrations';
import {
  databaseSettings,
  envForStartCheck,
  healthCacheSeconds,
  runtimeEnv,
} from '../lib/settings';

// Stop at start when DATABASE_URL (or DATABASE_URL_SECRET_ID) is missing, or
// HEALTH_CACHE_SECONDS is not a number of seconds.
databaseSettings(envForStartCheck());
metricsNamespace(process.env);

const requiredMigrations = migrations.map((m) => m.name);
const retryAfter = { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) };

/** One database check, logged when it is not ok; never throws. */
async function checkDatabase(): Promise<Health> {
  try {
    const db = getDatabase(databaseSettings(await runtimeEnv()));
    const health = await checkHealth({ sequelize: db.sequelize, requiredMigrations });
    if (health.status !== 'ok') {
      logger.warn('health check: migrations this code needs are not applied');
    }
    return health;
  } catch (err) {
    logger.warn('health check: database unavailable', { error: errorForLog(err) });
    return { status: 'degraded', database: 'unavailable' };
  }
}

const health = cachedHealthCheck({
  check: checkDatabase,
  now: Date.now,
  ttlSeconds: healthCacheSeconds(process.env),
});

/**
 * GET /health: no token, no configuration revealed; 503 when the database does
 * not answer or lacks migrations this code needs. A result answers for
 * HEALTH_CACHE_SECONDS per container, so a flood of requests is not a flood of
 * queries.
 */
export const handler = handleHttp(async () => {
  const result = await health();
  return result.status === 'ok' ? json(200, result) : json(503, result, retryAfter);
});
