import { badRequest, forbidden, notFound } from '../errors';
import { canListRequestsAbout, canSeeRequest, type Caller } from '../policies';
import { decodeCursor, encodeCursor, filtersHash } from './cursor';
import { COLUMNS, partiesOf, selectById, selectRows, toJson } from './rows';
import {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  type ApprovalRequestJson,
  type ListInput,
  type ListResult,
  type StaffApprovalDeps,
} from './types';

/** GET /staff-approval-requests/{id}: 404 also when the caller may not see it. */
export async function getRequest(
  deps: StaffApprovalDeps,
  caller: Caller,
  id: string,
): Promise<ApprovalRequestJson> {
  const row = await selectById(deps, id);
  if (!row || !canSeeRequest(caller, partiesOf(row))) throw notFound('No such request');
  return toJson(row, caller);
}

/** GET /staff-approval-requests: keyset pages in (created_at, id) order, oldest first. */
export async function listRequests(
  deps: StaffApprovalDeps,
  caller: Caller,
  input: ListInput,
): Promise<ListResult> {
  if (!canListRequestsAbout(caller, input.userId)) {
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
    // canSeeRequest, as a filter.
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
  const rows = await selectRows(
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
  return { items: page.map((row) => toJson(row, caller)), nextCursor };
}
