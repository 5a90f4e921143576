import { QueryTypes, type Sequelize } from 'sequelize';
import { META_TABLE } from './migrator/history';

/** The three answers of GET /health; only the first is healthy. */
export type Health =
  | { status: 'ok'; database: 'ok' }
  | { status: 'degraded'; database: 'unavailable' }
  | { status: 'degraded'; database: 'ok'; schema: 'behind' };

export interface HealthDeps {
  sequelize: Pick<Sequelize, 'query'>;
  /** The migrations this code needs, as named in SequelizeMeta: every one it ships. */
  requiredMigrations: readonly string[];
}

/** PostgreSQL's undefined_table: no SequelizeMeta, so no migration has run. */
const UNDEFINED_TABLE = '42P01';

function sqlState(err: unknown): string | undefined {
  // Sequelize wraps the driver's error as `original`.
  const e = err as { original?: { code?: unknown }; code?: unknown };
  const code = e.original?.code ?? e.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * One query proves the connection and counts the required migrations in the
 * history. Every name is checked, not only the newest, so a migration undone
 * out of order (`db:migrate:undo --name`) shows too. An error from the server
 * saying SequelizeMeta does not exist still proves the connection: the schema
 * is behind, not the database unavailable.
 */
export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const required = deps.requiredMigrations;
  let applied: number;
  try {
    const [row] = await deps.sequelize.query<{ applied: number }>(
      `SELECT count(*)::int AS applied FROM "${META_TABLE}" WHERE name = ANY($1::text[])`,
      { bind: [required], type: QueryTypes.SELECT },
    );
    applied = row?.applied ?? 0;
  } catch (err) {
    if (sqlState(err) === UNDEFINED_TABLE) applied = 0;
    else throw err;
  }
  return applied === required.length
    ? { status: 'ok', database: 'ok' }
    : { status: 'degraded', database: 'ok', schema: 'behind' };
}

export interface HealthCacheDeps {
  /** A check that never throws: a database error is already `unavailable`. */
  check: () => Promise<Health>;
  /** Milliseconds since the epoch (an injected clock in tests). */
  now: () => number;
  /** How long one result answers for; 0 checks on every call. */
  ttlSeconds: number;
}

/**
 * The check behind a per-container cache: within `ttlSeconds` of a check, every
 * answer (ok, unavailable or schema behind) is reused, and calls that arrive
 * while a check runs wait for it. GET /health needs no token, so without this a
 * flood of requests would send one query each.
 */
export function cachedHealthCheck(deps: HealthCacheDeps): () => Promise<Health> {
  const ttlMs = deps.ttlSeconds * 1000;
  let last: { at: number; result: Promise<Health> } | undefined;
  return () => {
    const now = deps.now();
    // A clock that went back counts as stale.
    if (last && ttlMs > 0 && now >= last.at && now - last.at < ttlMs) return last.result;
    const result = deps.check();
    last = { at: now, result };
    return result;
  };
}
