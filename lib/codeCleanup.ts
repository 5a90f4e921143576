import { QueryTypes, Sequelize } from 'sequelize';
import type { Env } from './env';
import { intSetting } from './settings';

export interface CodeCleanupSettings {
  /** Dead codes older than this many days are deleted. */
  retentionDays: number;
  /** Rows per DELETE: short statements, short locks. */
  batchSize: number;
  /** At most this many batches per run; the next run goes on. */
  maxBatches: number;
}

export function codeCleanupSettings(env: Env): CodeCleanupSettings {
  return {
    retentionDays: intSetting(env, 'VERIFICATION_CODE_RETENTION_DAYS', 7, { min: 1, max: 3650 }),
    batchSize: intSetting(env, 'VERIFICATION_CODE_CLEANUP_BATCH_SIZE', 500, {
      min: 1,
      max: 10000,
    }),
    maxBatches: intSetting(env, 'VERIFICATION_CODE_CLEANUP_MAX_BATCHES', 100, { min: 1 }),
  };
}

export interface CodeCleanupDeps {
  sequelize: Sequelize;
  now: () => Date;
  settings: CodeCleanupSettings;
  /** Milliseconds the run may still take (the Lambda context's remaining time less a margin). */
  timeLeftMs?: () => number;
}

export interface CodeCleanupResult {
  deleted: number;
  /** Idempotency keys whose time to live had passed. */
  idempotencyKeysDeleted: number;
  /** DELETE statements on verification_codes. */
  batches: number;
  /** False when the run stopped at its batch cap or time budget with rows left. */
  complete: boolean;
  cutoff: string;
}

// One batch: the oldest dead codes past retention. SKIP LOCKED leaves rows a
// request holds alone; such a row goes in a later run.
const DELETE_BATCH = `
  DELETE FROM verification_codes
  WHERE id IN (
    SELECT id FROM verification_codes
    WHERE created_at < :cutoff
      AND (consumed_at IS NOT NULL OR superseded_at IS NOT NULL OR expires_at < :now)
    ORDER BY created_at
    LIMIT :batchSize
    FOR UPDATE SKIP LOCKED
  )
  RETURNING id`;

// Idempotency-Key rows past their time to live (IDEMPOTENCY_KEY_TTL_SECONDS),
// oldest first along idempotency_keys_expires_at_idx.
const DELETE_KEYS_BATCH = `
  DELETE FROM idempotency_keys
  WHERE ctid IN (
    SELECT ctid FROM idempotency_keys
    WHERE expires_at <= :now
    ORDER BY expires_at
    LIMIT :batchSize
    FOR UPDATE SKIP LOCKED
  )
  RETURNING 1`;

/**
 * Deletes consumed, superseded and expired verification codes created more than
 * `retentionDays` before `now`, in batches. An active code (unconsumed,
 * unsuperseded, unexpired) is never deleted, however old. Then the
 * Idempotency-Key rows whose time to live has passed.
 */
export async function cleanupVerificationCodes(deps: CodeCleanupDeps): Promise<CodeCleanupResult> {
  const { batchSize, maxBatches, retentionDays } = deps.settings;
  const now = deps.now();
  const cutoff = new Date(now.getTime() - retentionDays * 24 * 60 * 60 * 1000);
  const timeLeft = () => (deps.timeLeftMs?.() ?? Infinity) > 0;
  // Each table gets up to maxBatches batches per run.
  const drain = async (sql: string, replacements: Record<string, unknown>) => {
    let rowsDeleted = 0;
    let batches = 0;
    let done = false;
    while (batches < maxBatches && timeLeft()) {
      const rows = await deps.sequelize.query(sql, { replacements, type: QueryTypes.SELECT });
      batches += 1;
      rowsDeleted += rows.length;
      if (rows.length < batchSize) {
        done = true;
        break;
      }
    }
    return { rowsDeleted, batches, done };
  };
  const codes = await drain(DELETE_BATCH, { cutoff, now, batchSize });
  const keys = await drain(DELETE_KEYS_BATCH, { now, batchSize });
  return {
    deleted: codes.rowsDeleted,
    idempotencyKeysDeleted: keys.rowsDeleted,
    batches: codes.batches,
    complete: codes.done && keys.done,
    cutoff: cutoff.toISOString(),
  };
}
