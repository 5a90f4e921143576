import { inTransaction, type SqlPool, withSession } from '../sql';
import type { OutboxMetrics } from '../metrics';
import { type EventSink, PUT_EVENTS_MAX_ENTRIES, type SinkLogger } from './sink';
import type { EventDetail, EventPublisher, EventType, OutboxMessage } from './types';

/**
 * The outbox of verification events. Rows are written by
 * verification_record_event() in the transaction of what they record; they
 * leave in two ways:
 *
 * - right after that commit, by the request that wrote them (`publishNow`),
 *   when the user has no older unpublished event (so a user's events are not
 *   overtaken);
 * - by the scheduled publisher (`publishPending`), every minute, oldest first,
 *   for whatever is left: an event a request could not publish, or one that
 *   EventBridge refused.
 *
 * A row is marked published only after EventBridge accepted it. A crash
 * between the two publishes it again on the next run: delivery is at least
 * once, and consumers drop duplicates by `eventId`.
 */

/** Whether the user has an unpublished event older than $2. */
const OLDER_PENDING_SQL = `
  SELECT EXISTS (SELECT 1 FROM verification_event_outbox
                 WHERE user_id = $1 AND published_at IS NULL AND event_id < $2::bigint) AS waiting`;

const MARK_PUBLISHED_SQL = `
  UPDATE verification_event_outbox SET published_at = $2::timestamptz
  WHERE event_id = ANY($1::bigint[]) AND published_at IS NULL`;

