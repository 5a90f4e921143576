import pg from 'pg';
import type { SqlSession } from '../sql';
import {
  answerFromPrior,
  IN_PROGRESS_LEASE_SECONDS,
  type IdempotentRequest,
  type PriorKey,
  type StoredAnswer,
} from './request';

/**
 * The statements of Idempotency-Key (table idempotency_keys, one row per
 * caller, route and key). How an answer and its effect commit together:
 *
 * - Staff decisions and filings: the request first claims the key (a `running`
 *   row, committed on its own), then writes its answer over that row inside the
 *   transaction of its effect (`recordSql`): both commit, or neither does. A
 *   request that died between the two leaves only the claim, which a retry
 *   takes over once the lease is over.
 * - Verify: the claim is part of its first statement, and the statement that
 *   consumes the code or counts the wrong try also writes the answer (one
 *   statement, so one commit). It only acts while the claim is still its own.
 * - Send: sends of one user are serialised by the lock on the user row, so the
 *   key is checked after that lock and the answer is inserted in the
 *   transaction of the new code (`delivering`), then marked `done` once the
 *   code is delivered; a failed delivery deletes it with the code's retirement.
 * - Answers without an effect (a 4xx refusal) are stored by one statement
 *   after the refusal (`recordSql` outside any transaction).
 */

/** The key's columns for `prior` rows, prefixed for a join. */
export const priorColumns = (alias: string) =>
  `${alias}.state AS prior_state, ${alias}.fingerprint AS prior_fingerprint,
   ${alias}.status AS prior_status, ${alias}.response_body AS prior_body,
   ${alias}.retry_after AS prior_retry_after, ${alias}.created_at AS prior_created_at,
   ${alias}.expires_at AS prior_expires_at`;

/** A row of `priorColumns`. */
export interface PriorColumns {
  prior_state: PriorKey['state'] | null;
  prior_fingerprint: string | null;
  prior_status: number | null;
  prior_body: string | null;
  prior_retry_after: number | null;
  prior_created_at: Date | null;
  prior_expires_at: Date | null;
}

/** The prior key of a row of `priorColumns`, if there is one that has not expired at `now`. */
export function priorOf(row: PriorColumns, now: Date): PriorKey | undefined {
  if (row.prior_state === null || row.prior_fingerprint === null) return undefined;
  if (new Date(row.prior_expires_at as Date).getTime() <= now.getTime()) return undefined;
  return {
    state: row.prior_state,
    fingerprint: row.prior_fingerprint,
    status: row.prior_status,
    response_body: row.prior_body,
    retry_after: row.prior_retry_after,
    created_at: row.prior_created_at as Date,
  };
}

/** Placeholders of a key's parameters in a statement: user, route, key, fingerprint, claim, now, expires. */
export interface KeyParams {
  user: string;
  route: string;
  key: string;
  fingerprint: string;
  claim: string;
  now: string;
  expires: string;
}

const CLAIMABLE = (p: KeyParams) => `k.expires_at <= ${p.now}::timestamptz
       OR (k.state = 'running'
           AND k.created_at <= ${p.now}::timestamptz - interval '${IN_PROGRESS_LEASE_SECONDS} seconds')`;

/**
 * A CTE `claim` that takes the key for this request: a new `running` row, or
 * one that replaces an expired row or a claim whose holder died. It yields a
 * row only when this request now holds the key. A key whose row another
 * request is writing at the same moment waits for that statement, then finds
 * it held. Unknown users claim nothing (they are a 401 elsewhere).
 */
export const claimCte = (p: KeyParams) => `claim AS (
    INSERT INTO idempotency_keys AS k
      (user_id, route, key, fingerprint, claim_id, state, created_at, expires_at)
    SELECT ${p.user}, ${p.route}, ${p.key}, ${p.fingerprint}, ${p.claim}::uuid, 'running',
           ${p.now}::timestamptz, ${p.expires}::timestamptz
    WHERE EXISTS (SELECT 1 FROM users WHERE id = ${p.user})
    ON CONFLICT (user_id, route, key) DO UPDATE
    SET fingerprint = EXCLUDED.fingerprint, claim_id = EXCLUDED.claim_id, state = 'running',
        status = NULL, response_body = NULL, retry_after = NULL,
        created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
    WHERE ${CLAIMABLE(p)}
    RETURNING 1
  )`;

const PARAMS: KeyParams = {
  user: '$1',
  route: '$2',
  key: '$3',
  fingerprint: '$4',
  claim: '$5',
  now: '$6',
  expires: '$7',
};

/** Claims a key on its own (a statement, so a commit, of its own). */
export const CLAIM_SQL = `
  WITH ${claimCte(PARAMS)}
  SELECT (SELECT count(*) FROM claim)::int AS claimed, ${priorColumns('p')}
  FROM (SELECT 1) one
  LEFT JOIN idempotency_keys p ON p.user_id = $1 AND p.route = $2 AND p.key = $3`;

/**
 * Stores an answer: over this request's own claim, in place of an expired
 * row, or as a new row. A live row of another request is left alone (no row
 * returned): that request's answer is the key's.
 */
