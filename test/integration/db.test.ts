import net from 'node:net';
import pg from 'pg';
import { QueryTypes } from 'sequelize';
import { closeContainerPools, endInvocation } from '../../lib/containerPools';
import { createDatabase } from '../../lib/db';
import { isDatabaseUnavailable } from '../../lib/http';
import { closeIdleConnections, createPgDatabase, getPgDatabase } from '../../lib/pgDatabase';
import type { DatabaseSettings } from '../../lib/settings';
import { DatabaseConnectError, inTransaction, type SqlPool, withSession } from '../../lib/sql';
import { freePort } from '../helpers/offline';
import { adminUrl, uniqueDatabaseName } from '../helpers/pgAdmin';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

// Hand-written statements run on connections of either pool (lib/sql.ts): the
// pg pool of the send and verify functions, or Sequelize's pool. One
// connection in the pool, so a connection handed back dirty or broken would
// show in the next call.
let testDb: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  testDb = await createTestDatabase();
  admin = new pg.Client({ connectionString: testDb.url });
  await admin.connect();
  await admin.query('CREATE TABLE session_probe (n int NOT NULL)');
});

afterAll(async () => {
  await admin?.end();
  await testDb?.drop();
});

interface Handle {
  sql: SqlPool;
  close(): Promise<void>;
}

const settingsFor = (databaseUrl: string, connectTimeoutMs = 10000): DatabaseSettings => ({
  databaseUrl,
  caFile: undefined,
  connectTimeoutMs,
});

const POOLS: Record<string, (settings: DatabaseSettings) => Handle> = {
  'a pg pool': (settings) => {
    const db = createPgDatabase(settings, { max: 1 });
    return { sql: db.sql, close: () => db.pool.end() };
  },
  "Sequelize's pool": (settings) => {
    const db = createDatabase(settings, { max: 1 });
    return { sql: db.sql, close: () => db.sequelize.close() };
  },
};

const SLEEPERS_SQL = `SELECT pid FROM pg_stat_activity
  WHERE datname = current_database() AND query = 'SELECT pg_sleep(30)'`;

/** Waits until a `SELECT pg_sleep(30)` runs on the test database; its backends' pids. */
async function sleepers(): Promise<number[]> {
  for (let i = 0; i < 200; i += 1) {
    const { rows } = await admin.query<{ pid: number }>(SLEEPERS_SQL);
    if (rows.length > 0) return rows.map((r) => r.pid);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the sleep never started');
}

/** Ends the sleeping backends and waits until they are gone. */
async function endSleepers(): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const { rows } = await admin.query<{ pid: number }>(SLEEPERS_SQL);
    if (rows.length === 0) return;
    for (const { pid } of rows) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the sleep did not end');
}

