import { AppError, type ErrorCode } from '../errors';
import type { VerificationMetrics } from '../metrics';

/**
 * The answers that refuse a send before anything is delivered: counted as
 * `SendRefused` with the code as `Reason`. A malformed request (400), a bad
 * token (401), an Idempotency-Key conflict and a failed delivery (502,
 * `CodeDeliveryFailed`) are not refusals.
 */
export const SEND_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'already_verified',
  'no_destination',
  'invalid_destination',
  'destination_not_allowed',
  'rate_limited',
  'country_rate_limited',
  'too_many_attempts',
]);

/** Counts `err` as a refused send when it is one. */
export function recordSendRefusal(metrics: VerificationMetrics | undefined, err: unknown): void {
  if (err instanceof AppError && SEND_REFUSALS.has(err.code)) metrics?.sendRefused(err.code);
}
