import * as sequelize from 'sequelize';
import { isDatabaseUnavailable, SEQUELIZE_UNAVAILABLE_ERRORS } from '../../lib/http';
import { DatabaseConnectError } from '../../lib/sql';

// lib/http.ts recognises Sequelize's errors by name, so that the send and
// verify bundles (pg alone) need not load Sequelize: every class Sequelize
// exports is checked here against what `instanceof` would say.

type ErrorClass = new (parent: unknown) => Error & { original?: unknown };

const classes = (Object.entries(sequelize) as [string, unknown][]).filter(
  (entry): entry is [string, ErrorClass] =>
    typeof entry[1] === 'function' &&
    (entry[1] === sequelize.BaseError ||
      (entry[1] as ErrorClass).prototype instanceof sequelize.BaseError),
);

/** Sequelize's ConnectionError family and its TimeoutError: no connection, or no answer in time. */
const meansUnavailable = (cls: ErrorClass) =>
  cls === (sequelize.ConnectionError as unknown) ||
  cls.prototype instanceof sequelize.ConnectionError ||
  cls === (sequelize.TimeoutError as unknown);

const driverError = (fields: { code?: string; message?: string }) =>
  Object.assign(new Error(fields.message ?? 'driver error'), { sql: 'SELECT 1' }, fields);

describe('isDatabaseUnavailable on Sequelize errors, by name', () => {
  it('finds every error class Sequelize exports', () => {
    expect(classes.length).toBeGreaterThan(20);
    const unavailable = classes.filter(([, cls]) => meansUnavailable(cls));
    expect(new Set(unavailable.map(([, cls]) => new cls(driverError({})).name))).toEqual(
      SEQUELIZE_UNAVAILABLE_ERRORS,
    );
  });

  it.each(classes.map(([name, cls]) => [name, cls] as const))(
    '%s wrapping a statement error (23505)',
    (_name, cls) => {
      const err = new cls(driverError({ code: '23505' }));
      expect(isDatabaseUnavailable(err)).toBe(meansUnavailable(cls));
    },
  );

  it.each(classes.map(([name, cls]) => [name, cls] as const))(
    '%s wrapping a lost session (57P01)',
    (_name, cls) => {
      const err = new cls(driverError({ code: '57P01' }));
      // Any error that carries the driver's error (`original`) is judged by it.
      const carried = (err.original as { code?: unknown } | undefined)?.code === '57P01';
      expect(isDatabaseUnavailable(err)).toBe(meansUnavailable(cls) || carried);
    },
  );
});

describe('isDatabaseUnavailable on driver errors and the pg pool', () => {
  it.each([
    ['57P01', true],
    ['53300', true],
    ['08006', true],
    ['ECONNRESET', true],
    ['23505', false],
    ['40001', false],
  ] as const)('code %s: %s', (code, expected) => {
    expect(isDatabaseUnavailable(driverError({ code }))).toBe(expected);
  });

  it('a socket closed under a query (no code)', () => {
    expect(
      isDatabaseUnavailable(driverError({ message: 'Connection terminated unexpectedly' })),
    ).toBe(true);
  });

  it('any failure to get a connection from the pg pool, whatever its cause', () => {
    for (const cause of [driverError({ code: '28P01' }), new Error('timeout exceeded'), 'x']) {
      expect(isDatabaseUnavailable(new DatabaseConnectError(cause))).toBe(true);
    }
  });

  it('anything else', () => {
    expect(isDatabaseUnavailable(new Error('bug'))).toBe(false);
    expect(isDatabaseUnavailable('ECONNRESET')).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
  });
});
