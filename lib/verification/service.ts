import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import {
  Channel,
  isChannelVerified,
  VerificationInfo,
  verificationInfoOf,
  VerificationStatus,
  withChannelVerified,
} from '../../models/verification';
import {
  inlineValues,
  inTransaction,
  type SqlPool,
  type TransactionSession,
  withSession,
} from '../sql';
import {
  answerFromPrior,
  keyInUse,
  type IdempotentRequest,
  type StoredAnswer,
} from '../idempotency/request';
import {
  claimCte,
  DELIVERED_SQL,
  insertAnswerLiteral,
  priorColumns,
  priorOf,
  settlePrior,
  type PriorColumns,
} from '../idempotency/store';
import { messageLocale } from '../delivery/messages';
import type { EventPublisher, OutboxMessage } from '../events/types';
import type { CodeSender } from '../delivery/types';
import { AppError, badRequest, errorAnswerOf, notFound, unauthorized } from '../errors';
import { type Caller, canReadVerification } from '../policies';
import { maskDestination } from '../logger';
import type { VerificationMetrics } from '../metrics';
import {
  codeMatches,
  generateCode,
  hashCode,
  failedAttemptsLockedUntil,
  HOUR_MS,
  isWellFormedCode,
  nextSendAfterSend,
  nextSendAllowedAt,
  retryAfterSeconds,
} from './codes';
import { sendTarget, storedFormOf } from './destination';
import type { VerificationSettings } from './settings';
import { countryBudget } from './abuseSettings';
import { recordSendRefusal } from './refusals';

export interface ServiceLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
}

/**
 * What the verification service needs; tests pass their own clock and sender.
 * Its statements run on connections of `sql`: the `pg` pool of the send and
 * verify functions (lib/pgDatabase.ts), or Sequelize's (lib/db.ts).
 */
export interface VerificationDeps {
  sql: SqlPool;
  now: () => Date;
  sender: CodeSender;
  settings: VerificationSettings;
  logger?: ServiceLogger;
  /** Publishes a status change right after its commit (else the scheduled publisher does). */
  events?: EventPublisher;
  /** Sends, refusals, deliveries and checks, as CloudWatch metrics. */
  metrics?: VerificationMetrics;
}

/** What checking a code needs: no sender. */
export type VerifyDeps = Omit<VerificationDeps, 'sender'>;

export interface IssuedCode {
  id: string;
  channel: Channel;
  destination: string;
  expiresAt: string;
  resendAvailableAt: string;
  /** The locale the message was written in. */
  locale: string;
}

/** What a send knows about its request beyond the caller and channel. */
export interface SendRequest {
  /** API Gateway's requestContext.http.sourceIp (never a forwarded header). */
  sourceIp?: string | undefined;
  /** The request's Idempotency-Key, if it has one. */
  idempotency?: IdempotentRequest | undefined;
  /** The body's `locale` (a well-formed BCP 47 tag). */
  locale?: string | undefined;
  /** The `Accept-Language` header. */
  acceptLanguage?: string | undefined;
  /** Milliseconds before the function is stopped (the Lambda context's), when known. */
  timeLeftMs?: (() => number | undefined) | undefined;
}

/**
 * Time kept back from delivery for what follows it: retiring the code when
 * delivery failed, and answering.
 */
export const AFTER_DELIVERY_RESERVE_MS = 1000;

export interface VerifyResult {
  verified: true;
  verification: VerificationInfo;
}

const unknownUser = () => unauthorized('The token names an unknown user');
const noActiveCode = () => new AppError('no_active_code');
const tooManyAttempts = () =>
  new AppError('too_many_attempts', undefined, { details: { attemptsRemaining: 0 } });

function destinationOf(user: { email: string | null; phone: string | null }, channel: Channel) {
  return channel === 'email' ? user.email : user.phone;
}

// The user row is locked (FOR NO KEY UPDATE) for the rest of the transaction:
// sends for one user are serialised, and the user's addresses cannot change
// meanwhile. Because users.email and users.phone are unique, no other user can
// hold the same address at the same time, so sends to one destination are
// serialised too, and the counts read by ISSUE_SQL (a new statement, hence a new
// snapshot under READ COMMITTED) cannot be outdated by a concurrent send.
export const LOCK_USER_SQL = `
  SELECT id, email, phone, verification_status AS status
  FROM users WHERE id = $1
  FOR NO KEY UPDATE`;

/**
 * LOCK_USER_SQL with the request's Idempotency-Key ($2 route, $3 key), so a
 * repeat is answered before any check. When this statement waited for the
 * lock, the key's row may be newer than what it reads: ISSUE_SQL reads it again.
 */
export const LOCK_USER_KEYED_SQL = `
  SELECT u.id, u.email, u.phone, u.verification_status AS status, ${priorColumns('p')}
  FROM users u
  LEFT JOIN idempotency_keys p ON p.user_id = u.id AND p.route = $2 AND p.key = $3
  WHERE u.id = $1
  FOR NO KEY UPDATE OF u`;

/**
 * Wrong codes for one user and channel in the last 24 hours (the daily cap):
 * `n` tries in total, and per code that took any, its expiry plus 24 hours as
 * ms epoch and its tries. A try is dated by its code's expiry, never earlier
 * than the try itself, so the cap never lifts early. The created_at bound (the
 * longest code lifetime, 600 s, before the expiry bound) keeps it a range scan
 * of verification_codes_user_channel_created_idx.
 */
