import { AppError, badRequest, forbidden, serviceUnavailable } from '../errors';
import type { Channel } from '../../models/verification';
import { actorFor, recordEvent } from '../events/record';
import type { OutboxMessage } from '../events/types';
import type { IdempotentRequest } from '../idempotency/request';
import { idempotentTransaction } from '../idempotency/transaction';
import { canFileRequestAbout, type Caller } from '../policies';
import { COLUMNS, selectRows, toJson } from './rows';
import {
  MANUAL_VERIFICATION,
  type ApprovalRequestJson,
  type CreateInput,
  type StaffApprovalDeps,
} from './types';

const ONE_PENDING_INDEX = 'staff_approval_requests_one_pending_idx';

/**
 * Transaction-level advisory lock that serialises inserts, so that created_at
 * order is commit order and keyset pages never skip a late-committing row.
 * (An arbitrary constant; the migration runner uses its own key.)
 */
const INSERT_LOCK_KEY = 742_001_113;
const LOCK_WAIT_MS = 5000;
const IDLE_IN_TRANSACTION_MS = 10000;

/** The PostgreSQL error behind a failed statement (Sequelize wraps it as `original`). */
function pgError(err: unknown): { code?: string; constraint?: string } {
  const e = err as { original?: { code?: string; constraint?: string }; code?: string };
  return e?.original ?? (e as { code?: string; constraint?: string }) ?? {};
}

/** The answer for a failed insert that the client can act on, or undefined. */
function insertFailure(err: unknown, requestType: string): AppError | undefined {
  const pg = pgError(err);
  if (pg.code === '23505' && pg.constraint === ONE_PENDING_INDEX) {
    return new AppError(
      'duplicate_pending',
      `A pending ${requestType} request already exists for this user`,
      { cause: err },
    );
  }
  if (pg.code === '23503') return new AppError('not_found', 'No such user', { cause: err });
  // lock_timeout while queueing for the insert lock: busy, not broken.
  if (pg.code === '55P03') return serviceUnavailable(1, err);
  return undefined;
}

/** POST /staff-approval-requests. */
export async function createRequest(
  deps: StaffApprovalDeps,
  caller: Caller,
  input: CreateInput,
  idem?: IdempotentRequest,
): Promise<ApprovalRequestJson> {
  const subjectId = input.userId ?? caller.id;
  if (!canFileRequestAbout(caller, subjectId)) {
    throw forbidden('Only staff may file a request about another user');
  }
  const details = input.details ?? {};
  if (input.requestType === MANUAL_VERIFICATION) {
    const channel = details.channel;
    if (channel !== 'phone' && channel !== 'email') {
      throw badRequest('details.channel must be "phone" or "email" for manual_verification');
    }
    // The server records the address; a client's own would be trusted by staff.
    if ('destination' in details) {
      throw badRequest(
        'details.destination is set by the server for manual_verification; leave it out',
      );
    }
  }
  // manual_verification records the subject's current address for its channel.
  const channel = input.requestType === MANUAL_VERIFICATION ? (details.channel as string) : null;
  try {
    const now = deps.now();
    const published: OutboxMessage[] = [];
    const filed = await idempotentTransaction(deps.sequelize, idem, now, async (transaction) => {
      // Bounded waits: a stalled holder (say, a Lambda killed mid-transaction)
      // is cut off by the server instead of blocking every later create.
      await deps.sequelize.query(
        `SELECT set_config('lock_timeout', '${LOCK_WAIT_MS}', true),
                set_config('idle_in_transaction_session_timeout', '${IDLE_IN_TRANSACTION_MS}', true)`,
        { transaction },
      );
      await deps.sequelize.query('SELECT pg_advisory_xact_lock($1)', {
        bind: [INSERT_LOCK_KEY],
        transaction,
      });
      // Under the lock, created_at is strictly after every committed row's, even
      // when this container's clock lags another's; and the count of the
      // subject's pending requests (the bounded queue) cannot race another insert.
      // One statement: nothing is inserted when the queue is full.
      const rows = await selectRows(
        deps,
        `INSERT INTO staff_approval_requests
           (id, user_id, requested_by, request_type, details, status, created_at, updated_at)
         SELECT gen_random_uuid(), $1, $2, $3,
                CASE WHEN $6::text IS NULL THEN $4::jsonb
                     ELSE $4::jsonb || jsonb_build_object('destination',
                       (SELECT CASE $6::text WHEN 'email' THEN email ELSE phone END
                        FROM users WHERE id = $1))
                END,
                'pending', t.at, t.at
         FROM (SELECT GREATEST($5::timestamptz,
                 (SELECT max(created_at) + interval '1 microsecond'
                  FROM staff_approval_requests)) AS at) t
         WHERE (SELECT count(*) FROM staff_approval_requests
                WHERE user_id = $1 AND status = 'pending') < $7::int
         RETURNING ${COLUMNS}`,
        [
          subjectId,
          caller.id,
          input.requestType,
          JSON.stringify(details),
          now,
          channel,
          deps.maxPendingPerUser,
        ],
        transaction,
      );
      if (!rows[0]) {
        throw new AppError(
          'too_many_pending',
          `This user has ${deps.maxPendingPerUser} pending requests; wait for a decision`,
        );
      }
      const message = await recordEvent(deps.sequelize, transaction, {
        userId: subjectId,
        actorId: actorFor(caller.id, subjectId),
        type: 'approval_requested',
        channel: channel as Channel | null,
        details: { requestId: rows[0].id, requestType: input.requestType },
        at: now,
      });
      if (message) published.push(message);
      return toJson(rows[0], caller);
    });
    await deps.events?.publishNow(published);
    return filed;
  } catch (err) {
    throw insertFailure(err, input.requestType) ?? err;
  }
}
