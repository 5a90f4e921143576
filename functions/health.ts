import { getDatabase } from '../lib/db';
import { httpHandler, json } from '../lib/http';
import { logger } from '../lib/logger';
import { databaseSettings, runtimeEnv } from '../lib/settings';

databaseSettings(
  process.env.DATABASE_URL_SECRET_ID
    ? { ...process.env, DATABASE_URL: 'postgres://x/y' }
    : process.env,
);

/** GET /health: no token, no configuration revealed; 503 when the database does not answer. */
export const handler = httpHandler(async () => {
  try {
    const db = getDatabase(databaseSettings(await runtimeEnv()));
    await db.sequelize.query('SELECT 1');
    return json(200, { status: 'ok', database: 'ok' });
  } catch (err) {
    logger.warn('health check: database unavailable', { error: err as Error });
    return json(503, { status: 'degraded', database: 'unavailable' }, { 'Retry-After': '5' });
  }
});
