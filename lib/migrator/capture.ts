import type { Sequelize } from 'sequelize';

/**
 * Sees one query a migration sends: its SQL text, its options, and `send`,
 * which runs it (with other options, if given) and resolves to its result.
 */
export type QueryHook = (
  sql: string,
  options: Record<string, unknown> | undefined,
  send: (options?: Record<string, unknown>) => Promise<unknown>,
) => Promise<unknown>;

/**
 * Runs `work` with every query sent through this Sequelize instance going to
 * `hook` first: raw `sequelize.query` calls and every queryInterface method
 * alike (they call it too). `plan` and the migration lint read the SQL a
 * migration emits this way; query() is restored afterwards, whatever happens.
 */
export async function withQueryHook<T>(
  sequelize: Sequelize,
  hook: QueryHook,
  work: () => Promise<T>,
): Promise<T> {
  const instance = sequelize as unknown as Record<string, unknown>;
  const own = Object.getOwnPropertyDescriptor(instance, 'query');
  const query = sequelize.query.bind(sequelize) as (
    sql: unknown,
    options?: Record<string, unknown>,
  ) => Promise<unknown>;
  instance.query = (sql: unknown, options?: Record<string, unknown>) =>
    hook(sqlText(sql), options, (replaced) => query(sql, replaced ?? options));
  try {
    return await work();
  } finally {
    if (own) Object.defineProperty(instance, 'query', own);
    else delete instance.query;
  }
}

/** The SQL of a query() argument: a string, or Sequelize's `{ query, values }`. */
function sqlText(sql: unknown): string {
  return typeof sql === 'string' ? sql : String((sql as { query?: unknown } | null)?.query ?? '');
}
