import { createHash } from 'node:crypto';
import { badRequest } from '../errors';
import type { Caller } from '../policies';

/**
 * Keyset cursors for GET /staff-approval-requests: the (created_at, id) of the
 * last item of a page, bound to the filters and the caller's scope it was made
 * for. Opaque to clients, checked strictly when it comes back.
 */

export interface CursorPosition {
  /** created_at with microseconds, as PostgreSQL prints it in UTC. */
  createdAt: string;
  id: string;
}

const CURSOR_TIME = /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CURSOR_LENGTH = 512;

/** Binds a cursor to the filters it was made with (not secret: forging one reveals nothing). */
export function filtersHash(
  caller: Caller,
  status: string | undefined,
  userId: number | undefined,
): string {
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

/** The position a cursor names, or a 400 when it is malformed or made for other filters. */
export function decodeCursor(cursor: string, filters: string): CursorPosition {
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
