import {
  type Channel,
  statusesVerifyingSql,
  type VerificationInfo,
  verificationInfoOf,
  type VerificationStatus,
  withChannelUnverifiedSql,
} from '../../models/verification';
import { type SqlPool, withSession } from '../sql';
import { AppError, notFound } from '../errors';
import type { EventPublisher, OutboxMessage } from '../events/types';
import { type Caller, requireStaff } from '../policies';

export interface RevokeDeps {
  sql: SqlPool;
  now: () => Date;
  events?: EventPublisher;
}

/**
 * One statement: lock the channel's active code and then the user row (the
 * order in which a verify takes them, so the two never deadlock), drop the
 * channel's verified state when it holds, supersede that code, and record
 * `verification_revoked` and `status_changed` (cause `revocation`) with their
 * outbox rows. A verify of the same channel at the same time waits for the row
 * lock, or this waits for it: whichever commits last decides the status, and
 * the events, written under the lock, are in that order.
 *
 * $1 user id, $2 channel, $3 reason, $4 now, $5 the staff member.
 */
const revokeSql = (channel: Channel) => `
  WITH codes AS (
    SELECT id FROM verification_codes
    WHERE user_id = $1 AND channel = $2::enum_verification_codes_channel
      AND consumed_at IS NULL AND superseded_at IS NULL
    FOR UPDATE
  ), target AS (
    SELECT id, verification_status AS before FROM users
    WHERE id = $1 AND (SELECT count(*) FROM codes) >= 0
    FOR NO KEY UPDATE
  ), updated AS (
    UPDATE users u
    SET verification_status = ${withChannelUnverifiedSql('t.before', channel)},
        updated_at = $4::timestamptz
    FROM target t
    WHERE u.id = t.id AND t.before IN (${statusesVerifyingSql(channel)})
    RETURNING t.before, u.verification_status AS status
  ), superseded AS (
    UPDATE verification_codes SET superseded_at = $4::timestamptz
    WHERE id IN (SELECT id FROM codes) AND consumed_at IS NULL AND superseded_at IS NULL
      AND EXISTS (SELECT 1 FROM updated)
  )
  SELECT t.id IS NOT NULL AS found, u.status,
         EXISTS (SELECT 1 FROM verification_event_outbox
                 WHERE user_id = $1 AND published_at IS NULL) AS older_pending,
         CASE WHEN u.status IS NOT NULL THEN verification_record_event($1::int, $5::int,
           'verification_revoked', $2::text, jsonb_build_object('reason', $3::text),
           $4::timestamptz) END AS revoked_event,
         CASE WHEN u.status IS NOT NULL THEN verification_record_event($1::int, $5::int,
           'status_changed', $2::text,
           jsonb_build_object('from', u.before, 'to', u.status, 'cause', 'revocation'),
           $4::timestamptz) END AS status_event
  FROM (SELECT 1) one
  LEFT JOIN target t ON true
  LEFT JOIN updated u ON true`;

const STATEMENTS = { phone: revokeSql('phone'), email: revokeSql('email') };

interface RevokeRow {
  found: boolean;
  status: VerificationStatus | null;
  older_pending: boolean;
  revoked_event: OutboxMessage | null;
  status_event: OutboxMessage | null;
}

/**
 * POST /users/{id}/verification/revoke: staff take back a channel's verified
 * state (a verification obtained by fraud, an address the user no longer
 * holds). Never on themselves.
 */
export async function revokeVerification(
  deps: RevokeDeps,
  caller: Caller,
  userId: number,
  channel: Channel,
  reason: string,
): Promise<VerificationInfo> {
  requireStaff(caller);
  if (caller.id === userId) {
    throw new AppError('self_review', 'Staff cannot revoke their own verification');
  }
  const [row] = await withSession(deps.sql, (sql) =>
    sql.rows<RevokeRow>(STATEMENTS[channel], [
      userId,
      channel,
      reason,
      deps.now().toISOString(),
      caller.id,
    ]),
  );
  if (!row?.found) throw notFound('No such user');
  if (row.status === null) {
    throw new AppError('not_verified', `The user's ${channel} is not verified`);
  }
  if (!row.older_pending) {
    const messages = [row.revoked_event, row.status_event].filter(
      (m): m is OutboxMessage => m !== null,
    );
    await deps.events?.publishNow(messages, { ordered: true });
  }
  return verificationInfoOf(userId, row.status);
}