describe.each(Object.keys(POOLS))('sessions on %s', (kind) => {
  let db: Handle;

  beforeAll(() => {
    db = POOLS[kind]!(settingsFor(testDb.url));
  });

  afterAll(async () => {
    await db?.close();
  });

  beforeEach(async () => {
    await admin.query('TRUNCATE session_probe');
  });

  const probe = () =>
    withSession(db.sql, async (sql) => {
      const [row] = await sql.rows<{ n: number; pid: number; open: boolean }>(
        `SELECT (SELECT count(*)::int FROM session_probe) AS n, pg_backend_pid() AS pid,
                now() <> statement_timestamp() AS open`,
      );
      return row as { n: number; pid: number; open: boolean };
    });

  describe('inTransaction', () => {
    it('commits what the work wrote and answers its result', async () => {
      const result = await inTransaction(db.sql, async (sql) => {
        await sql.rows('INSERT INTO session_probe VALUES ($1), ($2)', [1, 2]);
        const [inside] = await sql.rows<{ n: number }>(
          'SELECT count(*)::int AS n FROM session_probe',
        );
        return inside?.n;
      });
      expect(result).toBe(2);
      expect((await probe()).n).toBe(2);
    });

    it('sends BEGIN with the first statement, and the last statement with COMMIT', async () => {
      const before = await probe();
      const seen = () => admin.query<{ n: number }>('SELECT count(*)::int AS n FROM session_probe');
      const outcome = await inTransaction(db.sql, async (sql) => {
        const first = await sql.beginWith<{ n: number }>(
          'INSERT INTO session_probe VALUES (7) RETURNING n',
        );
        // Not committed yet: another session does not see it.
        const outside = (await seen()).rows[0]?.n;
        await sql.commitWith('INSERT INTO session_probe VALUES (8)');
        return { first, outside, afterCommit: (await seen()).rows[0]?.n };
      });
      expect(outcome).toEqual({ first: [{ n: 7 }], outside: 0, afterCommit: 2 });
      expect(await probe()).toEqual({ n: 2, pid: before.pid, open: false });
    });

    it('rolls back when the work throws, and the connection serves the next call outside any transaction', async () => {
      const before = await probe();
      await expect(
        inTransaction(db.sql, async (sql) => {
          await sql.rows('INSERT INTO session_probe VALUES ($1)', [1]);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      const after = await probe();
      expect(after).toEqual({ n: 0, pid: before.pid, open: false });
    });

    it('rolls back after a failed statement and answers the driver error', async () => {
      const before = await probe();
      const failure = await inTransaction(db.sql, async (sql) => {
        await sql.rows('INSERT INTO session_probe VALUES ($1)', [1]);
        await sql.rows('INSERT INTO session_probe VALUES ($1)', [null]);
      }).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(pg.DatabaseError);
      expect(failure).toMatchObject({ code: '23502' });
      expect(isDatabaseUnavailable(failure)).toBe(false);
      expect(await probe()).toEqual({ n: 0, pid: before.pid, open: false });
    });
  });

  describe('withSession', () => {
    it('runs each statement in its own transaction', async () => {
      await expect(
        withSession(db.sql, async (sql) => {
          await sql.rows('INSERT INTO session_probe VALUES ($1)', [1]);
          await sql.rows('INSERT INTO session_probe VALUES ($1)', [null]);
        }),
      ).rejects.toMatchObject({ code: '23502' });
      expect((await probe()).n).toBe(1);
    });

    it('answers a 503-class error when the session is killed, and the next call gets a new connection', async () => {
      const { pid } = await probe();
      const failure = withSession(db.sql, (sql) => sql.rows('SELECT pg_sleep(30)')).catch(
        (err: unknown) => err,
      );
      // Wait until the sleep runs on that backend, then end it from outside.
      expect(await sleepers()).toEqual([pid]);
      await endSleepers();
      const err = await failure;
      expect(err).toMatchObject({ code: '57P01', severity: 'FATAL' });
      expect(isDatabaseUnavailable(err)).toBe(true);
      const next = await probe();
      expect(next.pid).not.toBe(pid);
    });
  });
});

/** A TCP relay to the test database whose connections can be cut, as a network drop would. */
async function cuttableRelay(target: string): Promise<{ url: string; cut(): void; close(): void }> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const server = net.connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, server]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(server).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: url.toString(),
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => server.close(),
  };
}

