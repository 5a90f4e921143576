import { createHash } from 'node:crypto';
import type { Channel } from '../../models/verification';
import { type SqlPool, withSession } from '../sql';
import { badRequest, forbidden, notFound } from '../errors';
import type { EventType } from '../events/types';
import type { Caller } from '../policies';

/**
 * GET /users/{id}/verification/events and /users/me/verification/events: a
 * user's verification history, newest first, in keyset pages on
 * (created_at, id). New events land on top, so paging on never repeats or
 * skips an event.
 */

export const DEFAULT_EVENTS_LIMIT = 20;

export interface EventItem {
  id: string;
  type: EventType;
  channel: Channel | null;
  actorId: number | null;
  details: Record<string, unknown>;
  createdAt: string;
}

export interface EventPage {
  items: EventItem[];
  nextCursor: string | null;
}

export interface HistoryQuery {
  type?: EventType | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

interface Row {
  event_id: string;
  type: EventType;
  channel: Channel | null;
  actor_id: number | null;
  details: Record<string, unknown>;
  created_at: Date;
  /** created_at with microseconds, for the cursor. */
  at: string;
}

const CURSOR_TIME = /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const BIGINT = /^[1-9]\d{0,18}$/;

/** Binds a cursor to the user and the type filter it was made for. */
const filtersOf = (userId: number, type: string | undefined) =>
  createHash('sha256')
    .update(JSON.stringify(['events', userId, type ?? null]))
    .digest('base64url')
    .slice(0, 16);

function encodeCursor(row: Row, filters: string): string {
  return Buffer.from(JSON.stringify({ v: 1, t: row.at, i: row.event_id, f: filters })).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string, filters: string): { at: string; id: string } {
  const malformed = () => badRequest('cursor is malformed; use nextCursor as returned');
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw malformed();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw malformed();
  }
  const { v, t, i, f, ...rest } = (parsed ?? {}) as Record<string, unknown>;
  if (
    typeof parsed !== 'object' ||
    Array.isArray(parsed) ||
    v !== 1 ||
    Object.keys(rest).length > 0 ||
    typeof t !== 'string' ||
    !CURSOR_TIME.test(t) ||
    typeof i !== 'string' ||
    !BIGINT.test(i)
  ) {
    throw malformed();
  }
  if (f !== filters)
    throw badRequest('cursor was made for other filters; start from the first page');
  return { at: t, id: i };
}

export const PAGE_SQL = `
  SELECT id::text AS event_id, type, channel, actor_id, details, created_at,
         to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
  FROM verification_events
  WHERE user_id = $1
    AND ($2::text IS NULL OR type = $2::text)
    AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::bigint))
  ORDER BY created_at DESC, id DESC
  LIMIT $5`;

/**
 * A page of a user's events. Staff may read anyone's; a user only their own
 * (403 otherwise). An unknown user is 404.
 */
export async function listEvents(
  deps: { sql: SqlPool },
  caller: Caller,
  userId: number,
  query: HistoryQuery,
): Promise<EventPage> {
  if (!caller.isStaff && caller.id !== userId) {
    throw forbidden("Only staff may read another user's verification events");
  }
  const limit = query.limit ?? DEFAULT_EVENTS_LIMIT;
  const filters = filtersOf(userId, query.type);
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, filters);
  return withSession(deps.sql, async (sql) => {
    const rows = await sql.rows<Row>(PAGE_SQL, [
      userId,
      query.type ?? null,
      after?.at ?? null,
      after?.id ?? null,
      limit + 1,
    ]);
    if (rows.length === 0 && caller.id !== userId) {
      const [user] = await sql.rows('SELECT 1 FROM users WHERE id = $1', [userId]);
      if (!user) throw notFound('No such user');
    }
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        id: r.event_id,
        type: r.type,
        channel: r.channel,
        actorId: r.actor_id,
        details: r.details,
        createdAt: new Date(r.created_at).toISOString(),
      })),
      nextCursor: rows.length > limit && last ? encodeCursor(last, filters) : null,
    };
  });
}