const FAILED_ATTEMPTS_CTE = (
  user: string,
  channel: string,
  now: string,
  // The send's decision needs the sum alone; its refusal, the tries per code.
  columns: 'sum' | 'sum and failures' = 'sum and failures',
) => `failed AS (
    SELECT coalesce(sum(attempts), 0)::int AS n${
      columns === 'sum'
        ? ''
        : `,
           coalesce(json_agg(json_build_array(
             (extract(epoch FROM expires_at + interval '24 hours') * 1000)::float8, attempts))
             FILTER (WHERE attempts > 0), '[]') AS failures`
    }
    FROM verification_codes
    WHERE user_id = ${user} AND channel = ${channel}
      AND created_at > ${now}::timestamptz - interval '24 hours 10 minutes'
      AND expires_at > ${now}::timestamptz - interval '24 hours' AND attempts > 0
  )`;

/**
 * What a refused send's answer needs (its Retry-After, and which limit): the
 * times of the user's and the destination's sends in the window and the
 * wrong tries of the daily cap. Read only when ISSUE_SQL refused, in the same
 * transaction with the user still locked (so by the same counts): an allowed
 * send needs only the counts and oldest times that ISSUE_SQL returns.
 * $1 user, $2 channel, $3 destination, $4 now.
 */
export const REFUSAL_SQL = `
  WITH ${FAILED_ATTEMPTS_CTE('$1', '$2', '$4')}
  SELECT (SELECT coalesce(array_agg((extract(epoch FROM created_at) * 1000)::float8
                                    ORDER BY created_at), '{}')
          FROM verification_codes
          WHERE user_id = $1 AND channel = $2
            AND created_at > $4::timestamptz - interval '1 hour') AS user_times,
         (SELECT coalesce(array_agg((extract(epoch FROM created_at) * 1000)::float8
                                    ORDER BY created_at), '{}')
          FROM verification_codes
          WHERE destination = $3 AND created_at > $4::timestamptz - interval '1 hour') AS destination_times,
         f.failures
  FROM failed f`;

// One statement: read the sliding-window counts, and only if every limit allows
// it, supersede the active code and insert the new one. Referencing
// "superseded" from the INSERT makes the UPDATE run first, so the partial unique
// index (one active code per user and channel) never sees two active rows.
//
// Planning it is most of its cost (the statement is planned on every send:
// named prepared statements would pin connections behind RDS Proxy), and
// planning grows with each CTE and each relation a SELECT joins: `decision`
// carries everything the answer needs, so the last SELECT reads it alone, and
// a limit that is unset adds nothing but its parameter.
/** The parts of ISSUE_SQL that count one optional limit, or what stands in when it is unset. */
const LIMIT_PARTS = {
  ip: {
    on: {
      cte: `, ip_sends AS (
    SELECT count(*)::int AS n FROM verification_codes
    WHERE $14::int IS NOT NULL
      AND source_ip <<= network(set_masklen($13::inet, CASE family($13::inet) WHEN 6 THEN 64 ELSE 32 END))
      AND created_at > $4::timestamptz - interval '1 hour'
  )`,
      allowed: `($14::int IS NULL OR i.n < $14::int)`,
      carried: `, i.n AS ip_n`,
      from: `, ip_sends i`,
      oldest: `         CASE WHEN d.ip_n >= $14::int THEN (
           SELECT (extract(epoch FROM created_at) * 1000)::float8 FROM verification_codes
           WHERE source_ip <<= network(set_masklen($13::inet, CASE family($13::inet) WHEN 6 THEN 64 ELSE 32 END))
             AND created_at > $4::timestamptz - interval '1 hour'
           ORDER BY created_at OFFSET d.ip_n - $14::int LIMIT 1) END AS ip_oldest,
`,
    },
    off: {
      cte: '',
      // Nothing counted: a limit given anyway is not reached.
      allowed: `($14::int IS NULL OR 0 < $14::int)`,
      carried: '',
      from: '',
      oldest: `         NULL::float8 AS ip_oldest,
`,
    },
  },
  country: {
    on: {
      cte: `, country_sends AS (
    SELECT count(*)::int AS n FROM verification_codes
    WHERE $15::int IS NOT NULL AND destination_country = $12::char(2)
      AND created_at > $4::timestamptz - interval '1 hour'
  )`,
      allowed: `($15::int IS NULL OR c.n < $15::int)`,
      carried: `, c.n AS country_n`,
      from: `, country_sends c`,
      oldest: `         CASE WHEN d.country_n >= $15::int THEN (
           SELECT (extract(epoch FROM created_at) * 1000)::float8 FROM verification_codes
           WHERE destination_country = $12::char(2)
             AND created_at > $4::timestamptz - interval '1 hour'
           ORDER BY created_at OFFSET d.country_n - $15::int LIMIT 1) END AS country_oldest
`,
    },
    off: {
      cte: '',
      allowed: `($15::int IS NULL OR 0 < $15::int)`,
      carried: '',
      from: '',
      oldest: `         NULL::float8 AS country_oldest
`,
    },
  },
};

/**
 * The Idempotency-Key parts of ISSUE_SQL ($18 route, $19 key): the key's row
 * as it is once the user is locked (every earlier keyed send of this user has
 * committed by then). A live row refuses the send; an expired one is deleted.
 */
