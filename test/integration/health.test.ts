import type { Sequelize } from 'sequelize';
import { createDatabase, Database } from '../../lib/db';
import { cachedHealthCheck, checkHealth, type Health } from '../../lib/health';
import { migrations } from '../../lib/migrator/migrations';
import { freePort } from '../helpers/offline';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

const required = migrations.map((m) => m.name);
const newest = required.at(-1) as string;

const databases: TestDatabase[] = [];
const handles: Database[] = [];

async function database(opts: { migrated: boolean }): Promise<Database> {
  const testDb = await createTestDatabase(opts);
  databases.push(testDb);
  const db = createDatabase({ databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 3000 });
  handles.push(db);
  return db;
}

/** The sequelize handle, counting the queries sent through it. */
function counting(sequelize: Sequelize) {
  const sent: string[] = [];
  const counted = {
    query: ((sql: string, options?: object) => {
      sent.push(sql);
      return sequelize.query(sql, options);
    }) as Sequelize['query'],
  };
  return { sequelize: counted, sent };
}

afterAll(async () => {
  await Promise.all(handles.map((db) => db.sequelize.close()));
  await Promise.all(databases.map((d) => d.drop()));
});

/** A handle on a port where nothing listens (closed after the file). */
async function unreachableDatabase() {
  const port = await freePort();
  const db = createDatabase({
    databaseUrl: `postgres://postgres@127.0.0.1:${port}/nothing`,
    caFile: undefined,
    connectTimeoutMs: 1000,
  });
  handles.push(db);
  return db;
}

describe('checkHealth against PostgreSQL', () => {
  it('is ok with every shipped migration applied, in one query', async () => {
    const db = await database({ migrated: true });
    const { sequelize, sent } = counting(db.sequelize);
    expect(await checkHealth({ sequelize, requiredMigrations: required })).toEqual({
      status: 'ok',
      database: 'ok',
    });
    expect(sent).toHaveLength(1);
  });

  it('is behind when a migration the code ships is not in SequelizeMeta, and ok again after', async () => {
    const db = await database({ migrated: true });
    const check = () => checkHealth({ sequelize: db.sequelize, requiredMigrations: required });
    await db.sequelize.query('DELETE FROM "SequelizeMeta" WHERE name = $1', { bind: [newest] });
    expect(await check()).toEqual({ status: 'degraded', database: 'ok', schema: 'behind' });
    await db.sequelize.query('INSERT INTO "SequelizeMeta" VALUES ($1, now(), now())', {
      bind: [newest],
    });
    expect(await check()).toEqual({ status: 'ok', database: 'ok' });
  });

  it('is behind, not unavailable, when an older one alone is missing', async () => {
    const db = await database({ migrated: true });
    await db.sequelize.query('DELETE FROM "SequelizeMeta" WHERE name = $1', {
      bind: [required[0]],
    });
    expect(await checkHealth({ sequelize: db.sequelize, requiredMigrations: required })).toEqual({
      status: 'degraded',
      database: 'ok',
      schema: 'behind',
    });
  });

  it('is ok when the database is ahead of the code (rows of a newer build)', async () => {
    const db = await database({ migrated: true });
    await db.sequelize.query(
      `INSERT INTO "SequelizeMeta" VALUES ('20991231000000-from-a-newer-build.cjs', now(), now())`,
    );
    expect(await checkHealth({ sequelize: db.sequelize, requiredMigrations: required })).toEqual({
      status: 'ok',
      database: 'ok',
    });
  });

  it('is behind, in one query, on a database without SequelizeMeta', async () => {
    const db = await database({ migrated: false });
    const { sequelize, sent } = counting(db.sequelize);
    expect(await checkHealth({ sequelize, requiredMigrations: required })).toEqual({
      status: 'degraded',
      database: 'ok',
      schema: 'behind',
    });
    expect(sent).toHaveLength(1);
  });

  it('throws when the database does not answer', async () => {
    const db = await unreachableDatabase();
    await expect(
      checkHealth({ sequelize: db.sequelize, requiredMigrations: required }),
    ).rejects.toThrow();
  });
});

describe('cachedHealthCheck (one query per window per container)', () => {
  const unavailable: Health = { status: 'degraded', database: 'unavailable' };

  /** A cached check over `sequelize` with a clock the test moves. */
  function cached(sequelize: Pick<Sequelize, 'query'>, ttlSeconds: number) {
    const clock = { now: 1_000_000 };
    const check = cachedHealthCheck({
      check: () =>
        checkHealth({ sequelize, requiredMigrations: required }).catch(() => unavailable),
      now: () => clock.now,
      ttlSeconds,
    });
    return { check, clock };
  }

  it('answers ten requests within the window with one query, and queries again after it', async () => {
    const db = await database({ migrated: true });
    const { sequelize, sent } = counting(db.sequelize);
    const { check, clock } = cached(sequelize, 5);
    for (let i = 0; i < 10; i += 1) {
      expect(await check()).toEqual({ status: 'ok', database: 'ok' });
      clock.now += 400; // ten requests over 3.6 s
    }
    expect(sent).toHaveLength(1);
    clock.now = 1_000_000 + 5_000; // the window is over
    expect(await check()).toEqual({ status: 'ok', database: 'ok' });
    expect(sent).toHaveLength(2);
  });

  it('shares one query among requests that arrive while it runs', async () => {
    const db = await database({ migrated: true });
    const { sequelize, sent } = counting(db.sequelize);
    const { check } = cached(sequelize, 5);
    const answers = await Promise.all(Array.from({ length: 5 }, () => check()));
    for (const a of answers) expect(a).toEqual({ status: 'ok', database: 'ok' });
    expect(sent).toHaveLength(1);
  });

  it('reuses a schema-behind answer for the window, then sees the migration applied', async () => {
    const db = await database({ migrated: true });
    await db.sequelize.query('DELETE FROM "SequelizeMeta" WHERE name = $1', { bind: [newest] });
    const { sequelize, sent } = counting(db.sequelize);
    const { check, clock } = cached(sequelize, 5);
    const behind = { status: 'degraded', database: 'ok', schema: 'behind' };
    expect(await check()).toEqual(behind);
    await db.sequelize.query('INSERT INTO "SequelizeMeta" VALUES ($1, now(), now())', {
      bind: [newest],
    });
    clock.now += 4_999;
    expect(await check()).toEqual(behind);
    expect(sent).toHaveLength(1);
    clock.now += 1;
    expect(await check()).toEqual({ status: 'ok', database: 'ok' });
    expect(sent).toHaveLength(2);
  });

  it('reuses an unavailable answer for the window: a flood during an outage is one attempt', async () => {
    const db = await unreachableDatabase();
    const { sequelize, sent } = counting(db.sequelize);
    const { check, clock } = cached(sequelize, 5);
    for (let i = 0; i < 5; i += 1) expect(await check()).toEqual(unavailable);
    expect(sent).toHaveLength(1);
    clock.now += 5_000;
    expect(await check()).toEqual(unavailable);
    expect(sent).toHaveLength(2);
  });

  it('queries on every request with HEALTH_CACHE_SECONDS=0', async () => {
    const db = await database({ migrated: true });
    const { sequelize, sent } = counting(db.sequelize);
    const { check } = cached(sequelize, 0);
    for (let i = 0; i < 3; i += 1) await check();
    expect(sent).toHaveLength(3);
  });
});
