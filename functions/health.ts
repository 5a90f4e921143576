import { getDatabase } from '../lib/db';
import { checkHealth } from '../lib/health';
import { DATABASE_RETRY_AFTER_SECONDS, handleHttp, json } from '../lib/http';
import { errorForLog, logger } from '../lib/logger';
import { migrations } from '../lib/migrator/migrations';
import { databaseSettings, envForStartCheck, runtimeEnv } from '../lib/settings';

// Stop at start when DATABASE_URL (or DATABASE_URL_SECRET_ID) is missing.
databaseSettings(envForStartCheck());

const requiredMigrations = migrations.map((m) => m.name);
const retryAfter = { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) };

/**
 * GET /health: no token, no configuration revealed; 503 when the database does
 * not answer or lacks migrations this code needs.
 */
export const handler = handleHttp(async () => {
  try {
    const db = getDatabase(databaseSettings(await runtimeEnv()));
    const health = await checkHealth({ sequelize: db.sequelize, requiredMigrations });
    if (health.status === 'ok') return json(200, health);
    logger.warn('health check: migrations this code needs are not applied');
    return json(503, health, retryAfter);
  } catch (err) {
    logger.warn('health check: database unavailable', { error: errorForLog(err) });
    return json(503, { status: 'degraded', database: 'unavailable' }, retryAfter);
  }
});
