/**
 * The one error vocabulary of the service. Anything thrown that is not an
 * HttpError (or a recognised database outage) answers a generic 500 and is logged.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra fields placed inside `error` (such as `attemptsRemaining`). */
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, details: Record<string, unknown> = {}) =>
  new HttpError(400, 'invalid_request', message, details);
export const unauthorized = (message = 'A valid bearer token is required') =>
  new HttpError(401, 'unauthorized', message);
export const forbidden = (message = 'You are not allowed to do this') =>
  new HttpError(403, 'forbidden', message);
export const notFound = (message = 'Not found') => new HttpError(404, 'not_found', message);
export const serviceUnavailable = (retryAfterSeconds: number) =>
  new HttpError(
    503,
    'service_unavailable',
    'The service is temporarily unavailable; try again shortly',
    {},
    { 'Retry-After': String(retryAfterSeconds) },
  );

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