/** Publishes right after a commit; never throws (the scheduled run catches up). */
export function outboxPublisher(
  pool: SqlPool,
  sink: EventSink,
  logger: SinkLogger,
  now: () => Date = () => new Date(),
  metrics?: Pick<OutboxMetrics, 'eventsPublished'>,
): EventPublisher {
  return {
    async publishNow(messages, options = {}) {
      const first = messages[0];
      if (!first) return;
      try {
        if (!options.ordered) {
          const [older] = await withSession(pool, (session) =>
            session.rows<{ waiting: boolean }>(OLDER_PENDING_SQL, [
              first.detail.userId,
              first.detail.eventId,
            ]),
          );
          if (older?.waiting) return;
        }
        // One at a time, in order: a refused event holds back the ones after it.
        const ids: string[] = [];
        for (const message of messages) {
          const [accepted] = await sink.put([message]);
          if (!accepted) break;
          ids.push(message.detail.eventId);
        }
        if (ids.length === 0) return;
        metrics?.eventsPublished(ids.length);
        await withSession(pool, (session) =>
          session.rows(MARK_PUBLISHED_SQL, [ids, now().toISOString()]),
        );
      } catch (err) {
        logger.warn('events not published now; the scheduled publisher will', {
          error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
      }
    },
  };
}

/**
 * Publishes rows (in event order) so that a user's events are accepted in
 * their order: each PutEvents call carries at most one event per user (and at
 * most 10), and a user's next event goes only after the previous one was
 * accepted. A refused event holds back the rest of its user's events until the
 * next run (`blocked`). The ids accepted.
 */
async function publishInOrder(
  sink: EventSink,
  rows: readonly PendingRow[],
  blocked: Set<number>,
): Promise<string[]> {
  const done: string[] = [];
  let queue = rows.filter((r) => !blocked.has(r.user_id));
  while (queue.length > 0) {
    const call: PendingRow[] = [];
    const rest: PendingRow[] = [];
    const seen = new Set<number>();
    for (const row of queue) {
      if (blocked.has(row.user_id)) continue;
      if (call.length < PUT_EVENTS_MAX_ENTRIES && !seen.has(row.user_id)) call.push(row);
      else rest.push(row);
      seen.add(row.user_id);
    }
    const accepted = await sink.put(
      call.map((r) => ({ type: r.detail_type, detail: r.detail }) satisfies OutboxMessage),
    );
    call.forEach((row, i) => {
      if (accepted[i]) done.push(row.event_id);
      else blocked.add(row.user_id);
    });
    queue = rest;
  }
  return done;
}

/** Serialises scheduled runs: one publisher at a time (an arbitrary constant). */
const PUBLISHER_LOCK_KEY = 742_001_114;

interface PendingRow {
  event_id: string;
  user_id: number;
  detail_type: EventType;
  detail: EventDetail;
}

export interface PublishPendingDeps {
  /** Sessions on the function's pool (lib/sql.ts). */
  sql: SqlPool;
  sink: EventSink;
  now: () => Date;
  /** Rows read per batch (each batch is one transaction). */
  batchSize?: number;
  /** At most this many batches per run. */
  maxBatches?: number;
  /** Milliseconds the run may still take. */
  timeLeftMs?: () => number;
  /** Published rows older than this many days are deleted. */
  retentionDays: number;
}

export interface PublishPendingResult {
  /** False when another run held the publisher lock (it publishes everything). */
  ran: boolean;
  published: number;
  /** Refused by EventBridge (or not tried, behind a refused event of the same user): left for the next run. */
  left: number;
  /** Age of the oldest event still unpublished after the run, in seconds (0: none). */
  oldestPendingAgeSeconds: number;
  /** Published rows deleted after retention. */
  deleted: number;
}

/**
 * One scheduled run: publishes the pending rows oldest first, in batches, each
 * in a transaction that holds the publisher lock, and marks what EventBridge
 * accepted. After a refused event, later events of the same user wait for the
 * next run, so one user's events are published in order. Then deletes
 * published rows past retention.
 */
export async function publishPending(deps: PublishPendingDeps): Promise<PublishPendingResult> {
  const batchSize = deps.batchSize ?? 100;
  const maxBatches = deps.maxBatches ?? 50;
  const timeLeft = () => (deps.timeLeftMs?.() ?? Infinity) > 0;
  const result: PublishPendingResult = {
    ran: true,
    published: 0,
    left: 0,
    oldestPendingAgeSeconds: 0,
    deleted: 0,
  };
  const blocked = new Set<number>();
  let after = '0';
  for (let batch = 0; batch < maxBatches && timeLeft(); batch += 1) {
    const more = await inTransaction(deps.sql, async (sql) => {
      const [lock] = await sql.rows<{ locked: boolean }>(
        'SELECT pg_try_advisory_xact_lock($1) AS locked',
        [PUBLISHER_LOCK_KEY],
      );
      if (!lock?.locked) {
        result.ran = false;
        return false;
      }
      const rows = await sql.rows<PendingRow>(
        `SELECT event_id, user_id, detail_type, detail FROM verification_event_outbox
         WHERE published_at IS NULL AND event_id > $1::bigint
         ORDER BY event_id LIMIT $2`,
        [after, batchSize],
      );
      if (rows.length === 0) return false;
      after = rows[rows.length - 1]!.event_id;
      const done = await publishInOrder(deps.sink, rows, blocked);
      result.left += rows.length - done.length;
      if (done.length > 0) {
        await sql.rows(MARK_PUBLISHED_SQL, [done, deps.now().toISOString()]);
        result.published += done.length;
      }
      return rows.length === batchSize;
    });
    if (!more) break;
  }
  await withSession(deps.sql, async (sql) => {
    const cutoff = new Date(deps.now().getTime() - deps.retentionDays * 86_400_000);
    const deleted = await sql.rows(
      `DELETE FROM verification_event_outbox
       WHERE event_id IN (SELECT event_id FROM verification_event_outbox
                          WHERE published_at IS NOT NULL AND published_at < $1::timestamptz
                          ORDER BY published_at LIMIT 10000)
       RETURNING 1`,
      [cutoff.toISOString()],
    );
    result.deleted = deleted.length;
    const [oldest] = await sql.rows<{ age: number | null }>(
      `SELECT extract(epoch FROM ($1::timestamptz - created_at))::float8 AS age
       FROM verification_event_outbox WHERE published_at IS NULL
       ORDER BY event_id LIMIT 1`,
      [deps.now().toISOString()],
    );
    result.oldestPendingAgeSeconds = Math.max(0, Math.round(oldest?.age ?? 0));
  });
  return result;
}
