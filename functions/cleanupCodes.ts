import type { Context } from 'aws-lambda';
import {
  cleanupVerificationCodes,
  CodeCleanupResult,
  codeCleanupSettings,
} from '../lib/codeCleanup';
import { endInvocation } from '../lib/containerPools';
import { getDatabase } from '../lib/db';
import { logger } from '../lib/logger';
import { databaseSettings, envForStartCheck, runtimeEnv } from '../lib/settings';

// Stop at start on a missing DATABASE_URL or a bad retention setting.
databaseSettings(envForStartCheck());
codeCleanupSettings(process.env);

// Leave time to log and return before the function's own timeout.
const SAFETY_MARGIN_MS = 5000;

/** Scheduled: deletes dead verification codes past retention, in batches. */
export async function handler(_event: unknown, context?: Context): Promise<CodeCleanupResult> {
  const env = await runtimeEnv();
  const db = getDatabase(databaseSettings(env));
  try {
    const result = await cleanupVerificationCodes({
      sequelize: db.sequelize,
      now: () => new Date(),
      settings: codeCleanupSettings(env),
      timeLeftMs: context ? () => context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS : undefined,
    });
    logger.info('verification codes cleaned up', { ...result });
    return result;
  } finally {
    await endInvocation();
  }
}
