import type { Sequelize } from 'sequelize';
import { createDatabase, Database } from '../../lib/db';
import { checkHealth } from '../../lib/health';
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
    const port = await freePort();
    const db = createDatabase({
      databaseUrl: `postgres://postgres@127.0.0.1:${port}/nothing`,
      caFile: undefined,
      connectTimeoutMs: 1000,
    });
    handles.push(db);
    await expect(
      checkHealth({ sequelize: db.sequelize, requiredMigrations: required }),
    ).rejects.toThrow();
  });
});
