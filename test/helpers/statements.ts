import pg from 'pg';

/**
 * The statements `work` sends to PostgreSQL, recorded at the driver (pg's
 * Client#query), whether they came through Sequelize or straight from a
 * service: one per database round trip. Their texts, in order.
 */
export async function recordStatements(work: () => Promise<unknown>): Promise<string[]> {
  const texts: string[] = [];
  const original = pg.Client.prototype.query;
  const spy = jest.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
    this: pg.Client,
    ...args: unknown[]
  ) {
    const [first] = args as [string | { text: string }];
    texts.push(typeof first === 'string' ? first : first.text);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as never);
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return texts;
}

/** How many statements (round trips) `work` sends. */
export async function countStatements(work: () => Promise<unknown>): Promise<number> {
  return (await recordStatements(work)).length;
}