const KEYED_PARTS = {
  on: {
    cte: `, prior AS (
    SELECT * FROM idempotency_keys
    WHERE user_id = $1 AND route = $18 AND key = $19 AND expires_at > $4::timestamptz
  ), expired AS (
    DELETE FROM idempotency_keys
    WHERE user_id = $1 AND route = $18 AND key = $19 AND expires_at <= $4::timestamptz
  )`,
    allowed: `
           AND NOT EXISTS (SELECT 1 FROM prior)`,
    columns: `,
         ${priorColumns('p')}
`,
    join: ` LEFT JOIN prior p ON true`,
  },
  off: { cte: '', allowed: '', columns: '', join: '' },
};

const issueStatements = new Map<string, string>();

/**
 * ISSUE_SQL for the limits that apply to a send: the address and country
 * counts are left out of the statement when their limit is unset (a send pays
 * only for the limits it has: planning them cost about 0.8 ms a send). The
 * parameters are the same in every variant.
 */
export function issueSql(limits: { ip: boolean; country: boolean; keyed?: boolean }): string {
  const key = `${limits.ip}/${limits.country}/${limits.keyed === true}`;
  let text = issueStatements.get(key);
  if (text === undefined) {
    const ip = limits.ip ? LIMIT_PARTS.ip.on : LIMIT_PARTS.ip.off;
    const country = limits.country ? LIMIT_PARTS.country.on : LIMIT_PARTS.country.off;
    const keyed = limits.keyed ? KEYED_PARTS.on : KEYED_PARTS.off;
    text = `
  WITH user_sends AS (
    SELECT count(*)::int AS n, max(created_at) AS last,
           (extract(epoch FROM min(created_at)) * 1000)::float8 AS oldest
    FROM verification_codes
    WHERE user_id = $1 AND channel = $2 AND created_at > $4::timestamptz - interval '1 hour'
  ), destination_sends AS (
    SELECT count(*)::int AS n, (extract(epoch FROM min(created_at)) * 1000)::float8 AS oldest
    FROM verification_codes
    WHERE destination = $3 AND created_at > $4::timestamptz - interval '1 hour'
  )${ip.cte}${country.cte}, ${FAILED_ATTEMPTS_CTE('$1', '$2', '$4', 'sum')}${keyed.cte}, decision AS (
    SELECT (u.last IS NULL OR u.last <= $4::timestamptz - make_interval(secs => $5::int))
           AND u.n < $6::int AND d.n < $7::int AND f.n < $16::int
           AND ${ip.allowed}
           AND ${country.allowed}${keyed.allowed} AS allowed,
           u.n AS user_n, u.oldest AS user_oldest, d.n AS destination_n,
           d.oldest AS destination_oldest${ip.carried}${country.carried}
    FROM user_sends u, destination_sends d, failed f${ip.from}${country.from}
  ), superseded AS (
    UPDATE verification_codes SET superseded_at = $4
    WHERE user_id = $1 AND channel = $2 AND consumed_at IS NULL AND superseded_at IS NULL
      AND (SELECT allowed FROM decision)
    RETURNING id
  ), inserted AS (
    INSERT INTO verification_codes
      (id, user_id, channel, destination, code_hash, attempts, max_attempts, expires_at, created_at,
       destination_country, source_ip)
    SELECT $8::uuid, $1, $2, $3, $9, 0, $10::int, $11::timestamptz, $4::timestamptz,
           $12::char(2), $13::inet
    FROM decision
    WHERE allowed AND (SELECT count(*) FROM superseded) >= 0
    RETURNING id
  ), sent_event AS (
    -- The one event written without verification_record_event(): code_sent
    -- has no outbox row (that function's choice, pinned by a test in
    -- test/integration/events.test.ts), and calling PL/pgSQL costs a new
    -- server connection about 4 ms (loading the language, planning the
    -- function's statements) on the first send of a container.
    INSERT INTO verification_events (user_id, actor_id, type, channel, details, created_at)
    SELECT $1, NULL, 'code_sent', $2, $17::jsonb, $4::timestamptz
    FROM inserted
    RETURNING id
  )
  -- One event per inserted code: counting the events counts the inserts.
  SELECT d.allowed, d.user_n, d.user_oldest, d.destination_n, d.destination_oldest,
         (SELECT count(*)::int FROM sent_event) AS inserted,
         -- Over a limit of m with n sends counted, the (n - m + 1)-th oldest must
         -- leave the window: read (index order) only when it is needed.
${ip.oldest}${country.oldest}${keyed.columns}  FROM decision d${keyed.join}`;
    issueStatements.set(key, text);
  }
  return text;
}

/** The send's statement with every limit counted (for EXPLAIN and tests). */
export const ISSUE_SQL = issueSql({ ip: true, country: true });

/**
 * The 429 of a refused send, in the order of the contract: the user and
 * destination limits, then the client address (both `rate_limited`), then the
 * country budget (`country_rate_limited`). Retry-After is when every limit of
 * that answer allows a send again.
 */
