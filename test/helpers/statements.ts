import pg from 'pg';

/**
 * The statements `work` sends to PostgreSQL, counted at the driver (pg's
 * Client#query), whether they came through Sequelize or straight from a
 * service: one per database round trip.
 */
export async function countStatements(work: () => Promise<unknown>): Promise<number> {
  let n = 0;
  const original = pg.Client.prototype.query;
  const spy = jest.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
    this: pg.Client,
    ...args: unknown[]
  ) {
    n += 1;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as never);
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return n;
}
