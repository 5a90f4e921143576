import { QueryTypes, Transaction } from 'sequelize';
import {
  withChannelVerifiedSql,
  type Channel,
  type VerificationStatus,
} from '../../models/verification';
import { actorFor, recordEvent, type EventRecord } from '../events/record';
import type { OutboxMessage } from '../events/types';
import { AppError, badRequest, forbidden, notFound } from '../errors';
import type { IdempotentRequest } from '../idempotency/request';
import { idempotentTransaction } from '../idempotency/transaction';
import {
  canCancelRequest,
  canReviewRequest,
  canSeeRequest,
  requireStaff,
  type Caller,
} from '../policies';
import { COLUMNS, partiesOf, selectById, selectRows, toJson } from './rows';
import { MANUAL_VERIFICATION, type ApprovalRequestJson, type StaffApprovalDeps } from './types';

/**
 * Decisions on a request: approve, reject, cancel. Every one is a conditional
 * UPDATE whose WHERE clause repeats the policy, so of two simultaneous decisions
 * exactly one wins; when it matches nothing, whyNotUpdated says why.
 */

const notPending = (status: string) =>
  new AppError('not_pending', `The request is ${status}, not pending`);

/**
 * Explains why a conditional UPDATE matched nothing. user_id and requested_by
 * never change once filed, so reading the row afterwards gives a stable answer.
 */
async function whyNotUpdated(
  deps: StaffApprovalDeps,
  caller: Caller,
  id: string,
  action: 'review' | 'cancel',
  transaction: Transaction,
): Promise<never> {
  const row = await selectById(deps, id, transaction);
  if (!row || !canSeeRequest(caller, partiesOf(row))) throw notFound('No such request');
  if (action === 'review' && !canReviewRequest(caller, partiesOf(row))) {
    throw new AppError('self_review');
  }
  if (action === 'cancel' && !canCancelRequest(caller, partiesOf(row))) {
    throw forbidden('Only the requester may cancel a request');
  }
  throw notPending(row.status);
}

/** The request's channel, or null when its details name none. */
function channelIn(details: Record<string, unknown>): Channel | null {
  return details.channel === 'phone' || details.channel === 'email' ? details.channel : null;
}

function channelOf(details: Record<string, unknown>): Channel {
  const channel = details.channel;
  if (channel !== 'phone' && channel !== 'email') {
    // Only rows written around the API can get here.
    throw new AppError('invalid_details');
  }
  return channel;
}

/**
 * POST /staff-approval-requests/{id}/approve and /reject. One transaction: the
 * conditional UPDATE decides the race, and an approved manual_verification marks
 * the channel verified on the subject; any failure leaves the request pending.
 */
export async function decideRequest(
  deps: StaffApprovalDeps,
  caller: Caller,
  id: string,
  decision: 'approved' | 'rejected',
  note: string | undefined,
  idem?: IdempotentRequest,
): Promise<ApprovalRequestJson> {
  requireStaff(caller);
  if (decision === 'rejected' && !note?.trim()) throw badRequest('note is required to reject');
  const now = deps.now();
  const published: OutboxMessage[] = [];
  const decided = await idempotentTransaction(deps.sequelize, idem, now, async (transaction) => {
    // The last line is canReviewRequest for a staff caller.
    const [row] = await selectRows(
      deps,
      `UPDATE staff_approval_requests
       SET status = $2::enum_staff_approval_requests_status, reviewed_by = $3,
           reviewed_at = $4, review_note = $5, updated_at = $4
       WHERE id = $1 AND status = 'pending'
         AND user_id <> $3 AND requested_by IS DISTINCT FROM $3
       RETURNING ${COLUMNS}`,
      [id, decision, caller.id, now, note ?? null],
      transaction,
    );
    if (!row) return whyNotUpdated(deps, caller, id, 'review', transaction);
    const channel = row.request_type === MANUAL_VERIFICATION ? channelIn(row.details) : null;
    const record = async (event: Omit<EventRecord, 'userId' | 'actorId' | 'at'>) => {
      const message = await recordEvent(deps.sequelize, transaction, {
        ...event,
        userId: row.user_id,
        actorId: caller.id,
        at: now,
      });
      if (message) published.push(message);
    };
    await record({ type: 'approval_decided', channel, details: { requestId: row.id, decision } });
    if (decision === 'approved' && row.request_type === MANUAL_VERIFICATION) {
      const change = await markChannelVerified(deps, row.user_id, row.details, now, transaction);
      if (change.before !== change.after) {
        await record({
          type: 'status_changed',
          channel: channelOf(row.details),
          details: { from: change.before, to: change.after, cause: 'staff_approval' },
        });
      }
    }
    return toJson(row, caller);
  });
  await deps.events?.publishNow(published);
  deps.metrics?.approvalDecided(decision);
  return decided;
}