function limitError(
  now: number,
  userTimes: number[],
  destinationTimes: number[],
  row: IssueRow,
  country: string | null,
  settings: VerificationSettings,
): AppError {
  const limit = nextSendAllowedAt(now, userTimes, destinationTimes, settings);
  const ipFreeAt = row.ip_oldest === null ? undefined : Number(row.ip_oldest) + HOUR_MS;
  if (limit.reason !== undefined || ipFreeAt !== undefined || row.country_oldest === null) {
    const reason = limit.reason ?? (ipFreeAt !== undefined ? 'ip' : 'cooldown');
    const seconds = retryAfterSeconds(now, Math.max(limit.at, ipFreeAt ?? now));
    return new AppError('rate_limited', undefined, {
      details: { reason, retryAfterSeconds: seconds },
      retryAfterSeconds: seconds,
    });
  }
  const seconds = retryAfterSeconds(now, Number(row.country_oldest) + HOUR_MS);
  return new AppError('country_rate_limited', undefined, {
    details: { country, retryAfterSeconds: seconds },
    retryAfterSeconds: seconds,
  });
}

// Sends by different users to one country, or from one client address, are
// not serialised by the user lock. When a country budget or an address limit
// applies, these transaction-scoped advisory locks serialise them (taken in key
// order, so two sends never wait for each other), before ISSUE_SQL takes its
// snapshot: its counts then include every send that held the lock before.
export const LOCK_BUDGETS_SQL = `
  SELECT count(pg_advisory_xact_lock(hashtext('verification-send-budget'), hashtext(k)))::int AS n
  FROM (SELECT k FROM unnest(ARRAY[
          CASE WHEN $1::int IS NOT NULL THEN 'country:' || $2::text END,
          CASE WHEN $3::int IS NOT NULL THEN 'ip:' || network(set_masklen($4::inet,
               CASE family($4::inet) WHEN 6 THEN 64 ELSE 32 END))::text END]) AS k
        WHERE k IS NOT NULL ORDER BY k) keys`;

/**
 * A failed delivery: the new code must not stay usable (it still counts toward
 * the caps, and the code it superseded stays superseded), and the failure is
 * recorded (`code_delivery_failed`). $1 code id, $2 now, $3 user id, $4
 * channel; with an Idempotency-Key also $5 route, $6 key, $7 claim id: the key
 * is given up in the same statement (a 502 is not stored).
 */
function retireSql(keyed: boolean): string {
  return `
  WITH retired AS (
    UPDATE verification_codes SET superseded_at = $2::timestamptz
    WHERE id = $1 AND consumed_at IS NULL AND superseded_at IS NULL
  )${
    keyed
      ? `, released AS (
    DELETE FROM idempotency_keys
    WHERE user_id = $3 AND route = $5 AND key = $6 AND claim_id = $7::uuid
  )`
      : ''
  }
  SELECT verification_record_event($3::int, NULL::int, 'code_delivery_failed', $4::text,
    jsonb_build_object('codeId', $1::text), $2::timestamptz) AS failed_event`;
}

const RETIRE_SQL = retireSql(false);
const RETIRE_KEYED_SQL = retireSql(true);

interface LockedUser extends Partial<PriorColumns> {
  id: number;
  email: string | null;
  phone: string | null;
  status: VerificationStatus;
}

interface IssueRow extends Partial<PriorColumns> {
  allowed: boolean;
  /** Sends in the window before this one, and the oldest (epoch ms; null: none). */
  user_n: number;
  user_oldest: number | null;
  destination_n: number;
  destination_oldest: number | null;
  inserted: number;
  /** Epoch ms of the send whose leaving the window frees the address limit; null: not over it. */
  ip_oldest: number | null;
  /** The same for the country budget. */
  country_oldest: number | null;
}

/** A row of REFUSAL_SQL. */
interface RefusalRow {
  user_times: number[];
  destination_times: number[];
  failures: [number, number][];
}

const numberOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

/** The 429 of the daily cap of wrong codes, if it holds. */
function dailyCapError(
  failures: [number, number][],
  settings: VerificationSettings,
  now: Date,
): AppError | undefined {
  const until = failedAttemptsLockedUntil(
    failures.map(([at, attempts]) => ({ until: Number(at), attempts: Number(attempts) })),
    settings.maxFailedAttemptsPerDay,
  );
  if (until === undefined) return undefined;
  const seconds = retryAfterSeconds(now.getTime(), until);
  return new AppError(
    'too_many_attempts',
    'Too many wrong codes for this channel in the last 24 hours; try again later',
    {
      details: { reason: 'daily_failed_attempts', retryAfterSeconds: seconds },
      retryAfterSeconds: seconds,
    },
  );
}

/**
 * Sends a new code for `channel` to the user's current address (POST
 * /verification/codes). Three round trips: BEGIN with the lock on the user,
 * check limits and write, COMMIT; then the delivery. A fourth
 * (LOCK_BUDGETS_SQL) when a country budget or a client-address limit applies.
 * A refused send reads its Retry-After's times (REFUSAL_SQL) before it rolls back.
 *
 * With an Idempotency-Key: the key is read with the user lock and again by
 * the checking statement; the answer is inserted (`delivering`) with the
 * COMMIT in one round trip, and marked `done` once the code is delivered:
 * one round trip more. A failed delivery gives the key up with the code.
 */
