import { createHash, randomUUID } from 'node:crypto';
import { AppError, badRequest } from '../errors';
import type { Env } from '../env';
import { intSetting } from '../settings';

/**
 * Idempotency-Key (request header) on POST routes: the first request with a
 * key runs and its answer (a status below 500, the body, Retry-After) is
 * stored with its effect; a repeat with the same body gets the stored answer
 * again, marked `Idempotent-Replayed: true`, and nothing happens again.
 *
 * A key is scoped to the caller and the route (API Gateway's route key, such
 * as `POST /verification/codes`); the request it stands for is the path
 * parameters and the body, compared as parsed JSON (key order and spacing do
 * not matter).
 */

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/**
 * A request that holds a key without answering for this long is taken to have
 * died (API functions time out after 10 seconds): a retry may run it again.
 * A send whose code was committed but whose delivery never reported back is
 * answered from its stored answer after this long.
 */
export const IN_PROGRESS_LEASE_SECONDS = 60;

export interface IdempotencySettings {
  /** IDEMPOTENCY_KEY_TTL_SECONDS: how long a key and its answer are kept. */
  ttlSeconds: number;
}

export function idempotencySettings(env: Env): IdempotencySettings {
  return {
    ttlSeconds: intSetting(env, 'IDEMPOTENCY_KEY_TTL_SECONDS', 86400, {
      min: IN_PROGRESS_LEASE_SECONDS,
      max: 30 * 86400,
    }),
  };
}

/** 1 to 255 visible ASCII characters (0x21 to 0x7E). */
const KEY_PATTERN = /^[!-~]{1,255}$/;

/**
 * The key of a request, or undefined without the header. Anything but 1 to
 * 255 visible ASCII characters is a 400 (an empty header included).
 */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!KEY_PATTERN.test(value)) {
    throw badRequest(
      `The ${IDEMPOTENCY_KEY_HEADER} header must be 1 to 255 visible ASCII characters (letters, digits and punctuation, no spaces), such as a UUID`,
    );
  }
  return value;
}

/** JSON with object keys sorted at every level, so equal JSON values give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What a key stands for: SHA-256 of the path parameters and the parsed body
 * (null when there is none). Bodies are at most 32 levels deep by then.
 */
export function requestFingerprint(params: Record<string, unknown>, body: unknown): string {
  return createHash('sha256')
    .update(canonicalJson({ params, body: body ?? null }))
    .digest('hex');
}

/** An answer as it is stored and replayed. */
export interface StoredAnswer {
  status: number;
  /** The JSON body, as the first request sent it. */
  body: string;
  retryAfter: number | null;
}

/**
 * A keyed request while it runs. `claimId` marks the rows this request wrote,
 * so that it only ever completes its own claim.
 */
export class IdempotentRequest {
  readonly claimId = randomUUID();
  /** Set once this request's answer is stored (or committed with its effect). */
  recorded = false;

  constructor(
    readonly userId: number,
    readonly route: string,
    readonly key: string,
    readonly fingerprint: string,
    /** The status of the route's success answer. */
    readonly successStatus: number,
    readonly settings: IdempotencySettings,
  ) {}

  expiresAt(now: Date): Date {
    return new Date(now.getTime() + this.settings.ttlSeconds * 1000);
  }
}

/** Thrown to answer a repeated request with the answer stored for its key. */
export class IdempotentReplay extends Error {
  constructor(readonly answer: StoredAnswer) {
    super('replayed');
    this.name = 'IdempotentReplay';
  }
}

/** A key's row as another request left it. */
export interface PriorKey {
  state: 'running' | 'delivering' | 'done';
  fingerprint: string;
  status: number | null;
  response_body: string | null;
  retry_after: number | null;
  created_at: Date;
}

export const keyReused = () =>
  new AppError(
    'idempotency_key_reused',
    `This ${IDEMPOTENCY_KEY_HEADER} was used for a different request; use a new key for a new request`,
  );

export const keyInUse = () =>
  new AppError(
    'idempotency_key_in_use',
    `A request with this ${IDEMPOTENCY_KEY_HEADER} is still running; try again in a moment`,
    { retryAfterSeconds: 1 },
  );

/**
 * The answer to a request whose key another request already holds: the
 * stored answer (thrown as IdempotentReplay), 422 for another request under
 * the same key, 409 while the holder still runs. A delivery that never
 * reported back within the lease is answered as stored: its code was
 * committed with that answer.
 */
export function answerFromPrior(req: IdempotentRequest, prior: PriorKey, now: Date): never {
  if (prior.fingerprint !== req.fingerprint) throw keyReused();
  const leaseOver =
    now.getTime() - new Date(prior.created_at).getTime() >= IN_PROGRESS_LEASE_SECONDS * 1000;
  const answered = prior.state === 'done' || (prior.state === 'delivering' && leaseOver);
  if (!answered || prior.status === null || prior.response_body === null) throw keyInUse();
  throw new IdempotentReplay({
    status: prior.status,
    body: prior.response_body,
    retryAfter: prior.retry_after,
  });
}