export const RECORD_SQL = `
  INSERT INTO idempotency_keys AS k
    (user_id, route, key, fingerprint, claim_id, state, status, response_body, retry_after,
     created_at, expires_at)
  SELECT $1, $2, $3, $4, $5::uuid, $8, $9, $10, $11, $6::timestamptz, $7::timestamptz
  WHERE EXISTS (SELECT 1 FROM users WHERE id = $1)
  ON CONFLICT (user_id, route, key) DO UPDATE
  SET fingerprint = EXCLUDED.fingerprint, claim_id = EXCLUDED.claim_id, state = EXCLUDED.state,
      status = EXCLUDED.status, response_body = EXCLUDED.response_body,
      retry_after = EXCLUDED.retry_after,
      created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
  WHERE k.claim_id = EXCLUDED.claim_id OR k.expires_at <= EXCLUDED.created_at
  RETURNING 1`;

/** The key's row as it is now (a new statement sees every commit before it). */
export const READ_PRIOR_SQL = `
  SELECT ${priorColumns('p')} FROM idempotency_keys p
  WHERE p.user_id = $1 AND p.route = $2 AND p.key = $3 AND p.expires_at > $4::timestamptz`;

/** Gives the key up (an answer of 500 or more is not stored: the key may be retried). */
export const RELEASE_SQL = `
  DELETE FROM idempotency_keys
  WHERE user_id = $1 AND route = $2 AND key = $3 AND claim_id = $4::uuid AND state <> 'done'`;

/** A send's code was delivered: its stored answer is final. */
export const DELIVERED_SQL = `
  UPDATE idempotency_keys SET state = 'done'
  WHERE user_id = $1 AND route = $2 AND key = $3 AND claim_id = $4::uuid`;

/** The first seven parameters of CLAIM_SQL and RECORD_SQL. */
export function keyValues(req: IdempotentRequest, now: Date): unknown[] {
  return [
    req.userId,
    req.route,
    req.key,
    req.fingerprint,
    req.claimId,
    now.toISOString(),
    req.expiresAt(now).toISOString(),
  ];
}

export function recordValues(
  req: IdempotentRequest,
  now: Date,
  state: 'delivering' | 'done',
  answer: StoredAnswer,
): unknown[] {
  return [...keyValues(req, now), state, answer.status, answer.body, answer.retryAfter];
}

/**
 * RECORD_SQL with its values written in as literals, for a transaction that
 * sends it together with its COMMIT in one round trip (a simple query; the
 * values are quoted by pg's escapeLiteral). Without ON CONFLICT: a live row of
 * another request makes it fail, and the COMMIT after it never runs.
 */
export function insertAnswerLiteral(
  req: IdempotentRequest,
  now: Date,
  state: 'delivering' | 'done',
  answer: StoredAnswer,
): string {
  const lit = (v: string) => pg.escapeLiteral(v);
  return `INSERT INTO idempotency_keys
    (user_id, route, key, fingerprint, claim_id, state, status, response_body, retry_after,
     created_at, expires_at)
  VALUES (${Number(req.userId)}, ${lit(req.route)}, ${lit(req.key)}, ${lit(req.fingerprint)},
          ${lit(req.claimId)}::uuid, ${lit(state)}, ${Number(answer.status)}, ${lit(answer.body)},
          ${answer.retryAfter === null ? 'NULL' : Number(answer.retryAfter)},
          ${lit(now.toISOString())}::timestamptz, ${lit(req.expiresAt(now).toISOString())}::timestamptz)`;
}

/** Claims the key for a request; answers from the prior row when another request holds it. */
export async function claimKey(sql: SqlSession, req: IdempotentRequest, now: Date): Promise<void> {
  const [row] = await sql.rows<PriorColumns & { claimed: number }>(CLAIM_SQL, keyValues(req, now));
  if (row && row.claimed === 1) return;
  settlePrior(req, row, now);
}

/**
 * Answers a request that could not claim its key: from the row that holds it,
 * or, when the row was written after this statement began (so it is not seen
 * yet), as still running.
 */
export function settlePrior(
  req: IdempotentRequest,
  row: PriorColumns | undefined,
  now: Date,
): never {
  const prior = row ? priorOf(row, now) : undefined;
  if (!prior) {
    return answerFromPrior(
      req,
      {
        state: 'running',
        fingerprint: req.fingerprint,
        status: null,
        response_body: null,
        retry_after: null,
        created_at: now,
      },
      now,
    );
  }
  return answerFromPrior(req, prior, now);
}

/**
 * Stores an answer that has no effect to commit with (a refusal). When
 * another request's answer holds the key, that one is answered instead.
 */
export async function recordRefusal(
  sql: SqlSession,
  req: IdempotentRequest,
  now: Date,
  answer: StoredAnswer,
): Promise<void> {
  const stored = await sql.rows(RECORD_SQL, recordValues(req, now, 'done', answer));
  if (stored.length === 1) {
    req.recorded = true;
    return;
  }
  const [prior] = await sql.rows<PriorColumns>(READ_PRIOR_SQL, [
    req.userId,
    req.route,
    req.key,
    now.toISOString(),
  ]);
  // No row at all: an unknown user (nothing is stored for a 401).
  if (prior) settlePrior(req, prior, now);
}

/** Gives the key up after an answer of 500 or more. */
export async function releaseKey(sql: SqlSession, req: IdempotentRequest): Promise<void> {
  await sql.rows(RELEASE_SQL, [req.userId, req.route, req.key, req.claimId]);
}