describe('a connection lost under a statement', () => {
  it('answers a 503-class error on either pool, bare or wrapped by Sequelize, and the next call reconnects', async () => {
    const relay = await cuttableRelay(testDb.url);
    const sequelizeDb = createDatabase(settingsFor(relay.url), { max: 1 });
    const pgDb = createPgDatabase(settingsFor(relay.url), { max: 1 });
    try {
      const statements = {
        'pg pool': () => withSession(pgDb.sql, (sql) => sql.rows('SELECT pg_sleep(30)')),
        'Sequelize pool, bare': () =>
          withSession(sequelizeDb.sql, (sql) => sql.rows('SELECT pg_sleep(30)')),
        'Sequelize pool, sequelize.query': () => sequelizeDb.sequelize.query('SELECT pg_sleep(30)'),
      };
      for (const [path, run] of Object.entries(statements)) {
        const failure = run().catch((err: unknown) => err);
        await sleepers();
        relay.cut();
        const err = await failure;
        expect({ path, unavailable: isDatabaseUnavailable(err) }).toEqual({
          path,
          unavailable: true,
        });
        // The server notices the lost client only when the sleep ends; end it now.
        await endSleepers();
      }
      const rows = await sequelizeDb.sequelize.query('SELECT 1 AS one', {
        type: QueryTypes.SELECT,
      });
      expect(rows).toEqual([{ one: 1 }]);
      expect(await withSession(pgDb.sql, (sql) => sql.rows('SELECT 1 AS one'))).toEqual([
        { one: 1 },
      ]);
    } finally {
      await sequelizeDb.sequelize.close();
      await pgDb.pool.end();
      relay.close();
    }
  });
});

