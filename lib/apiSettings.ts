import { AuthSettings, authSettings } from './auth';
import type { Env } from './env';
import { eventSettings, type EventSettings } from './events/settings';
import { idempotencySettings, type IdempotencySettings } from './idempotency/request';
import { metricsNamespace } from './metrics';
import { databaseSettings, DatabaseSettings, envForStartCheck, stageOf } from './settings';
import { staffApprovalSettings, type StaffApprovalSettings } from './staffApprovals/settings';

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

/**
 * Checks the settings at import so that a misconfigured function stops at start
 * with a message naming the setting. Secret-backed values (X_SECRET_ID) are only
 * checked for presence here and resolved on the first request.
 */
export function checkApiSettingsAtStart(env: Env = process.env): void {
  apiSettings(envForStartCheck(env));
}
