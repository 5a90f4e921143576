import { QueryTypes, Transaction } from 'sequelize';
import type { RequestStatus } from '../../models';
import { maskDestination } from '../logger';
import { canSeeFullDestination, type Caller, type RequestParties } from '../policies';
import type { ApprovalRequestJson, StaffApprovalDeps } from './types';

/** A staff_approval_requests row as the service's statements return it. */
export interface Row {
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

export const COLUMNS = `id, user_id, requested_by, request_type, details, status, reviewed_by,
  reviewed_at, review_note, created_at, updated_at`;

function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/**
 * A request as `viewer` may see it: the address a manual verification recorded
 * (`details.destination`) is whole for staff and masked for anyone else.
 */
export function toJson(row: Row, viewer: Caller): ApprovalRequestJson {
  let details = row.details;
  const { channel, destination } = details;
  if (
    typeof destination === 'string' &&
    (channel === 'email' || channel === 'phone') &&
    !canSeeFullDestination(viewer)
  ) {
    details = { ...details, destination: maskDestination(channel, destination) };
  }
  return {
    id: row.id,
    userId: row.user_id,
    requestedBy: row.requested_by,
    requestType: row.request_type,
    details,
    status: row.status,
    reviewedBy: row.reviewed_by,
    reviewedAt: iso(row.reviewed_at),
    reviewNote: row.review_note,
    createdAt: iso(row.created_at) as string,
    updatedAt: iso(row.updated_at) as string,
  };
}

/** The subject and requester of a row, as the policies take them. */
export function partiesOf(row: Pick<Row, 'user_id' | 'requested_by'>): RequestParties {
  return { userId: row.user_id, requestedBy: row.requested_by };
}

export async function selectRows(
  deps: StaffApprovalDeps,
  sql: string,
  bind: unknown[],
  transaction?: Transaction,
): Promise<Row[]> {
  return deps.sequelize.query<Row>(sql, { bind, type: QueryTypes.SELECT, transaction });
}

/** One request by id, or undefined. */
export async function selectById(
  deps: StaffApprovalDeps,
  id: string,
  transaction?: Transaction,
): Promise<Row | undefined> {
  const [row] = await selectRows(
    deps,
    `SELECT ${COLUMNS} FROM staff_approval_requests WHERE id = $1`,
    [id],
    transaction,
  );
  return row;
}
