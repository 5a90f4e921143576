/**
 * The floor: POST /verification/codes and POST /verification/verify written
 * directly on `pg`, with the least SQL the same work needs and the same
 * guarantees (user row locked for the send, limits counted after the lock, the
 * older code superseded in the same transaction; a verify that consumes the code
 * and moves the status in one statement). It checks the same bearer token
 * (jose, HS256) and the same HMAC, so the handler/floor ratio is what the
 * handler adds on top: Sequelize, zod, the HTTP wrapper, the logger.
 * POST /staff-approval-requests (a caller filing about themself), for the
 * throughput part, takes the same transaction-scoped insert lock as the service.
 */
import { createHmac, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import { jwtVerify } from 'jose/jwt/verify';
import pg from 'pg';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BENCH_JWT_SECRET, BENCH_PEPPER } from './lib/events';

export interface FloorSettings {
  jwtSecret: string;
  pepper: string;
  codeLength: number;
  ttlSeconds: number;
  maxAttempts: number;
  cooldownSeconds: number;
  maxPerHour: number;
  maxPerDestinationPerHour: number;
  /** Wrong codes per user and channel in 24 hours before sends and verifies stop. */
  maxFailedPerDay: number;
  /** Pending staff approval requests about one user (the bounded queue). */
  maxPendingPerUser: number;
}

/** The limits of functionEnv (bench/lib/events.ts), for the floor. */
export const BENCH_FLOOR_SETTINGS: FloorSettings = {
  jwtSecret: BENCH_JWT_SECRET,
  pepper: BENCH_PEPPER,
  codeLength: 6,
  ttlSeconds: 600,
  maxAttempts: 5,
  cooldownSeconds: 0,
  maxPerHour: 1000,
  maxPerDestinationPerHour: 10000,
  maxFailedPerDay: 20,
  maxPendingPerUser: 1000,
};

interface Reply {
  statusCode: number;
  body: string;
}

const reply = (statusCode: number, body: unknown): Reply => ({
  statusCode,
  body: JSON.stringify(body),
});
const fail = (statusCode: number, code: string) => reply(statusCode, { error: { code } });

const LOCK = `SELECT email, phone, verification_status FROM users WHERE id = $1 FOR NO KEY UPDATE`;

// Counts in a new snapshot (after the lock); supersede and insert only when allowed.
export const SEND = `
  WITH u AS (
    SELECT count(*)::int AS n, max(created_at) AS last, min(created_at) AS first
    FROM verification_codes
    WHERE user_id = $1 AND channel = $2 AND created_at > $4::timestamptz - interval '1 hour'
  ), d AS (
    SELECT count(*)::int AS n, min(created_at) AS first FROM verification_codes
    WHERE destination = $3 AND created_at > $4::timestamptz - interval '1 hour'
  ), f AS (
    SELECT coalesce(sum(attempts), 0)::int AS n FROM verification_codes
    WHERE user_id = $1 AND channel = $2 AND attempts > 0
      AND created_at > $4::timestamptz - interval '24 hours'
  ), ok AS (
    SELECT (u.last IS NULL OR u.last <= $4::timestamptz - make_interval(secs => $5::int))
           AND u.n < $6::int AND d.n < $7::int AND f.n < $12::int AS allowed FROM u, d, f
  ), s AS (
    UPDATE verification_codes SET superseded_at = $4
    WHERE user_id = $1 AND channel = $2 AND consumed_at IS NULL AND superseded_at IS NULL
      AND (SELECT allowed FROM ok)
    RETURNING 1
  ), i AS (
    INSERT INTO verification_codes
      (id, user_id, channel, destination, code_hash, max_attempts, expires_at, created_at)
    SELECT $8::uuid, $1, $2, $3, $9, $10::int, $11::timestamptz, $4::timestamptz FROM ok
    WHERE allowed AND (SELECT count(*) FROM s) >= 0
    RETURNING 1
  ), e AS (
    -- As the handler writes it: code_sent has no outbox row.
    INSERT INTO verification_events (user_id, actor_id, type, channel, details, created_at)
    SELECT $1, NULL, 'code_sent', $2, $13::jsonb, $4::timestamptz FROM i
    RETURNING 1
  )
  SELECT ok.allowed, u.n AS user_n, u.first AS user_first, d.n AS dest_n, d.first AS dest_first,
         (SELECT count(*) FROM e) AS recorded
  FROM ok, u, d`;

