import type { Context } from 'aws-lambda';
import { endInvocation } from '../lib/containerPools';
import { getDatabase } from '../lib/db';
import { publishPending, PublishPendingResult } from '../lib/events/outbox';
import { eventSettings } from '../lib/events/settings';
import { createEventSink } from '../lib/events/sink';
import { logger } from '../lib/logger';
import { containerMetrics, metricsNamespace, withMetrics } from '../lib/metrics';
import { databaseSettings, envForStartCheck, runtimeEnv } from '../lib/settings';

// Stop at start on a missing DATABASE_URL or a bad event setting.
databaseSettings(envForStartCheck());
eventSettings(process.env);
metricsNamespace(process.env);

// Leave time to log and return before the function's own timeout.
const SAFETY_MARGIN_MS = 10_000;

/**
 * Scheduled every minute: publishes what is left in the event outbox, then
 * trims it. Reports EventsPublished and OutboxOldestAgeSeconds (0 when the
 * outbox is empty), which the outbox alarm watches.
 */
export const handler = withMetrics(publish);

async function publish(_event: unknown, context?: Context): Promise<PublishPendingResult> {
  const env = await runtimeEnv();
  const db = getDatabase(databaseSettings(env));
  const settings = eventSettings(env);
  try {
    const result = await publishPending({
      sql: db.sql,
      sink: createEventSink(settings, logger),
      now: () => new Date(),
      retentionDays: settings.retentionDays,
      timeLeftMs: context ? () => context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS : undefined,
    });
    const metrics = containerMetrics(env);
    metrics.eventsPublished(result.published);
    metrics.outboxOldestAgeSeconds(result.oldestPendingAgeSeconds);
    logger.info('event outbox published', { ...result });
    return result;
  } finally {
    await endInvocation();
  }
}
