import { createHash } from 'node:crypto';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import { AppError, badRequest, forbidden, notFound, serviceUnavailable } from '../errors';
import type { Channel, Models, RequestStatus } from '../../models';

/**
 * The staff maker-checker queue (SPEC §4, §5): users file approval requests,
 * staff other than the requester and the subject approve or reject them, and
 * the requester may cancel. Every decision is one conditional UPDATE, so of two
 * simultaneous decisions exactly one wins.
 */

export interface StaffApprovalDeps {
  sequelize: Sequelize;
  models: Models;
  now: () => Date;
}

/** Who is calling: the signed-in user (a User model satisfies this). */
export interface Caller {
  id: number;
  isStaff: boolean;
}

export interface ApprovalRequestJson {
  id: string;
  userId: number;
  requestedBy: number | null;
  requestType: string;
  details: Record<string, unknown>;
  status: RequestStatus;
  reviewedBy: number | null;
  reviewedAt: string | null;
  reviewNote: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CreateInput {
  requestType: string;
  details?: Record<string, unknown> | undefined;
  userId?: number | undefined;
}

export interface ListInput {
  status?: RequestStatus | undefined;
  userId?: number | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface ListResult {
  items: ApprovalRequestJson[];
  nextCursor: string | null;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
export const MANUAL_VERIFICATION = 'manual_verification';
const ONE_PENDING_INDEX = 'staff_approval_requests_one_pending_idx';

/**
 * Transaction-level advisory lock that serialises inserts, so that created_at
 * order is commit order and keyset pages never skip a late-committing row.
 * (An arbitrary constant; the migration runner uses its own key.)
 */
const INSERT_LOCK_KEY = 742_001_113;
const LOCK_WAIT_MS = 5000;
const IDLE_IN_TRANSACTION_MS = 10000;

interface Row {
  id: string;
  user_id: number;
  requested_by: number | null;
  request_type: string;
  details: Record<string, unknown>;
  status: RequestStatus;
  reviewed_by: number | null;
  reviewed_at: Date | null;
  review_note: string | null;
  created_at: Date;
  updated_at: Date;
  /** created_at with microseconds, for cursors (list queries only). */
  created_at_us?: string;
}

const COLUMNS = `id, user_id, requested_by, request_type, details, status, reviewed_by,
  reviewed_at, review_note, created_at, updated_at`;

function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

export function toJson(row: Row): ApprovalRequestJson {
  return {
    id: row.id,
    userId: row.user_id,
    requestedBy: row.requested_by,
    requestType: row.request_type,
    details: row.details,
    status: row.status,
    reviewedBy: row.reviewed_by,
    reviewedAt: iso(row.reviewed_at),
    reviewNote: row.review_note,
    createdAt: iso(row.created_at) as string,
    updatedAt: iso(row.updated_at) as string,
  };
}

function pgError(err: unknown): { code?: string; constraint?: string } {
  const e = err as { original?: { code?: string; constraint?: string }; code?: string };
  return e?.original ?? (e as { code?: string; constraint?: string }) ?? {};
}

async function select(
  deps: StaffApprovalDeps,
  sql: string,
  bind: unknown[],
  transaction?: Transaction,
): Promise<Row[]> {
  return deps.sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT, transaction });
}

function canSee(caller: Caller, row: Pick<Row, 'user_id' | 'requested_by'>): boolean {
  return caller.isStaff || row.user_id === caller.id || row.requested_by === caller.id;
}

/** POST /staff-approval-requests. */
export async function createRequest(
  deps: StaffApprovalDeps,
  caller: Caller,
  input: CreateInput,
): Promise<ApprovalRequestJson> {
  const subjectId = input.userId ?? caller.id;
  if (subjectId !== caller.id && !caller.isStaff) {
    throw forbidden('Only staff may file a request about another user');
  }
  const details = input.details ?? {};
  if (input.requestType === MANUAL_VERIFICATION) {
    const channel = details.channel;
    if (channel !== 'phone' && channel !== 'email') {
      throw badRequest('details.channel must be "phone" or "email" for manual_verification');
    }
  }
  try {
    const rows = await deps.sequelize.transaction(async (transaction) => {
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
      // when this container's clock lags another's.
      return select(
        deps,
        `INSERT INTO staff_approval_requests
           (id, user_id, requested_by, request_type, details, status, created_at, updated_at)
         SELECT gen_random_uuid(), $1, $2, $3, $4::jsonb, 'pending', t.at, t.at
         FROM (SELECT GREATEST($5::timestamptz,
                 (SELECT max(created_at) + interval '1 microsecond'
                  FROM staff_approval_requests)) AS at) t
         RETURNING ${COLUMNS}`,
        [subjectId, caller.id, input.requestType, JSON.stringify(details), deps.now()],
        transaction,
      );
    });
    return toJson(rows[0] as Row);
  } catch (err) {
    const pg = pgError(err);
    if (pg.code === '23505' && pg.constraint === ONE_PENDING_INDEX) {
      throw new AppError(
        'duplicate_pending',
        `A pending ${input.requestType} request already exists for this user`,
        { cause: err },
      );
    }
    if (pg.code === '23503') throw new AppError('not_found', 'No such user', { cause: err });
    // lock_timeout while queueing for the insert lock: busy, not broken.
    if (pg.code === '55P03') throw serviceUnavailable(1, err);
    throw err;
  }
}

/** GET /staff-approval-requests/{id}: 404 also when the caller may not see it. */
export async function getRequest(
  deps: StaffApprovalDeps,
  caller: Caller,
  id: string,
): Promise<ApprovalRequestJson> {
  const [row] = await select(deps, `SELECT ${COLUMNS} FROM staff_approval_requests WHERE id = $1`, [
    id,
  ]);
  if (!row || !canSee(caller, row)) throw notFound('No such request');
  return toJson(row);
}

// ---- listing -------------------------------------------------------------

interface CursorPosition {
  createdAt: string;
  id: string;
}

const CURSOR_TIME = /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CURSOR_LENGTH = 512;

/** Binds a cursor to the filters it was made with (not secret: forging one reveals nothing). */
function filtersHash(caller: Caller, status: string | undefined, userId: number | undefined) {
  const scope = caller.isStaff ? 'staff' : `user:${caller.id}`;
  return createHash('sha256')
    .update(JSON.stringify([scope, status ?? null, userId ?? null]))
    .digest('base64url')
    .slice(0, 16);
}

export function encodeCursor(position: CursorPosition, filters: string): string {
  const payload = { v: 1, t: position.createdAt, i: position.id, f: filters };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, filters: string): CursorPosition {
  const malformed = () => badRequest('cursor is malformed; use nextCursor as returned');
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw malformed();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw malformed();
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw malformed();
  const { v, t, i, f, ...rest } = parsed as Record<string, unknown>;
  if (
    v !== 1 ||
    Object.keys(rest).length > 0 ||
    typeof t !== 'string' ||
    typeof i !== 'string' ||
    typeof f !== 'string' ||
    !CURSOR_TIME.test(t) ||
    !UUID.test(i)
  ) {
    throw malformed();
  }
  // The calendar must be real (no month 13), or PostgreSQL would reject it.
  const ms = new Date(`${t.slice(0, 23)}Z`);
  if (Number.isNaN(ms.getTime()) || ms.toISOString().slice(0, 23) !== t.slice(0, 23)) {
    throw malformed();
  }
  if (f !== filters) throw badRequest('cursor was issued for other filters');
  return { createdAt: t, id: i };
}

/** GET /staff-approval-requests: keyset pages in (created_at, id) order, oldest first. */
export async function listRequests(
  deps: StaffApprovalDeps,
  caller: Caller,
  input: ListInput,
): Promise<ListResult> {
  if (input.userId !== undefined && input.userId !== caller.id && !caller.isStaff) {
    throw forbidden("Only staff may list other users' requests");
  }
  const limit = input.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw badRequest(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  const filters = filtersHash(caller, input.status, input.userId);
  const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor, filters);

  const where: string[] = [];
  const bind: unknown[] = [];
  const param = (value: unknown) => {
    bind.push(value);
    return `$${bind.length}`;
  };
  if (!caller.isStaff) {
    const me = param(caller.id);
    where.push(`(user_id = ${me} OR requested_by = ${me})`);
  }
  if (input.userId !== undefined) where.push(`user_id = ${param(input.userId)}`);
  if (input.status !== undefined) {
    where.push(`status = ${param(input.status)}::enum_staff_approval_requests_status`);
  }
  if (after) {
    where.push(
      `(created_at, id) > (${param(after.createdAt)}::timestamptz, ${param(after.id)}::uuid)`,
    );
  }
  const rows = await select(
    deps,
    `SELECT ${COLUMNS},
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_us
     FROM staff_approval_requests
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY created_at, id
     LIMIT ${param(limit + 1)}`,
    bind,
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > limit && last
      ? encodeCursor({ createdAt: last.created_at_us as string, id: last.id }, filters)
      : null;
  return { items: page.map(toJson), nextCursor };
}

// ---- decisions -----------------------------------------------------------

/** Approve and reject are for staff only, checked before anything else (SPEC §4). */
export function requireStaff(caller: Caller): void {
  if (!caller.isStaff) throw forbidden('Only staff may review requests');
}

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
  const [row] = await select(
    deps,
    `SELECT ${COLUMNS} FROM staff_approval_requests WHERE id = $1`,
    [id],
    transaction,
  );
  if (!row || !canSee(caller, row)) throw notFound('No such request');
  if (action === 'review' && (row.user_id === caller.id || row.requested_by === caller.id)) {
    throw new AppError('self_review');
  }
  if (action === 'cancel' && row.requested_by !== caller.id) {
    throw forbidden('Only the requester may cancel a request');
  }
  throw notPending(row.status);
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
): Promise<ApprovalRequestJson> {
  requireStaff(caller);
  if (decision === 'rejected' && !note?.trim()) throw badRequest('note is required to reject');
  const now = deps.now();
  return deps.sequelize.transaction(async (transaction) => {
    const [row] = await select(
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
    if (decision === 'approved' && row.request_type === MANUAL_VERIFICATION) {
      await markChannelVerified(deps, row.user_id, channelOf(row.details), now, transaction);
    }
    return toJson(row);
  });
}

/** Joins `channel` to the subject's verified channels, if the subject has that destination. */
async function markChannelVerified(
  deps: StaffApprovalDeps,
  userId: number,
  channel: Channel,
  now: Date,
  transaction: Transaction,
): Promise<void> {
  const other: Channel = channel === 'phone' ? 'email' : 'phone';
  // Mirrors withChannelVerified() in models/User.ts, in SQL so it reads the locked row.
  const [updated] = await deps.sequelize.query<{ id: number }>(
    `UPDATE users
     SET verification_status = CASE
           WHEN verification_status IN ('verified', '${other}_verified') THEN 'verified'
           ELSE '${channel}_verified'
         END::enum_users_verification_status,
         updated_at = $2
     WHERE id = $1 AND ${channel} IS NOT NULL
     RETURNING id`,
    { bind: [userId, now], type: QueryTypes.SELECT, transaction },
  );
  if (!updated) {
    throw new AppError('no_destination', `The user has no ${channel} to mark verified`);
  }
}

/** POST /staff-approval-requests/{id}/cancel: the requester withdraws a pending request. */
export async function cancelRequest(
  deps: StaffApprovalDeps,
  caller: Caller,
  id: string,
): Promise<ApprovalRequestJson> {
  return deps.sequelize.transaction(async (transaction) => {
    const [row] = await select(
      deps,
      `UPDATE staff_approval_requests
       SET status = 'cancelled', updated_at = $3
       WHERE id = $1 AND status = 'pending' AND requested_by = $2
       RETURNING ${COLUMNS}`,
      [id, caller.id, deps.now()],
      transaction,
    );
    if (!row) return whyNotUpdated(deps, caller, id, 'cancel', transaction);
    return toJson(row);
  });
}