describe('the pg pool when no connection can be had', () => {
  /** The error a first session on `url` fails with. */
  async function firstSessionError(url: string, connectTimeoutMs = 2000): Promise<unknown> {
    const db = createPgDatabase(settingsFor(url, connectTimeoutMs));
    try {
      return await withSession(db.sql, (sql) => sql.rows('SELECT 1')).catch((err: unknown) => err);
    } finally {
      await db.pool.end();
    }
  }

  it('answers 503 when nothing listens (ECONNREFUSED)', async () => {
    const err = await firstSessionError(`postgres://postgres@127.0.0.1:${await freePort()}/x`);
    expect(err).toBeInstanceOf(DatabaseConnectError);
    expect((err as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it('answers 503 when the server never answers, after the connect timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const err = await firstSessionError(`postgres://postgres@127.0.0.1:${port}/x`, 500);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(err).toBeInstanceOf(DatabaseConnectError);
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it('answers 503 when the server turns the login down, as Sequelize does', async () => {
    const url = new URL(testDb.url);
    url.username = uniqueDatabaseName('vs_nobody');
    const err = await firstSessionError(url.toString());
    expect(err).toBeInstanceOf(DatabaseConnectError);
    expect(isDatabaseUnavailable(err)).toBe(true);
  });

  it('answers 503 when the role has no connection slot left (53300)', async () => {
    const role = uniqueDatabaseName('vs_one_slot');
    const server = new pg.Client({ connectionString: adminUrl() });
    await server.connect();
    const holder = new pg.Client({ connectionString: roleUrl(role) });
    try {
      await server.query(`CREATE ROLE ${role} LOGIN PASSWORD 'slot' CONNECTION LIMIT 1`);
      await holder.connect();
      const err = await firstSessionError(roleUrl(role));
      expect(err).toBeInstanceOf(DatabaseConnectError);
      expect((err as Error).cause).toMatchObject({ code: '53300' });
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      await holder.end().catch(() => undefined);
      await server.query(`DROP ROLE IF EXISTS ${role}`);
      await server.end();
    }
  });

  it('answers 503 when every pooled connection stays in use past the connect timeout', async () => {
    const db = createPgDatabase(settingsFor(testDb.url, 300), { max: 1 });
    try {
      let release: () => void = () => undefined;
      const held = withSession(db.sql, () => new Promise<void>((r) => (release = r)));
      const err = await withSession(db.sql, (sql) => sql.rows('SELECT 1')).catch((e: unknown) => e);
      release();
      await held;
      expect(err).toBeInstanceOf(DatabaseConnectError);
      expect(isDatabaseUnavailable(err)).toBe(true);
    } finally {
      await db.pool.end();
    }
  });

  function roleUrl(role: string): string {
    const url = new URL(testDb.url);
    url.username = role;
    url.password = 'slot';
    return url.toString();
  }
});

describe('idle connections of the pg pool', () => {
  /** This test database's sessions, not counting the admin client. */
  async function sessions(): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    return rows[0]!.n;
  }

  async function settle(expected: number): Promise<number> {
    let n = await sessions();
    for (let i = 0; i < 100 && n !== expected; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      n = await sessions();
    }
    return n;
  }

  it('closes the idle ones on demand and keeps the one in use', async () => {
    const db = createPgDatabase(settingsFor(testDb.url), { max: 2 });
    try {
      // Two sessions at once: two connections, both idle afterwards.
      await Promise.all([1, 2].map(() => withSession(db.sql, (sql) => sql.rows('SELECT 1'))));
      expect(db.pool.idleCount).toBe(2);
      let release: () => void = () => undefined;
      const held = withSession(db.sql, () => new Promise<void>((r) => (release = r)));
      await new Promise((resolve) => setImmediate(resolve));
      expect(db.pool.idleCount).toBe(1);

      await closeIdleConnections(db.pool);
      expect(db.pool.totalCount).toBe(1);
      expect(await settle(1)).toBe(1);
      release();
      await held;
      // The pool serves on, connecting anew when it must.
      await closeIdleConnections(db.pool);
      expect(await settle(0)).toBe(0);
      expect(await withSession(db.sql, (sql) => sql.rows('SELECT 2 AS two'))).toEqual([{ two: 2 }]);
    } finally {
      await db.pool.end();
    }
  });

  it('are closed at the end of an invocation under serverless-offline only', async () => {
    const container = getPgDatabase(settingsFor(testDb.url));
    try {
      await withSession(container.sql, (sql) => sql.rows('SELECT 1'));
      await endInvocation({});
      expect(container.pool.idleCount).toBe(1);
      await endInvocation({ IS_OFFLINE: 'true' });
      expect(container.pool.idleCount).toBe(0);
      expect(await settle(0)).toBe(0);
    } finally {
      await closeContainerPools();
    }
  });
});

describe('a connection of the pg pool opened ahead of need (warm)', () => {
  /** The test database's sessions, not counting the admin client. */
  const backends = async () =>
    (
      await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      )
    ).rows[0]!.n;

  it('is started once, only while the pool has no connection, and the session that follows uses it', async () => {
    const db = createPgDatabase(settingsFor(testDb.url), { max: 2 });
    try {
      expect(db.sql.warm?.()).toBe(true);
      // Already opening: not a second one.
      expect(db.sql.warm?.()).toBe(false);
      expect(await withSession(db.sql, (sql) => sql.rows('SELECT 1 AS one'))).toEqual([{ one: 1 }]);
      expect(db.pool.totalCount).toBe(1);
      expect(await backends()).toBe(1);
      // The pool has a connection now: nothing to open ahead.
      expect(db.sql.warm?.()).toBe(false);
    } finally {
      await db.pool.end();
    }
  });

  it('is still the one a session uses when that session comes after it opened', async () => {
    const db = createPgDatabase(settingsFor(testDb.url), { max: 2 });
    try {
      expect(db.sql.warm?.()).toBe(true);
      for (let i = 0; i < 200 && db.pool.idleCount === 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(db.pool.idleCount).toBe(1);
      await withSession(db.sql, (sql) => sql.rows('SELECT 1'));
      expect(db.pool.totalCount).toBe(1);
      expect(await backends()).toBe(1);
    } finally {
      await db.pool.end();
    }
  });

  it("that fails is the next session's 503, after one connect timeout, not two", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const db = createPgDatabase(settingsFor(`postgres://postgres@127.0.0.1:${port}/x`, 400));
    try {
      const started = Date.now();
      expect(db.sql.warm?.()).toBe(true);
      const err = await withSession(db.sql, (sql) => sql.rows('SELECT 1')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseConnectError);
      expect(isDatabaseUnavailable(err)).toBe(true);
      // One connection attempt: the silent server saw one socket.
      expect(sockets.size).toBe(1);
      expect(Date.now() - started).toBeLessThan(800);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
      await db.pool.end();
    }
  });
});
