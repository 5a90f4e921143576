import type { Env } from './env';
import { errorForLog, logger } from './logger';

/** What the container keeps of a connection pool: how to close its idle connections, or all. */
export interface PoolLifecycle<T> {
  closeIdle(pool: T): Promise<void>;
  close(pool: T): Promise<void>;
}

interface Entry {
  pool: unknown;
  closeIdle(): Promise<void>;
  close(): Promise<void>;
}

// Kept on globalThis, not in a module variable: under `serverless offline
// --useInProcess` every function's bundle carries its own copy of this module,
// and they share one pool per process this way.
const CACHE_KEY = Symbol.for('verification-service.pools');

function cache(): Map<string, Entry> {
  const g = globalThis as unknown as { [CACHE_KEY]?: Map<string, Entry> };
  return (g[CACHE_KEY] ??= new Map());
}

/**
 * The container's one pool under `key` (its kind and URL), created on first
 * use: a warm container reuses its connections from one invocation to the next.
 */
export function containerPool<T>(key: string, create: () => T, lifecycle: PoolLifecycle<T>): T {
  const pools = cache();
  const found = pools.get(key);
  if (found) return found.pool as T;
  const pool = create();
  pools.set(key, {
    pool,
    closeIdle: () => lifecycle.closeIdle(pool),
    close: () => lifecycle.close(pool),
  });
  return pool;
}

/**
 * To be called when an invocation ends. On AWS it does nothing: a warm container
 * keeps its connections for the next invocation. Under serverless-offline
 * (`IS_OFFLINE`) it closes the container's idle connections, because there a
 * container is a worker thread (a globalThis of its own), `--reloadHandler`
 * starts a new one for every request, and an idle worker lives on for a minute
 * or more: kept connections would add up to one per request.
 */
export async function endInvocation(env: Env = process.env): Promise<void> {
  if (env.IS_OFFLINE !== 'true') return;
  for (const entry of cache().values()) {
    try {
      // Only the connections not in use; the pool stays open for the next request.
      await entry.closeIdle();
    } catch (err) {
      logger.warn('could not close idle database connections', { error: errorForLog(err) });
    }
  }
}

/**
 * Ends every pool of the container and forgets them (tests that load handlers
 * in their own process; a Lambda container never needs it).
 */
export async function closeContainerPools(): Promise<void> {
  const pools = cache();
  const entries = [...pools.values()];
  pools.clear();
  await Promise.all(entries.map((e) => e.close()));
}
