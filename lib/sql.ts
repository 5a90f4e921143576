import pg from 'pg';

/**
 * Hand-written statements on one pooled connection, over either pool the
 * service uses: a `pg.Pool` (lib/pgDatabase.ts; the send and verify functions,
 * which never load Sequelize) or Sequelize's own pool (lib/db.ts; every other
 * function). Either way a statement is one `pg` Client#query, so the rows, the
 * errors and the round trips are the same.
 */
export interface SqlSession {
  /** The rows of one statement with `$1`-style parameters. */
  rows<R>(text: string, values?: readonly unknown[]): Promise<R[]>;
}

/** A session inside `inTransaction`. */
export interface TransactionSession extends SqlSession {
  /**
   * Runs one last statement (its values written in as literals) and COMMIT in
   * a single round trip; the transaction then ends when `work` returns.
   */
  commitWith(statement: string): Promise<void>;
  /**
   * BEGIN and the transaction's first statement (its values written in as
   * literals) in a single round trip; the statement's rows.
   */
  beginWith<R>(statement: string): Promise<R[]>;
}

/** One `pg` result, or one per statement of a multi-statement simple query. */
type QueryAnswer = { rows: unknown[] } | { rows: unknown[] }[];

/** A connection lent by a pool for one session. */
export interface LeasedConnection {
  query(text: string, values?: readonly unknown[]): Promise<QueryAnswer>;
  /** Gives it back; `reusable: false` closes it instead (the session may be broken). */
  release(reusable: boolean): Promise<void>;
}

/**
 * Where sessions take their connection from. `connect` fails with a
 * DatabaseConnectError whatever the cause, as Sequelize's pool fails with its
 * ConnectionError family: both answer 503 (lib/http.ts).
 */
export interface SqlPool {
  connect(): Promise<LeasedConnection>;
  /**
   * Starts opening a connection now if the pool has none (a container's first
   * request, or the first after its connections were closed idle), so that the
   * server starts its session while the request checks its token and body.
   * True when it started one: the caller then lets the event loop turn once,
   * which sends the connection's first packets (lib/httpRoute.ts). The next
   * `connect` waits for it, and fails with its error if it failed.
   */
  warm?(): boolean;
}

/**
 * Starts opening a connection if the pool has none (`SqlPool#warm`) and lets
 * the event loop turn once, which sends its first packets: the server then
 * sets up the session while this request goes on with its own work.
 */
export async function warmUp(pool: SqlPool): Promise<void> {
  if (pool.warm?.()) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * No connection could be had: the server refused, did not answer in time, is
 * out of connection slots, turned the login down, or the pool had none free
 * in time. The driver's error is the `cause`.
 */
export class DatabaseConnectError extends Error {
  constructor(cause: unknown) {
    super(
      `could not get a database connection: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'DatabaseConnectError';
  }
}

/**
 * A statement with its `$n` parameters written in as literals, for the simple
 * query protocol (several statements in one round trip). Integers go in as
 * they are, strings quoted by pg's escapeLiteral; nothing else is accepted.
 */
export function inlineValues(text: string, values: readonly (number | string)[]): string {
  return text.replace(/\$(\d+)\b/g, (_, n: string) => {
    const value = values[Number(n) - 1];
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    if (typeof value === 'string') return pg.escapeLiteral(value);
    throw new Error(`inlineValues: no integer or string for $${n}`);
  });
}

/** A session that can also send several statements (no parameters) in one round trip. */
interface RawSession extends SqlSession {
  results(text: string): Promise<{ rows: unknown[] }[]>;
}

/**
 * Runs `work` on one pooled connection, each statement in its own implicit
 * transaction, then gives the connection back.
 */
export function withSession<T>(pool: SqlPool, work: (sql: SqlSession) => Promise<T>): Promise<T> {
  return onPooledConnection(pool, work);
}

/**
 * Runs `work` in one transaction (BEGIN ... COMMIT; ROLLBACK when it throws) on
 * one pooled connection, as `sequelize.transaction(cb)` does at its default
 * isolation level (READ COMMITTED), without its per-statement cost.
 */
export function inTransaction<T>(
  pool: SqlPool,
  work: (sql: TransactionSession) => Promise<T>,
): Promise<T> {
  return onPooledConnection(pool, async (sql, discard) => {
    // BEGIN is sent with the first statement: alone before `rows`, or in the
    // same round trip as the statement given to `beginWith`.
    let begun = false;
    let committed = false;
    const begin = async () => {
      if (!begun) {
        begun = true;
        await sql.rows('BEGIN');
      }
    };
    const tx: TransactionSession = {
      async rows<R>(text: string, values?: readonly unknown[]) {
        await begin();
        return sql.rows<R>(text, values);
      },
      async beginWith<R>(statement: string) {
        if (begun) throw new Error('beginWith: the transaction has begun');
        begun = true;
        // No parameters: the simple query protocol, which takes several
        // statements at once and answers with a result for each.
        const results = await sql.results(`BEGIN;\n${statement}`);
        return (results[1]?.rows ?? []) as R[];
      },
      async commitWith(statement: string) {
        await begin();
        // An error in the first statement skips the COMMIT.
        await sql.results(`${statement};\nCOMMIT`);
        committed = true;
      },
    };
    let result: T;
    try {
      result = await work(tx);
    } catch (err) {
      if (committed || !begun) throw err;
      // A session whose ROLLBACK failed may still be inside the transaction.
      await sql.rows('ROLLBACK').catch(discard);
      throw err;
    }
    if (begun && !committed) await sql.rows('COMMIT');
    return result;
  });
}

async function onPooledConnection<T>(
  pool: SqlPool,
  work: (sql: RawSession, discard: () => void) => Promise<T>,
): Promise<T> {
  const connection = await pool.connect();
  let reusable = true;
  const discard = () => {
    reusable = false;
  };
  const query = async (text: string, values?: readonly unknown[]) => {
    try {
      return await connection.query(text, values);
    } catch (err) {
      // A statement error the server reported leaves the session usable; a
      // FATAL one (the server ended the session) or any other (a reset
      // socket, a closed connection) does not: it is not pooled again.
      if (
        !(err instanceof pg.DatabaseError) ||
        err.severity === 'FATAL' ||
        err.severity === 'PANIC'
      ) {
        discard();
      }
      throw err;
    }
  };
  const session: RawSession = {
    async rows<R>(text: string, values?: readonly unknown[]) {
      const answer = await query(text, values);
      return (Array.isArray(answer) ? (answer.at(-1)?.rows ?? []) : answer.rows) as R[];
    },
    async results(text: string) {
      // Several statements answer with an array of results, one with one result.
      const answer = await query(text);
      return Array.isArray(answer) ? answer : [answer];
    },
  };
  try {
    return await work(session, discard);
  } finally {
    await connection.release(reusable).catch(() => undefined);
  }
}