export async function issueCode(
  deps: VerificationDeps,
  userId: number,
  channel: Channel,
  request: SendRequest = {},
): Promise<IssuedCode> {
  const { settings, sql: pool } = deps;
  const idem = request.idempotency;
  const id = randomUUID();
  const code = generateCode(settings.codeLength);
  const locale = messageLocale(
    { requested: request.locale, acceptLanguage: request.acceptLanguage },
    settings.delivery.messages.defaultLocale,
  );

  const issued = await inTransaction(pool, async (sql) => {
    // BEGIN and the lock in one round trip.
    const [user] = await sql.beginWith<LockedUser>(
      idem
        ? inlineValues(LOCK_USER_KEYED_SQL, [userId, idem.route, idem.key])
        : inlineValues(LOCK_USER_SQL, [userId]),
    );
    if (!user) throw unknownUser();
    // The clock is read once the user is locked: a send that waited for the
    // lock is judged by a time after the send that held it, whose row it sees.
    const now = deps.now();
    if (idem) {
      const prior = priorOf(user as PriorColumns, now);
      if (prior) answerFromPrior(idem, prior, now);
    }
    const expiresAt = new Date(now.getTime() + settings.codeTtlSeconds * 1000);
    if (isChannelVerified(user.status, channel)) {
      throw new AppError('already_verified', `The ${channel} is already verified`);
    }
    const address = destinationOf(user, channel);
    if (!address) {
      throw new AppError('no_destination', `The user has no ${channel} to send a code to`);
    }
    // Limits count, and codes bind to, the address in its stored form (E.164, lowercased email).
    const { destination, country } = sendTarget(channel, address, settings.abuse);
    const sourceIp = request.sourceIp && isIP(request.sourceIp) ? request.sourceIp : null;
    const ipLimit = sourceIp === null ? null : (settings.abuse.maxSendsPerIpPerHour ?? null);
    const budget =
      country === null ? null : (countryBudget(settings.abuse.countryBudgets, country) ?? null);
    if (budget !== null || ipLimit !== null) {
      await sql.rows(LOCK_BUDGETS_SQL, [budget, country, ipLimit, sourceIp]);
    }
    const values: unknown[] = [
      userId,
      channel,
      destination,
      now.toISOString(),
      settings.sendCooldownSeconds,
      settings.maxSendsPerHour,
      settings.maxSendsPerDestinationPerHour,
      id,
      hashCode(settings.pepper, { id, userId, channel, destination }, code),
      settings.maxAttempts,
      expiresAt.toISOString(),
      country,
      sourceIp,
      ipLimit,
      budget,
      settings.maxFailedAttemptsPerDay,
      // The event records the masked address only.
      JSON.stringify({ codeId: id, destination: maskDestination(channel, address), locale }),
    ];
    if (idem) values.push(idem.route, idem.key);
    const [row] = await sql.rows<IssueRow>(
      issueSql({ ip: ipLimit !== null, country: budget !== null, keyed: idem !== undefined }),
      values,
    );
    if (!row) throw new Error('issue query returned no row');
    if (idem && row.prior_state) settlePrior(idem, row as PriorColumns, now);
    if (!row.allowed || row.inserted !== 1) {
      // Refused: the times that say until when, in one more round trip.
      const [refusal] = await sql.rows<RefusalRow>(REFUSAL_SQL, [
        userId,
        channel,
        destination,
        now.toISOString(),
      ]);
      if (!refusal) throw new Error('refusal query returned no row');
      const capped = dailyCapError(refusal.failures, settings, now);
      if (capped) throw capped;
      throw limitError(
        now.getTime(),
        refusal.user_times.map(Number),
        refusal.destination_times.map(Number),
        row,
        country,
        settings,
      );
    }
    // The send just made counts from now on.
    const nextAt = nextSendAfterSend(
      now.getTime(),
      { count: row.user_n, oldest: numberOrNull(row.user_oldest) },
      { count: row.destination_n, oldest: numberOrNull(row.destination_oldest) },
      settings,
    );
    const answer: IssuedCode = {
      id,
      channel,
      destination: maskDestination(channel, address),
      expiresAt: expiresAt.toISOString(),
      resendAvailableAt: new Date(nextAt).toISOString(),
      locale,
    };
    if (idem)
      await commitWithAnswer(sql, idem, now, {
        status: idem.successStatus,
        body: JSON.stringify(answer),
        retryAfter: null,
      });
    return { address, destination, now, expiresAt, answer };
  }).catch((err: unknown) => {
    recordSendRefusal(deps.metrics, err);
    throw err;
  });
  if (idem) idem.recorded = true;
  const { now, expiresAt } = issued;

  const masked = issued.answer.destination;
  // Real time, not the service clock: the function's limit is real.
  const timeLeft = request.timeLeftMs?.();
  const deadline =
    timeLeft === undefined ? undefined : Date.now() + timeLeft - AFTER_DELIVERY_RESERVE_MS;
  try {
    await deps.sender.send(
      {
        id,
        channel,
        // Phone: the E.164 form the code is bound to; email: the address as the
        // user wrote it (the code binds to its lowercased form).
        destination: channel === 'phone' ? issued.destination : issued.address,
        code,
        expiresAt,
        ttlMinutes: Math.max(1, Math.round(settings.codeTtlSeconds / 60)),
        locale,
      },
      { deadline },
    );
  } catch (err) {
    // The new code must not stay usable; it still counts toward the caps, and
    // the code it superseded stays superseded.
    await withSession(pool, (sql) =>
      idem
        ? sql.rows(RETIRE_KEYED_SQL, [
            id,
            now.toISOString(),
            userId,
            channel,
            idem.route,
            idem.key,
            idem.claimId,
          ])
        : sql.rows(RETIRE_SQL, [id, now.toISOString(), userId, channel]),
    );
    deps.metrics?.codeDeliveryFailed(channel);
    deps.logger?.warn('verification code delivery failed', {
      codeId: id,
      channel,
      destination: masked,
      // A provider's message may quote the address (SES does): mask it.
      error: (err instanceof Error ? err.message : String(err)).split(issued.address).join(masked),
    });
    throw new AppError('delivery_failed', undefined, { cause: err });
  }
  if (idem) {
    await withSession(pool, (sql) =>
      sql.rows(DELIVERED_SQL, [userId, idem.route, idem.key, idem.claimId]),
    );
  }
  deps.metrics?.codeSent(channel);
  deps.logger?.info('verification code sent', {
    codeId: id,
    userId,
    channel,
    destination: masked,
    locale,
  });
  return issued.answer;
}

