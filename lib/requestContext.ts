import type { ApiSettings } from './apiSettings';
import { authenticatedUserId, createTokenVerifier, type TokenVerifier } from './auth';
import type { Env } from './env';
import { outboxPublisher } from './events/outbox';
import { createEventSink } from './events/sink';
import type { EventPublisher } from './events/types';
import type { HttpEvent } from './http';
import { logger } from './logger';
import { containerMetrics, type ServiceMetrics } from './metrics';
import type { SqlPool } from './sql';

/**
 * What every API function's context holds, whatever its database layer: the
 * settings, the clock, the metrics, the token check and the events publisher,
 * over sessions of the function's pool. Nothing here loads Sequelize: the
 * send and verify functions build their context from this alone
 * (lib/verification/context.ts), the others add Sequelize (lib/app.ts).
 */
export interface RequestContext {
  settings: ApiSettings;
  env: Env;
  /** Hand-written statements on the function's pool (lib/sql.ts). */
  sql: SqlPool;
  now: () => Date;
  /** The container's metrics, written at the end of each invocation (lib/http.ts). */
  metrics: ServiceMetrics;
  /** The user id of a valid token (or a 401) without a database read. */
  authenticatedUserId(event: HttpEvent): Promise<number>;
  /** Publishes verification events right after the commit that wrote them. */
  events: EventPublisher;
  /** Checks a bearer token's signature and claims. */
  verifyToken: TokenVerifier;
}

/** The request context of a container: built once, on its first request. */
export function requestContext(env: Env, settings: ApiSettings, sql: SqlPool): RequestContext {
  const verifyToken = createTokenVerifier(settings.auth);
  const metrics = containerMetrics(env);
  const now = () => new Date();
  return {
    settings,
    env,
    sql,
    now,
    metrics,
    verifyToken,
    authenticatedUserId: (event) =>
      authenticatedUserId(event, { verify: verifyToken, userIdClaim: settings.auth.userIdClaim }),
    events: outboxPublisher(sql, createEventSink(settings.events, logger), logger, now, metrics),
  };
}
