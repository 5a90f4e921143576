import type { User } from '../models';
import { idempotencySettings, type IdempotencySettings } from './idempotency/request';
import { outboxPublisher } from './events/outbox';
import { eventSettings, type EventSettings } from './events/settings';
import { createEventSink } from './events/sink';
import type { EventPublisher } from './events/types';
import { logger } from './logger';
import { onceAsync } from './once';
import {
  authenticate,
  authenticatedUserId,
  AuthSettings,
  authSettings,
  createTokenVerifier,
  TokenVerifier,
} from './auth';
import { Database, getDatabase } from './db';
import type { HttpEvent } from './http';
import { containerMetrics, metricsNamespace, type ServiceMetrics } from './metrics';
import { staffApprovalSettings, type StaffApprovalSettings } from './staffApprovals/settings';
import type { Env } from './env';
import {
  databaseSettings,
  DatabaseSettings,
  envForStartCheck,
  runtimeEnv,
  stageOf,
} from './settings';

/** Settings every API function needs; more specific ones live beside their service. */
export interface ApiSettings {
  stage: string;
  isProduction: boolean;
  database: DatabaseSettings;
  auth: AuthSettings;
  staffApprovals: StaffApprovalSettings;
  idempotency: IdempotencySettings;
  events: EventSettings;
  /** METRICS_NAMESPACE: the CloudWatch namespace of the service's metrics. */
  metricsNamespace: string;
}

export function apiSettings(env: Env): ApiSettings {
  return {
    ...stageOf(env),
    database: databaseSettings(env),
    auth: authSettings(env),
    staffApprovals: staffApprovalSettings(env),
    idempotency: idempotencySettings(env),
    events: eventSettings(env),
    metricsNamespace: metricsNamespace(env),
  };
}

export interface ApiContext {
  settings: ApiSettings;
  env: Env;
  db: Database;
  now: () => Date;
  /** The container's metrics, written at the end of each invocation (lib/http.ts). */
  metrics: ServiceMetrics;
  /** The signed-in user of a request, or a 401. */
  authenticate(event: HttpEvent): Promise<User>;
  /** The user id of a valid token (or a 401) without a database read. */
  authenticatedUserId(event: HttpEvent): Promise<number>;
  /** Publishes verification events right after the commit that wrote them. */
  events: EventPublisher;
}

/**
 * The container's context, built on the first request: settings (with secrets
 * resolved), one Sequelize instance, one token verifier.
 */
export const apiContext: () => Promise<ApiContext> = onceAsync(buildApiContext);

async function buildApiContext(): Promise<ApiContext> {
  const env = await runtimeEnv();
  const settings = apiSettings(env);
  const db = getDatabase(settings.database);
  const verify: TokenVerifier = createTokenVerifier(settings.auth);
  const metrics = containerMetrics(env);
  const now = () => new Date();
  return {
    settings,
    env,
    db,
    now,
    events: outboxPublisher(
      db.sequelize,
      createEventSink(settings.events, logger),
      logger,
      now,
      metrics,
    ),
    metrics,
    authenticate: (event) =>
      authenticate(event, {
        verify,
        userIdClaim: settings.auth.userIdClaim,
        users: db.models.User,
      }),
    authenticatedUserId: (event) =>
      authenticatedUserId(event, { verify, userIdClaim: settings.auth.userIdClaim }),
  };
}

/**
 * Checks the settings at import so that a misconfigured function stops at start
 * with a message naming the setting. Secret-backed values (X_SECRET_ID) are only
 * checked for presence here and resolved on the first request.
 */
export function checkApiSettingsAtStart(env: Env = process.env): void {
  apiSettings(envForStartCheck(env));
}
