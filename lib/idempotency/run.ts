import { type SqlPool, withSession } from '../sql';
import { AppError, errorAnswerOf } from '../errors';
import { errorForLog, logger } from '../logger';
import { IdempotentReplay, type IdempotentRequest, type StoredAnswer } from './request';
import { recordRefusal, releaseKey } from './store';

/** Errors about the key itself: answered, never stored. */
const KEY_ERRORS = new Set(['idempotency_key_reused', 'idempotency_key_in_use']);

export type KeyedOutcome<T> = { value: T } | { replay: StoredAnswer };

/**
 * Runs a keyed request's service call. The service stores a success with its
 * effect; here a repeat is turned into the stored answer, a refusal (below
 * 500) is stored unless the service stored it with its effect, and anything
 * else gives the key up so that it may be retried. Failures are rethrown.
 */
export async function runKeyed<T>(
  pool: SqlPool,
  idem: IdempotentRequest,
  now: () => Date,
  call: () => Promise<T>,
): Promise<KeyedOutcome<T>> {
  try {
    return { value: await call() };
  } catch (err) {
    if (err instanceof IdempotentReplay) return { replay: err.answer };
    if (idem.recorded) throw err;
    if (err instanceof AppError && err.status < 500) {
      if (KEY_ERRORS.has(err.code)) throw err;
      try {
        await withSession(pool, (sql) => recordRefusal(sql, idem, now(), errorAnswerOf(err)));
      } catch (stored) {
        // Another request's answer holds the key: that is the answer.
        if (stored instanceof IdempotentReplay) return { replay: stored.answer };
        throw stored;
      }
      throw err;
    }
    await withSession(pool, (sql) => releaseKey(sql, idem)).catch((release: unknown) =>
      logger.warn('could not release an idempotency key', { error: errorForLog(release) }),
    );
    throw err;
  }
}
