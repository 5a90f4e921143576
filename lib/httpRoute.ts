import type * as z from 'zod/mini';
import type { User } from '../models';
import { checkApiSettingsAtStart } from './apiSettings';
import {
  handleHttp,
  header,
  HttpEvent,
  HttpHandler,
  HttpResponse,
  json,
  readJsonBody,
  storedAnswerResponse,
  validate,
} from './http';
import {
  IDEMPOTENCY_KEY_HEADER,
  IdempotencySettings,
  IdempotentRequest,
  parseIdempotencyKey,
  REPLAYED_HEADER,
  requestFingerprint,
} from './idempotency/request';
import { runKeyed } from './idempotency/run';
import { requireStaff } from './policies';
import { type SqlPool, warmUp } from './sql';

/**
 * Declarative API handlers: a handler file states its route's needs (who may
 * call, which path parameters, query and body, which container context) and
 * calls one service function. `routeHandler` does the rest, in one order for
 * every route: the start check at import, then per request the container
 * context, authentication, the role check, the path parameters, the query, the
 * body; then the result as JSON, and every failure in the error shape.
 *
 * The order is part of the contract: a non-staff caller of a staff route is
 * 403 whatever the id or body, and a malformed id is 400 before the body is
 * looked at.
 */

/**
 * Who may call:
 * - `token`: any valid token; the caller is its user id, and the user row is
 *   not read (the service reads and locks it itself; an unknown user is a 401 there).
 * - `user`: a signed-in user (an unknown one is a 401).
 * - `staff`: a signed-in staff user; anyone else is 403 `forbidden`.
 */
export type Auth = 'token' | 'user' | 'staff';

type Schema = z.ZodMiniType;
type ParamSchemas = Record<string, Schema>;
type Parsed<S> = S extends Schema ? z.infer<S> : undefined;

/** What a route needs of its container's context (lib/requestContext.ts has it all). */
export interface TokenRouteContext {
  settings: { idempotency: IdempotencySettings };
  now: () => Date;
  /** Where an Idempotency-Key's refusals are stored and a failed request's key is given up. */
  sql: SqlPool;
  authenticatedUserId(event: HttpEvent): Promise<number>;
}

/** The context of routes that read the signed-in user (auth `user` or `staff`). */
export interface UserRouteContext extends TokenRouteContext {
  authenticate(event: HttpEvent): Promise<User>;
}

/** The context a route of this `auth` needs. */
export type RouteContextFor<A extends Auth> = A extends 'token'
  ? TokenRouteContext
  : UserRouteContext;

export interface Route<A extends Auth, C, P, Q, B> {
  auth: A;
  /** The container's context handed to the service call. */
  context: () => Promise<C>;
  /** More start checks, for settings only this route's functions use. */
  startChecks?: (() => void)[];
  /** Path parameters, each checked by its schema (a 400 that names the parameter). */
  params?: P;
  /** The query string, checked as one object. */
  query?: Q;
  /** The JSON body. */
  body?: B;
  /** A missing body counts as `{}` (for bodies whose every field is optional). */
  bodyOptional?: boolean;
  /** The status of a success (default 200). */
  status?: number;
  /**
   * The route takes an `Idempotency-Key` (every POST does): the service gets
   * the key as `idempotency` and stores its answer with its effect; refusals
   * are stored here, and a repeat is answered from the store.
   */
  idempotent?: boolean;
}

export interface RouteInput<A extends Auth, C, P, Q, B> {
  caller: A extends 'token' ? number : User;
  ctx: C;
  params: { [K in keyof P]: Parsed<P[K]> };
  query: Parsed<Q>;
  body: Parsed<B>;
  /** The client address as API Gateway saw it (requestContext.http.sourceIp), never a header. */
  sourceIp: string | undefined;
  /** The request's Idempotency-Key, on an idempotent route that was given one. */
  idempotency: IdempotentRequest | undefined;
  /** A request header by name, in any case. */
  header: (name: string) => string | undefined;
  /** Milliseconds until Lambda stops the invocation (undefined without a Lambda context). */
  timeLeftMs: () => number | undefined;
}

/**
 * Builds a Lambda handler from a route declaration and its one service call.
 * The route names its context; `httpHandler` (lib/route.ts) gives the API
 * context of the functions that use Sequelize.
 */
export function routeHandler<
  A extends Auth,
  C extends RouteContextFor<A>,
  P extends ParamSchemas = Record<never, never>,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(
  route: Route<A, C, P, Q, B>,
  fn: (input: RouteInput<A, C, P, Q, B>) => Promise<unknown>,
): HttpHandler {
  // At import: a misconfigured function stops at start, naming the setting.
  checkApiSettingsAtStart();
  for (const check of route.startChecks ?? []) check();
  const context = route.context;

  return handleHttp(async (event, lambda): Promise<HttpResponse> => {
    const ctx = await context();
    // No connection (the first request after the pool closed its idle ones):
    // the server sets one up while the token and the body are checked.
    await warmUp(ctx.sql);
    let caller: number | User;
    if (route.auth === 'token') {
      caller = await ctx.authenticatedUserId(event);
    } else {
      const user = await (ctx as UserRouteContext).authenticate(event);
      if (route.auth === 'staff') requireStaff(user);
      caller = user;
    }
    const params: Record<string, unknown> = {};
    for (const [name, schema] of Object.entries(route.params ?? {})) {
      params[name] = validate(schema, event.pathParameters?.[name] ?? '', { kind: 'path', name });
    }
    const query = route.query
      ? validate(route.query, event.queryStringParameters ?? {}, { kind: 'query' })
      : undefined;
    const rawBody = route.body
      ? readJsonBody(event, { optional: route.bodyOptional === true })
      : undefined;
    const body = route.body ? validate(route.body, rawBody ?? {}) : undefined;
    const status = route.status ?? 200;
    const idempotency = route.idempotent
      ? keyedRequest(event, typeof caller === 'number' ? caller : caller.id, status, rawBody, ctx)
      : undefined;
    const sourceIp = event.requestContext?.http?.sourceIp;
    const input = {
      caller,
      ctx,
      params,
      query,
      body,
      sourceIp,
      idempotency,
      header: (name: string) => header(event, name),
      timeLeftMs: () => lambda?.getRemainingTimeInMillis?.(),
    };
    const run = () => fn(input as RouteInput<A, C, P, Q, B>);
    if (!idempotency) return json(status, await run());
    const outcome = await runKeyed(ctx.sql, idempotency, ctx.now, run);
    return 'replay' in outcome
      ? storedAnswerResponse(outcome.replay, { [REPLAYED_HEADER]: 'true' })
      : json(status, outcome.value);
  });
}

/** The request's Idempotency-Key (a 400 when malformed), or undefined without one. */
function keyedRequest(
  event: HttpEvent,
  userId: number,
  status: number,
  rawBody: unknown,
  ctx: TokenRouteContext,
): IdempotentRequest | undefined {
  const key = parseIdempotencyKey(header(event, IDEMPOTENCY_KEY_HEADER));
  if (key === undefined) return undefined;
  const method = event.requestContext?.http?.method ?? 'POST';
  const route =
    event.routeKey && event.routeKey !== '$default' ? event.routeKey : `${method} ${event.rawPath}`;
  const fingerprint = requestFingerprint({ ...event.pathParameters }, rawBody);
  return new IdempotentRequest(userId, route, key, fingerprint, status, ctx.settings.idempotency);
}