/**
 * Inserts a send's answer and commits, in one round trip. Another request's
 * live row for the key (it stored a refusal while this send held the user
 * lock) makes the insert fail and the send roll back: 409, and a retry is
 * answered from that row.
 */
async function commitWithAnswer(
  sql: TransactionSession,
  idem: IdempotentRequest,
  now: Date,
  answer: StoredAnswer,
): Promise<void> {
  try {
    await sql.commitWith(insertAnswerLiteral(idem, now, 'delivering', answer));
  } catch (err) {
    if ((err as { code?: unknown }).code === '23505') throw keyInUse();
    throw err;
  }
}

// The user and the active code (if any) in one round trip; this read is also
// what tells an unknown user (401) apart.
// The daily count of wrong codes comes in the same round trip.
export const READ_ACTIVE_SQL = `
  WITH ${FAILED_ATTEMPTS_CTE('$1', '$2', '$3')}
  SELECT u.email, u.phone,
         c.id, c.destination, c.code_hash, c.attempts, c.max_attempts, c.expires_at,
         f.failures
  FROM users u
  CROSS JOIN failed f
  LEFT JOIN verification_codes c
    ON c.user_id = u.id AND c.channel = $2 AND c.consumed_at IS NULL AND c.superseded_at IS NULL
  WHERE u.id = $1`;

/**
 * READ_ACTIVE_SQL that also claims the request's Idempotency-Key ($4 route,
 * $5 key, $6 fingerprint, $7 claim id, $8 expiry): `claimed` is 1 when this
 * request now holds the key, else the key's row is returned as `prior_*`.
 */
export const READ_ACTIVE_KEYED_SQL = `
  WITH ${claimCte({ user: '$1', route: '$4', key: '$5', fingerprint: '$6', claim: '$7', now: '$3', expires: '$8' })},
  ${FAILED_ATTEMPTS_CTE('$1', '$2', '$3')}
  SELECT u.email, u.phone,
         c.id, c.destination, c.code_hash, c.attempts, c.max_attempts, c.expires_at,
         f.failures, (SELECT count(*) FROM claim)::int AS claimed, ${priorColumns('p')}
  FROM users u
  CROSS JOIN failed f
  LEFT JOIN verification_codes c
    ON c.user_id = u.id AND c.channel = $2 AND c.consumed_at IS NULL AND c.superseded_at IS NULL
  LEFT JOIN idempotency_keys p ON p.user_id = u.id AND p.route = $4 AND p.key = $5
  WHERE u.id = $1`;

/** The key's row while this request still holds it (user, route, key, claim id). */
const held = (user: string, route: string, key: string, claim: string) => `held AS (
    SELECT 1 FROM idempotency_keys
    WHERE user_id = ${user} AND route = ${route} AND key = ${key} AND claim_id = ${claim}::uuid
      AND state = 'running'
  ), `;

/**
 * A right try: consume the code and move the user's status in one statement
 * (one transaction), and record it: `code_verified`, and `status_changed`
 * (cause `code`) when the status moved, through verification_record_event,
 * which also writes the outbox row of the status change. Only one of
 * concurrent submissions matches the "consumed_at IS NULL" row; the others
 * re-check it after the winner commits and update nothing. The user row is
 * locked before it is updated, so `before` is the status this statement
 * changed; the new status is computed from it, so verifying phone and email at
 * the same time ends "verified". The user row must still hold the address the
 * code was sent to ($6: the address as it was read with the code; a phone code
 * stores its E.164 form). `older_pending`: the user has outbox rows not yet
 * published (then the new one waits for the publisher, to keep the order).
 *
 * Parameters: $1 code id, $2 now, $3 the other channel's verified status, $4
 * the status when the other channel is verified, $5 when it is not, $6 the
 * address, $7 user id, $8 channel. With an Idempotency-Key also $9 route, $10
 * key, $11 claim id, $12 the answer when the new status is $4, $13 when $5:
 * the answer is written over the key in the same statement, and nothing is
 * consumed once the claim is no longer this request's.
 */