const READ = `
  SELECT u.email, u.phone, c.id, c.destination, c.code_hash, c.attempts, c.max_attempts,
         c.expires_at,
         (SELECT coalesce(sum(attempts), 0)::int FROM verification_codes
          WHERE user_id = $1 AND channel = $2 AND attempts > 0
            AND created_at > $3::timestamptz - interval '24 hours') AS failed
  FROM users u
  LEFT JOIN verification_codes c ON c.user_id = u.id AND c.channel = $2
   AND c.consumed_at IS NULL AND c.superseded_at IS NULL
  WHERE u.id = $1`;

// Consume, lock the user, move the status, and record code_verified and (when
// it moved) status_changed with its outbox row, as the service does.
const CONSUME = `
  WITH c AS (
    UPDATE verification_codes SET consumed_at = $2::timestamptz
    WHERE id = $1 AND consumed_at IS NULL AND superseded_at IS NULL
      AND attempts < max_attempts AND expires_at > $2::timestamptz
    RETURNING user_id, channel, destination
  ), l AS (
    SELECT id, verification_status AS before FROM users
    WHERE id = (SELECT user_id FROM c) FOR NO KEY UPDATE
  ), up AS (
    UPDATE users u SET updated_at = $2::timestamptz,
      verification_status = CASE
        WHEN l.before IN ($3::enum_users_verification_status, 'verified') THEN 'verified'
        ELSE $4::enum_users_verification_status END
    FROM c, l
    WHERE u.id = c.user_id AND l.id = u.id
      AND (CASE c.channel WHEN 'email' THEN u.email ELSE u.phone END) = c.destination
    RETURNING l.before, u.verification_status, c.channel
  )
  SELECT verification_status,
         EXISTS (SELECT 1 FROM verification_event_outbox
                 WHERE user_id = $5 AND published_at IS NULL) AS older_pending,
         verification_record_event($5::int, NULL::int, 'code_verified', channel::text,
           jsonb_build_object('codeId', $1::text), $2::timestamptz) AS verified_event,
         CASE WHEN before <> verification_status THEN verification_record_event($5::int,
           NULL::int, 'status_changed', channel::text,
           jsonb_build_object('from', before, 'to', verification_status, 'cause', 'code'),
           $2::timestamptz) END AS status_event
  FROM up`;

const MARK_PUBLISHED = `
  UPDATE verification_event_outbox SET published_at = $2::timestamptz
  WHERE event_id = ANY($1::bigint[]) AND published_at IS NULL`;

const ATTEMPT = `
  UPDATE verification_codes SET attempts = attempts + 1
  WHERE id = $1 AND consumed_at IS NULL AND superseded_at IS NULL
    AND attempts < max_attempts AND expires_at > $2::timestamptz
  RETURNING attempts, max_attempts`;

// The service's insert lock and bounded waits (lib/staffApprovals/create.ts),
// with the caller's user row (the handler authenticates by it) read before the
// lock: one round trip, the user id written in.
const INSERT_LOCK_KEY = 742_001_113;
const createBegin = (userId: number) => `BEGIN;
  SELECT set_config('lock_timeout', '5000', true),
         set_config('idle_in_transaction_session_timeout', '10000', true);
  SELECT role FROM users WHERE id = ${Number(userId)};
  SELECT pg_advisory_xact_lock(${INSERT_LOCK_KEY})`;

// Under the lock: the row after every committed one (created_at), only while the
// user's pending queue has room, and its approval_requested event with the
// outbox row; older_pending reads the snapshot before this statement's own row.
const CREATE = `
  WITH r AS (
    INSERT INTO staff_approval_requests
      (id, user_id, requested_by, request_type, details, status, created_at, updated_at)
    SELECT gen_random_uuid(), $1, $1, $2, $3::jsonb, 'pending', t.at, t.at
    FROM (SELECT GREATEST($4::timestamptz,
            (SELECT max(created_at) + interval '1 microsecond' FROM staff_approval_requests)) AS at) t
    WHERE (SELECT count(*) FROM staff_approval_requests
           WHERE user_id = $1 AND status = 'pending') < $5::int
    RETURNING id, user_id, requested_by, request_type, details, status, created_at, updated_at
  )
  SELECT r.*,
         EXISTS (SELECT 1 FROM verification_event_outbox
                 WHERE user_id = $1 AND published_at IS NULL) AS older_pending,
         verification_record_event($1::int, NULL::int, 'approval_requested', NULL::text,
           jsonb_build_object('requestId', r.id, 'requestType', r.request_type),
           $4::timestamptz) AS message
  FROM r`;