/**
 * Joins the request's channel to the subject's verified channels, only while the
 * subject still has the address recorded when the request was filed
 * (`details.destination`): otherwise 422 no_destination (no address now) or 409
 * destination_changed, and the caller's transaction rolls the decision back.
 */
async function markChannelVerified(
  deps: StaffApprovalDeps,
  userId: number,
  details: Record<string, unknown>,
  now: Date,
  transaction: Transaction,
): Promise<{ before: VerificationStatus; after: VerificationStatus }> {
  const channel = channelOf(details);
  // A request filed before addresses were recorded has none: it cannot vouch
  // for any address, so it is refused like a changed one.
  const recorded = typeof details.destination === 'string' ? details.destination : null;
  // In SQL so that it reads the locked row; generated from withChannelVerified().
  // The row is locked first, so `before` is the status this statement changed.
  const [updated] = await deps.sequelize.query<{
    before: VerificationStatus;
    after: VerificationStatus;
  }>(
    `UPDATE users u
     SET verification_status = ${withChannelVerifiedSql('u.verification_status', channel)},
         updated_at = $2
     FROM (SELECT id, verification_status FROM users WHERE id = $1 FOR NO KEY UPDATE) old
     WHERE u.id = old.id AND u.${channel} IS NOT NULL AND u.${channel} = $3
     RETURNING old.verification_status AS before, u.verification_status AS after`,
    { bind: [userId, now, recorded], type: QueryTypes.SELECT, transaction },
  );
  if (updated) return updated;
  const [current] = await deps.sequelize.query<{ address: string | null }>(
    `SELECT ${channel} AS address FROM users WHERE id = $1`,
    { bind: [userId], type: QueryTypes.SELECT, transaction },
  );
  if (!current?.address) {
    throw new AppError('no_destination', `The user has no ${channel} to mark verified`);
  }
  throw new AppError(
    'destination_changed',
    `The user's ${channel} is not the one recorded when the request was filed; file a new request`,
  );
}

/** POST /staff-approval-requests/{id}/cancel: the requester withdraws a pending request. */
export async function cancelRequest(
  deps: StaffApprovalDeps,
  caller: Caller,
  id: string,
  idem?: IdempotentRequest,
): Promise<ApprovalRequestJson> {
  const now = deps.now();
  const published: OutboxMessage[] = [];
  const cancelled = await idempotentTransaction(deps.sequelize, idem, now, async (transaction) => {
    // requested_by = caller is canCancelRequest.
    const [row] = await selectRows(
      deps,
      `UPDATE staff_approval_requests
       SET status = 'cancelled', updated_at = $3
       WHERE id = $1 AND status = 'pending' AND requested_by = $2
       RETURNING ${COLUMNS}`,
      [id, caller.id, now],
      transaction,
    );
    if (!row) return whyNotUpdated(deps, caller, id, 'cancel', transaction);
    const message = await recordEvent(deps.sequelize, transaction, {
      userId: row.user_id,
      actorId: actorFor(caller.id, row.user_id),
      type: 'approval_decided',
      channel: row.request_type === MANUAL_VERIFICATION ? channelIn(row.details) : null,
      details: { requestId: row.id, decision: 'cancelled' },
      at: now,
    });
    if (message) published.push(message);
    return toJson(row, caller);
  });
  await deps.events?.publishNow(published);
  deps.metrics?.approvalDecided('cancelled');
  return cancelled;
}
