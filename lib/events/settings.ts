import { ConfigError } from '../errors';
import type { Env } from '../env';
import { intSetting, optionalSetting } from '../settings';

export interface EventSettings {
  /** EVENT_BUS_NAME: the EventBridge bus (name or ARN); unset: events are log lines. */
  busName: string | undefined;
  /** EVENT_SOURCE: the events' Source. */
  source: string;
  /** EVENT_OUTBOX_RETENTION_DAYS: published outbox rows are deleted after this many days. */
  retentionDays: number;
}

// A bus name (letters, digits, . _ - /) or an event-bus ARN.
const BUS_NAME =
  /^([\w.\-/]{1,256}|arn:aws[\w-]*:events:[\w-]+:\d{12}:event-bus\/[\w.\-/]{1,256})$/;
// EventBridge Source: at most 256 characters, not starting with "aws." (reserved).
const SOURCE = /^(?!aws\.)[\w.\-/]{1,256}$/;

export function eventSettings(env: Env): EventSettings {
  const busName = optionalSetting(env, 'EVENT_BUS_NAME');
  if (busName !== undefined && !BUS_NAME.test(busName)) {
    throw new ConfigError(
      'EVENT_BUS_NAME',
      `must be an EventBridge bus name or ARN, got "${busName}"`,
    );
  }
  const source = optionalSetting(env, 'EVENT_SOURCE') ?? 'verification-service';
  if (!SOURCE.test(source)) {
    throw new ConfigError(
      'EVENT_SOURCE',
      `must be 1 to 256 letters, digits or . _ - / and not start with "aws.", got "${source}"`,
    );
  }
  return {
    busName,
    source,
    retentionDays: intSetting(env, 'EVENT_OUTBOX_RETENTION_DAYS', 7, { min: 1, max: 3650 }),
  };
}