const REQUEST_TYPE = /^[a-z][a-z0-9_]{2,63}$/;

function hmac(pepper: string, parts: (string | number)[]): string {
  return createHmac('sha256', pepper)
    .update(['v1', ...parts].join('\n'))
    .digest('hex');
}

function mask(channel: string, destination: string): string {
  if (channel === 'email') {
    const at = destination.lastIndexOf('@');
    return `${destination[0]}***${destination.slice(at)}`;
  }
  const digits = destination.replace(/\D/g, '');
  return `+${'*'.repeat(Math.max(digits.length - 4, 0))}${digits.slice(-4)}`;
}

export class Floor {
  private readonly key: Uint8Array;

  constructor(
    private readonly client: pg.Client,
    private readonly settings: FloorSettings,
  ) {
    this.key = new TextEncoder().encode(settings.jwtSecret);
  }

  private async userId(event: APIGatewayProxyEventV2): Promise<number | undefined> {
    const token = /^Bearer\s+(\S+)$/i.exec(event.headers.authorization ?? '')?.[1];
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const id = Number(payload.sub);
      return Number.isInteger(id) && id > 0 ? id : undefined;
    } catch {
      return undefined;
    }
  }

  private body(event: APIGatewayProxyEventV2): Record<string, unknown> | undefined {
    try {
      const parsed: unknown = JSON.parse(event.body ?? '');
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  async issue(event: APIGatewayProxyEventV2): Promise<Reply> {
    const userId = await this.userId(event);
    if (!userId) return fail(401, 'unauthorized');
    const channel = this.body(event)?.channel;
    if (channel !== 'email' && channel !== 'phone') return fail(400, 'invalid_request');
    const s = this.settings;
    const now = new Date();
    const id = randomUUID();
    const code = String(randomInt(0, 10 ** s.codeLength)).padStart(s.codeLength, '0');
    const expiresAt = new Date(now.getTime() + s.ttlSeconds * 1000);
    const c = this.client;
    try {
      // BEGIN and the lock in one round trip (simple protocol, the id written in).
      const begun = (await c.query(
        `BEGIN; ${LOCK.replace('$1', String(Number(userId)))}`,
      )) as unknown as pg.QueryResult[];
      const user = begun[1]?.rows[0];
      if (!user) return await this.rollback(fail(401, 'unauthorized'));
      const status: string = user.verification_status;
      if (status === 'verified' || status === `${channel}_verified`) {
        return await this.rollback(fail(409, 'already_verified'));
      }
      // Limits count, and codes bind to, the lowercased email (as the service does).
      const destination: string | null =
        channel === 'email' ? (user.email?.toLowerCase() ?? null) : user.phone;
      if (!destination) return await this.rollback(fail(422, 'no_destination'));
      const hash = hmac(s.pepper, [id, userId, channel, destination, code]);
      const row = (
        await c.query(SEND, [
          userId,
          channel,
          destination,
          now.toISOString(),
          s.cooldownSeconds,
          s.maxPerHour,
          s.maxPerDestinationPerHour,
          id,
          hash,
          s.maxAttempts,
          expiresAt.toISOString(),
          s.maxFailedPerDay,
          JSON.stringify({ codeId: id, destination: mask(channel, destination), locale: 'en' }),
        ])
      ).rows[0];
      if (!row.allowed) return await this.rollback(fail(429, 'rate_limited'));
      await c.query('COMMIT');
      // The next send: after the cooldown, or when the oldest send of a full window ages out.
      let next = now.getTime() + s.cooldownSeconds * 1000;
      if (row.user_n + 1 >= s.maxPerHour) {
        next = Math.max(next, (row.user_first ?? now).getTime() + 3600_000);
      }
      if (row.dest_n + 1 >= s.maxPerDestinationPerHour) {
        next = Math.max(next, (row.dest_first ?? now).getTime() + 3600_000);
      }
      return reply(201, {
        id,
        channel,
        destination: mask(channel, destination),
        expiresAt: expiresAt.toISOString(),
        resendAvailableAt: new Date(next).toISOString(),
      });
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  private async rollback(r: Reply): Promise<Reply> {
    await this.client.query('ROLLBACK');
    return r;
  }

  /** POST /staff-approval-requests about the caller themself (no userId in the body). */
  async create(event: APIGatewayProxyEventV2): Promise<Reply> {
    const userId = await this.userId(event);
    if (!userId) return fail(401, 'unauthorized');
    const body = this.body(event);
    const requestType = body?.requestType;
    const details = body?.details ?? {};
    if (typeof requestType !== 'string' || !REQUEST_TYPE.test(requestType)) {
      return fail(400, 'invalid_request');
    }
    if (typeof details !== 'object' || details === null || Array.isArray(details)) {
      return fail(400, 'invalid_request');
    }
    const now = new Date();
    const c = this.client;
    try {
      const begun = (await c.query(createBegin(userId))) as unknown as pg.QueryResult[];
      if (!begun[2]?.rows[0]) return await this.rollback(fail(401, 'unauthorized'));
      const row = (
        await c.query(CREATE, [
          userId,
          requestType,
          JSON.stringify(details),
          now.toISOString(),
          this.settings.maxPendingPerUser,
        ])
      ).rows[0];
      if (!row) return await this.rollback(fail(409, 'too_many_pending'));
      await c.query('COMMIT');
      // Published right after the commit (a log line at the bench's log level:
      // nothing printed), then marked, as the service does.
      const message = row.message as { detail: { eventId: string } } | null;
      if (message && !row.older_pending) {
        await c.query(MARK_PUBLISHED, [[message.detail.eventId], now.toISOString()]);
      }
      return reply(201, {
        id: row.id,
        userId: row.user_id,
        requestedBy: row.requested_by,
        requestType: row.request_type,
        details: row.details,
        status: row.status,
        reviewedBy: null,
        reviewedAt: null,
        reviewNote: null,
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
      });
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      if ((err as { code?: string }).code === '55P03') return fail(503, 'service_unavailable');
      throw err;
    }
  }

  async verify(event: APIGatewayProxyEventV2): Promise<Reply> {
    const userId = await this.userId(event);
    if (!userId) return fail(401, 'unauthorized');
    const body = this.body(event);
    const channel = body?.channel;
    const code = body?.code;
    if ((channel !== 'email' && channel !== 'phone') || typeof code !== 'string') {
      return fail(400, 'invalid_request');
    }
    if (code.length !== this.settings.codeLength || !/^\d+$/.test(code)) {
      return fail(400, 'invalid_request');
    }
    const now = new Date();
    const row = (await this.client.query(READ, [userId, channel, new Date().toISOString()]))
      .rows[0];
    if (!row) return fail(401, 'unauthorized');
    if (row.failed >= this.settings.maxFailedPerDay) return fail(429, 'too_many_attempts');
    const current = channel === 'email' ? row.email?.toLowerCase() : row.phone;
    if (!row.id || row.destination !== current) return fail(404, 'no_active_code');
    if (row.expires_at.getTime() <= now.getTime()) return fail(410, 'code_expired');
    if (row.attempts >= row.max_attempts) return fail(429, 'too_many_attempts');
    const expected = Buffer.from(row.code_hash);
    const actual = Buffer.from(
      hmac(this.settings.pepper, [row.id, userId, channel, row.destination, code]),
    );
    if (expected.length === actual.length && timingSafeEqual(expected, actual)) {
      const other = channel === 'email' ? 'phone' : 'email';
      const done = await this.client.query(CONSUME, [
        row.id,
        now.toISOString(),
        `${other}_verified`,
        `${channel}_verified`,
        userId,
      ]);
      if (!done.rows[0]) return fail(404, 'no_active_code');
      const status = done.rows[0].verification_status as string;
      // The status change goes out right after the commit (a log line at the
      // bench's log level: nothing printed), then is marked published.
      const event = done.rows[0].status_event as { detail: { eventId: string } } | null;
      if (event && !done.rows[0].older_pending) {
        await this.client.query(MARK_PUBLISHED, [[event.detail.eventId], now.toISOString()]);
      }
      return reply(200, {
        verified: true,
        verification: {
          userId,
          status,
          isPhoneVerified: status === 'verified' || status === 'phone_verified',
          isEmailVerified: status === 'verified' || status === 'email_verified',
          isFullyVerified: status === 'verified',
        },
      });
    }
    const counted = (await this.client.query(ATTEMPT, [row.id, now.toISOString()])).rows[0];
    if (!counted) return fail(404, 'no_active_code');
    const remaining = counted.max_attempts - counted.attempts;
    return remaining <= 0
      ? fail(429, 'too_many_attempts')
      : reply(422, { error: { code: 'invalid_code', attemptsRemaining: remaining } });
  }
}
