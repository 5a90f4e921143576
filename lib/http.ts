import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import * as z from 'zod/mini';
import { endInvocation } from './containerPools';
import { AppError, badRequest, HttpError, serviceUnavailable, toHttpError } from './errors';
import { jsonDeeperThan } from './jsonDepth';
import { errorForLog, logger } from './logger';
import { containerMetrics } from './metrics';
import type { StoredAnswer } from './idempotency/request';
import { DatabaseConnectError } from './sql';
import { type InputSource, messageFor } from './validationMessages';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResponse = APIGatewayProxyStructuredResultV2;
export type HttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResponse>;

/** Bodies above this size are refused before parsing (API Gateway allows up to 10 MB). */
export const MAX_BODY_BYTES = 16 * 1024;
/** Bodies nested deeper are refused right after parsing, before any recursive code sees them. */
export const MAX_BODY_DEPTH = 32;
/** Seconds a client should wait after a 503 caused by the database. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return {
    statusCode,
    // Answers are per user and often personal: no cache may keep them.
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** A header, looked up case-insensitively (serverless-offline keeps the client's case). */
export function header(event: HttpEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/**
 * Validates a value against an endpoint's schema; any problem is a 400 whose
 * message names the input (`source`: a body field, a query parameter, a path
 * parameter) and says what is wrong in words (lib/validationMessages.ts).
 */
export function validate<S extends z.ZodMiniType>(
  schema: S,
  value: unknown,
  source: InputSource = { kind: 'body' },
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(messageFor(result.error, source));
  return result.data;
}

/**
 * The parsed JSON body of a request, or undefined when there is none (a 400
 * when one is required). Checked for size, syntax, shape (an object) and depth.
 */
export function readJsonBody(
  event: HttpEvent,
  opts: { optional?: boolean } = {},
): Record<string, unknown> | undefined {
  let raw = event.body;
  if (raw === undefined || raw === null || raw === '') {
    if (opts.optional) return undefined;
    throw badRequest('A JSON body is required');
  }
  if (event.isBase64Encoded) raw = Buffer.from(raw, 'base64').toString('utf8');
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) {
    throw badRequest(`The body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw badRequest('The body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw badRequest('The body must be a JSON object');
  }
  if (jsonDeeperThan(parsed, MAX_BODY_DEPTH)) {
    throw badRequest(`The body nests deeper than ${MAX_BODY_DEPTH} levels`);
  }
  return parsed as Record<string, unknown>;
}

/** Parses and validates a JSON body (a missing body counts as `{}` only when allowed). */
export function parseBody<S extends z.ZodMiniType>(
  event: HttpEvent,
  schema: S,
  opts: { optional?: boolean } = {},
): z.infer<S> {
  return validate(schema, readJsonBody(event, opts) ?? {});
}

const UNAVAILABLE_SQLSTATES = new Set(['53300', '53400', '57P01', '57P02', '57P03']);

/** Socket errors of a connection that went away, as Node reports them. */
const LOST_CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** True for a driver error that means the server is unavailable or the connection is gone. */
function unavailableCause(cause: unknown): boolean {
  if (!(cause instanceof Error)) return false;
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') {
    return (
      UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || LOST_CONNECTION_CODES.has(code)
    );
  }
  // pg gives no code when the socket closes under a query ("Connection
  // terminated unexpectedly") or when a client that lost it is used again.
  return /^Connection terminated|is not queryable/.test(cause.message);
}

/**
 * Sequelize's errors that mean no connection could be had (its ConnectionError
 * and every subclass) or a query timed out (TimeoutError), by their `name`:
 * this module is in every bundle, and the send and verify bundles must not
 * load Sequelize to recognise them (test/unit/databaseErrors.test.ts checks
 * the list against Sequelize's classes).
 */
export const SEQUELIZE_UNAVAILABLE_ERRORS: ReadonlySet<string> = new Set([
  'SequelizeConnectionError',
  'SequelizeAccessDeniedError',
  'SequelizeConnectionAcquireTimeoutError',
  'SequelizeConnectionRefusedError',
  'SequelizeConnectionTimedOutError',
  'SequelizeHostNotFoundError',
  'SequelizeHostNotReachableError',
  'SequelizeInvalidConnectionError',
  'SequelizeTimeoutError',
]);

/** True when the database is down, unreachable, refusing connections or gone mid-request. */
export function isDatabaseUnavailable(err: unknown): boolean {
  // No connection from the pg pool, whatever the cause: as Sequelize's ConnectionError.
  if (err instanceof DatabaseConnectError) return true;
  if (!(err instanceof Error)) return false;
  if (SEQUELIZE_UNAVAILABLE_ERRORS.has(err.name)) return true;
  // Sequelize wraps the driver's error (`original`); statements on pooled
  // connections (lib/sql.ts) throw it bare.
  if (err.name.startsWith('Sequelize')) {
    return unavailableCause((err as { original?: unknown }).original);
  }
  return unavailableCause(err);
}

function errorAnswer(err: HttpError): HttpResponse {
  return json(
    err.status,
    { error: { code: err.code, message: err.message, ...err.details } },
    err.headers,
  );
}

/** An answer stored for an Idempotency-Key, sent as it was (plus extra headers). */
export function storedAnswerResponse(
  answer: StoredAnswer,
  headers: Record<string, string> = {},
): HttpResponse {
  return {
    statusCode: answer.status,
    headers: {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      ...(answer.retryAfter === null ? {} : { 'Retry-After': String(answer.retryAfter) }),
      ...headers,
    },
    body: answer.body,
  };
}

/** Maps anything thrown by a handler to a response; 5xx answers never carry the cause. */
export function errorResponse(err: unknown, requestId: string): HttpResponse {
  if (err instanceof AppError) {
    if (err.status >= 500) logger.warn('request failed', { requestId, code: err.code });
    return errorAnswer(toHttpError(err));
  }
  if (isDatabaseUnavailable(err)) {
    logger.error('database unavailable', { requestId, error: errorForLog(err) });
    return errorAnswer(toHttpError(serviceUnavailable(DATABASE_RETRY_AFTER_SECONDS, err)));
  }
  logger.error('unhandled error', { requestId, error: errorForLog(err) });
  return errorAnswer(toHttpError(new AppError('internal_error')));
}

/**
 * Wraps a Lambda HTTP handler: request-scoped log context, every outcome mapped
 * to the response shapes of the API, the invocation's metrics written once,
 * and the end of the invocation marked for the pool. API routes get it
 * through `httpHandler` (lib/route.ts).
 */
export function handleHttp(fn: HttpHandler): HttpHandler {
  return async (event, context) => {
    const requestId = event.requestContext?.requestId ?? context?.awsRequestId ?? 'local';
    logger.appendKeys({ requestId, route: event.routeKey });
    try {
      return await fn(event, context);
    } catch (err) {
      return errorResponse(err, requestId);
    } finally {
      flushMetrics(context);
      await endInvocation();
      logger.removeKeys(['requestId', 'route']);
    }
  };
}

/** Writes the invocation's metrics (lib/metrics.ts); a failure to do so is logged, never answered. */
function flushMetrics(context: Context | undefined): void {
  try {
    containerMetrics().flush(context);
  } catch (err) {
    logger.warn('metrics not written', { error: errorForLog(err) });
  }
}