function consumeSql(keyed: boolean): string {
  return `
  WITH ${keyed ? held('$7', '$9', '$10', '$11') : ''}consumed AS (
    UPDATE verification_codes SET consumed_at = $2::timestamptz
    WHERE id = $1 AND consumed_at IS NULL AND superseded_at IS NULL
      AND attempts < max_attempts AND expires_at > $2::timestamptz${keyed ? '\n      AND EXISTS (SELECT 1 FROM held)' : ''}
    RETURNING user_id, channel, destination
  ), locked AS (
    SELECT u.id, u.verification_status AS before FROM users u
    WHERE u.id = (SELECT user_id FROM consumed)
    FOR NO KEY UPDATE OF u
  ), updated AS (
    UPDATE users u
    SET verification_status = CASE
          WHEN l.before IN ($3::enum_users_verification_status, 'verified')
          THEN $4::enum_users_verification_status
          ELSE $5::enum_users_verification_status
        END,
        updated_at = $2::timestamptz
    FROM consumed c, locked l
    WHERE u.id = c.user_id AND l.id = u.id
      AND (CASE c.channel WHEN 'email' THEN u.email ELSE u.phone END) = $6
    RETURNING l.before, u.verification_status AS status
  )${
    keyed
      ? `, answered AS (
    UPDATE idempotency_keys SET state = 'done', status = 200,
      response_body = CASE WHEN (SELECT status FROM updated) = $4::enum_users_verification_status
                           THEN $12 ELSE $13 END
    WHERE user_id = $7 AND route = $9 AND key = $10 AND claim_id = $11::uuid
      AND EXISTS (SELECT 1 FROM updated)
  )`
      : ''
  }
  SELECT status,
         EXISTS (SELECT 1 FROM verification_event_outbox
                 WHERE user_id = $7 AND published_at IS NULL) AS older_pending,
         verification_record_event($7::int, NULL::int, 'code_verified', $8::text,
           jsonb_build_object('codeId', $1::text), $2::timestamptz) AS verified_event,
         CASE WHEN before <> status THEN verification_record_event($7::int, NULL::int,
           'status_changed', $8::text,
           jsonb_build_object('from', before, 'to', status, 'cause', 'code'), $2::timestamptz)
         END AS status_event
  FROM updated`;
}

export const CONSUME_SQL = consumeSql(false);
export const CONSUME_KEYED_SQL = consumeSql(true);

/** Stands for attemptsRemaining in the stored 422 of a wrong code, replaced by the count. */
const REMAINING_PLACEHOLDER = 987654321;

/**
 * A wrong try: counted atomically, never past max_attempts, and recorded
 * (`code_rejected` with the attempts left, the last one included).
 *
 * Parameters: $1 code id, $2 now, $3 user id, $4 channel. With an
 * Idempotency-Key also $5 route, $6 key, $7 claim id, $8 the status of the
 * last attempt (429) and $9 of the others (422), $10 and $11 their bodies (the
 * 422's attemptsRemaining written as REMAINING_PLACEHOLDER): the answer is
 * written over the key in the same statement, and nothing is counted once the
 * claim is no longer this request's.
 */
function countAttemptSql(keyed: boolean): string {
  return `
  WITH ${keyed ? held('$3', '$5', '$6', '$7') : ''}counted AS (
    UPDATE verification_codes SET attempts = attempts + 1
    WHERE id = $1 AND consumed_at IS NULL AND superseded_at IS NULL
      AND attempts < max_attempts AND expires_at > $2::timestamptz${keyed ? '\n      AND EXISTS (SELECT 1 FROM held)' : ''}
    RETURNING attempts, max_attempts
  )${
    keyed
      ? `, answered AS (
    UPDATE idempotency_keys k SET state = 'done',
      status = CASE WHEN c.max_attempts - c.attempts <= 0 THEN $8::int ELSE $9::int END,
      response_body = CASE WHEN c.max_attempts - c.attempts <= 0 THEN $10
        ELSE replace($11, '${REMAINING_PLACEHOLDER}', (c.max_attempts - c.attempts)::text) END
    FROM counted c
    WHERE k.user_id = $3 AND k.route = $5 AND k.key = $6 AND k.claim_id = $7::uuid
  )`
      : ''
  }
  SELECT attempts, max_attempts,
         verification_record_event($3::int, NULL::int, 'code_rejected', $4::text,
           jsonb_build_object('codeId', $1::text, 'attemptsRemaining', max_attempts - attempts),
           $2::timestamptz) AS rejected_event
  FROM counted`;
}

export const COUNT_ATTEMPT_SQL = countAttemptSql(false);
export const COUNT_ATTEMPT_KEYED_SQL = countAttemptSql(true);

interface ActiveRow {
  email: string | null;
  phone: string | null;
  id: string | null;
  destination: string | null;
  code_hash: string | null;
  attempts: number | null;
  max_attempts: number | null;
  expires_at: Date | null;
  failures: [number, number][];
}

/**
 * Checks a code (POST /verification/verify), answering in the SPEC's order:
 * malformed 400, no active code 404, expired 410, attempts used up 429, wrong
 * 422 (429 on the last attempt). Two round trips, no explicit transaction.
 */
