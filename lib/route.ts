import type * as z from 'zod/mini';
import { apiContext, type ApiContext } from './app';
import type { HttpHandler } from './http';
import { type Auth, type Route, routeHandler, type RouteInput } from './httpRoute';

export type { Auth, Route, RouteInput } from './httpRoute';

type Schema = z.ZodMiniType;

/**
 * `routeHandler` (lib/httpRoute.ts) with the API context by default: the
 * context of the functions that use Sequelize (models, `authenticate`).
 */
export function httpHandler<
  A extends Auth,
  C extends ApiContext = ApiContext,
  P extends Record<string, Schema> = Record<never, never>,
  Q extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(
  route: Omit<Route<A, C, P, Q, B>, 'context'> & { context?: () => Promise<C> },
  fn: (input: RouteInput<A, C, P, Q, B>) => Promise<unknown>,
): HttpHandler {
  return routeHandler<A, C, P, Q, B>(
    { ...route, context: route.context ?? (apiContext as () => Promise<C>) },
    fn,
  );
}
