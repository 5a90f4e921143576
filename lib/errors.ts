/**
 * The one error vocabulary of the service. Services throw an AppError naming a
 * code; this table gives each code its HTTP status and default message, and is
 * the only place that does. Adding an error code is one line here (and its
 * answer in openapi.yaml: test/openapi/errorCodes.test.ts checks they agree).
 *
 * Anything thrown that is not an AppError (or a recognised database outage)
 * answers a generic 500 and is logged (lib/http.ts). This module imports
 * nothing: every bundle loads it.
 */
interface CatalogueEntry {
  status: number;
  /** The message when the thrower gives none. */
  message: string;
}
const entry = (status: number, message: string): CatalogueEntry => ({ status, message });

export const ERRORS = {
  invalid_request: entry(400, 'Invalid request'),
  unauthorized: entry(401, 'A valid bearer token is required'),
  forbidden: entry(403, 'You are not allowed to do this'),
  self_review: entry(403, 'A request cannot be reviewed by its requester or its subject'),
  not_found: entry(404, 'Not found'),
  no_active_code: entry(404, 'There is no active code for this channel; request a new one'),
  already_verified: entry(409, 'The channel is already verified'),
  duplicate_pending: entry(409, 'A pending request of this type already exists'),
  not_pending: entry(409, 'The request is not pending'),
  destination_changed: entry(
    409,
    "The user's address for this channel is not the one recorded when the request was filed",
  ),
  too_many_pending: entry(409, 'This user has too many pending requests'),
  not_verified: entry(409, 'That channel is not verified'),
  idempotency_key_in_use: entry(409, 'A request with this Idempotency-Key is still running'),
  code_expired: entry(410, 'The code has expired; request a new one'),
  invalid_code: entry(422, 'The code is not correct'),
  no_destination: entry(422, 'The user has no address for this channel'),
  invalid_destination: entry(422, 'The phone number is not a valid number'),
  destination_not_allowed: entry(422, 'Codes cannot be sent to phone numbers of this country'),
  invalid_details: entry(422, 'The request names no valid channel'),
  idempotency_key_reused: entry(422, 'This Idempotency-Key was used for a different request'),
  rate_limited: entry(429, 'Too many codes requested; try again later'),
  too_many_attempts: entry(429, 'This code has no attempts left; request a new one'),
  country_rate_limited: entry(
    429,
    'Too many codes were sent to phone numbers of this country; try again later',
  ),
  internal_error: entry(500, 'Internal server error'),
  delivery_failed: entry(502, 'The code could not be delivered; try again later'),
  service_unavailable: entry(503, 'The service is temporarily unavailable; try again shortly'),
} satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERRORS;

export interface AppErrorOptions {
  /** Extra fields the answer places inside `error` (such as `attemptsRemaining`). */
  details?: Record<string, unknown>;
  /** When the caller may try again (answered as Retry-After). */
  retryAfterSeconds?: number;
  /** The error this one explains; logged, never answered. */
  cause?: unknown;
}

/**
 * What a service throws when a request cannot be served as asked: a code from
 * the catalogue, the message for the client (the code's default unless a more
 * specific one is given), details and the original error as `cause`.
 */
export class AppError extends Error {
  readonly details: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code].message,
    options: AppErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.details = options.details ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The HTTP status the catalogue gives this code. */
  get status(): number {
    return ERRORS[this.code].status;
  }
}

/** An error as the API answers it: status, body fields and headers. */
export class HttpError {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly message: string,
    readonly details: Record<string, unknown>,
    readonly headers: Record<string, string>,
  ) {}
}

/** The answer for an AppError: the catalogue's status, its message and details, Retry-After. */
export function toHttpError(err: AppError): HttpError {
  const headers: Record<string, string> =
    err.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(err.retryAfterSeconds) };
  return new HttpError(err.status, err.code, err.message, err.details, headers);
}

/** An error answer as it is sent (and stored for an Idempotency-Key): status, JSON body, Retry-After. */
export function errorAnswerOf(err: AppError): {
  status: number;
  body: string;
  retryAfter: number | null;
} {
  const http = toHttpError(err);
  return {
    status: http.status,
    body: JSON.stringify({ error: { code: http.code, message: http.message, ...http.details } }),
    retryAfter: err.retryAfterSeconds ?? null,
  };
}

export const badRequest = (message: string, details: Record<string, unknown> = {}) =>
  new AppError('invalid_request', message, { details });
export const unauthorized = (message?: string) => new AppError('unauthorized', message);
export const forbidden = (message?: string) => new AppError('forbidden', message);
export const notFound = (message?: string) => new AppError('not_found', message);
export const serviceUnavailable = (retryAfterSeconds: number, cause?: unknown) =>
  new AppError('service_unavailable', undefined, { retryAfterSeconds, cause });

/** A setting is missing or invalid: the function must not start. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`Configuration error: ${setting} ${message}`);
    this.name = 'ConfigError';
  }
}