export async function verifyCode(
  deps: VerifyDeps,
  userId: number,
  channel: Channel,
  code: string,
  idem?: IdempotentRequest,
): Promise<VerifyResult> {
  const { settings, sql: pool } = deps;
  if (!isWellFormedCode(code, settings.codeLength)) {
    throw badRequest(`code must be ${settings.codeLength} digits`);
  }
  const now = deps.now();
  const other: Channel = channel === 'phone' ? 'email' : 'phone';
  const keyValues = idem ? [idem.route, idem.key, idem.claimId] : [];

  // A conditional write that changes nothing means a concurrent request changed
  // the code; read again and answer from the new state (at most a few rounds).
  // The statements share one pooled connection, each its own transaction.
  // With an Idempotency-Key, the first read claims the key, and the write
  // stores the answer in the same statement: still two round trips.
  const outcome = await withSession(pool, async (sql) => {
    for (let round = 0; round < 3; round += 1) {
      const keyed = idem !== undefined && round === 0;
      type KeyedRow = ActiveRow & Partial<PriorColumns> & { claimed?: number };
      const [row] = keyed
        ? await sql.rows<KeyedRow>(READ_ACTIVE_KEYED_SQL, [
            userId,
            channel,
            now.toISOString(),
            idem.route,
            idem.key,
            idem.fingerprint,
            idem.claimId,
            idem.expiresAt(now).toISOString(),
          ])
        : await sql.rows<KeyedRow>(READ_ACTIVE_SQL, [userId, channel, now.toISOString()]);
      if (!row) throw unknownUser();
      if (keyed && row.claimed !== 1) {
        settlePrior(idem, row as PriorColumns, now);
      }
      const capped = dailyCapError(row.failures, settings, now);
      if (capped) throw capped;
      // A phone code stores the E.164 form of the number the user row holds.
      const address = destinationOf(row, channel);
      if (
        !row.id ||
        row.destination === null ||
        row.destination !== storedFormOf(channel, address, settings.abuse)
      ) {
        throw noActiveCode();
      }
      if ((row.expires_at as Date).getTime() <= now.getTime()) {
        throw new AppError('code_expired');
      }
      const maxAttempts = row.max_attempts as number;
      if ((row.attempts as number) >= maxAttempts) throw tooManyAttempts();

      const binding = { id: row.id, userId, channel, destination: row.destination };
      if (codeMatches(settings.pepper, binding, code, row.code_hash as string)) {
        const ifBoth = withChannelVerified(`${other}_verified`, channel);
        const ifOne = withChannelVerified('unverified', channel);
        const values: unknown[] = [
          row.id,
          now.toISOString(),
          `${other}_verified`,
          ifBoth,
          ifOne,
          address,
          userId,
          channel,
        ];
        if (idem) {
          const answerFor = (status: VerificationStatus) =>
            JSON.stringify({ verified: true, verification: verificationInfoOf(userId, status) });
          values.push(...keyValues, answerFor(ifBoth), answerFor(ifOne));
        }
        const [done] = await sql.rows<ConsumedRow>(idem ? CONSUME_KEYED_SQL : CONSUME_SQL, values);
        if (done) {
          if (idem) idem.recorded = true;
          deps.metrics?.codeVerified(channel);
          deps.logger?.info('verification code accepted', { codeId: row.id, userId, channel });
          const result: VerifyResult = {
            verified: true,
            verification: verificationInfoOf(userId, done.status),
          };
          // A status change goes out now unless older events of the user wait.
          const publish = done.status_event && !done.older_pending ? [done.status_event] : [];
          return { result, publish };
        }
      } else {
        const [counted] = await sql.rows<{ attempts: number; max_attempts: number }>(
          idem ? COUNT_ATTEMPT_KEYED_SQL : COUNT_ATTEMPT_SQL,
          [
            row.id,
            now.toISOString(),
            userId,
            channel,
            ...(idem ? [...keyValues, ...wrongCodeAnswers()] : []),
          ],
        );
        if (counted) {
          if (idem) idem.recorded = true;
          const remaining = counted.max_attempts - counted.attempts;
          deps.metrics?.codeRejected(channel);
          deps.logger?.info('verification code rejected', {
            codeId: row.id,
            userId,
            channel,
            attemptsRemaining: remaining,
          });
          if (remaining <= 0) throw tooManyAttempts();
          throw wrongCode(remaining);
        }
      }
    }
    throw noActiveCode();
  });
  if (outcome.publish.length > 0) {
    await deps.events?.publishNow(outcome.publish, { ordered: true });
  }
  return outcome.result;
}

interface ConsumedRow {
  status: VerificationStatus;
  older_pending: boolean;
  status_event: OutboxMessage | null;
}

const wrongCode = (remaining: number) =>
  new AppError('invalid_code', undefined, { details: { attemptsRemaining: remaining } });

/** The stored answers of a wrong code: statuses and bodies of the last attempt and of the others. */
function wrongCodeAnswers(): [number, number, string, string] {
  const last = errorAnswerOf(tooManyAttempts());
  const other = errorAnswerOf(wrongCode(REMAINING_PLACEHOLDER));
  return [last.status, other.status, last.body, other.body];
}

/** VerificationInfo of a user, or undefined for an unknown id. */
export async function getVerification(
  deps: Pick<VerificationDeps, 'sql'>,
  userId: number,
): Promise<VerificationInfo | undefined> {
  const [row] = await withSession(deps.sql, (sql) =>
    sql.rows<{ status: VerificationStatus }>(
      'SELECT verification_status AS status FROM users WHERE id = $1',
      [userId],
    ),
  );
  return row ? verificationInfoOf(userId, row.status) : undefined;
}

/**
 * GET /users/{id}/verification: staff, or that user (whose row authentication
 * already read); anyone else gets the same 404 as an unknown id.
 */
export async function readVerification(
  deps: Pick<VerificationDeps, 'sql'>,
  caller: Caller & { verificationInfo: VerificationInfo },
  userId: number,
): Promise<VerificationInfo> {
  if (!canReadVerification(caller, userId)) throw notFound('No such user');
  if (caller.id === userId) return caller.verificationInfo;
  const info = await getVerification(deps, userId);
  if (!info) throw notFound('No such user');
  return info;
}
