import type { Sequelize } from 'sequelize';
import { migrations } from '../../lib/migrator/migrations';
import { createMigrationSequelize, runMigrations } from '../../lib/migrator/runner';
import { apiClient } from '../helpers/api';
import { freePort, OfflineServer, startOffline } from '../helpers/offline';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

describe('GET /health through serverless-offline', () => {
  let testDb: TestDatabase;
  let up: OfflineServer;
  let down: OfflineServer;
  let migrator: Sequelize | undefined;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const closedPort = await freePort();
    [up, down] = await Promise.all([
      // Each check reaches the database: the schema-behind test changes it between requests.
      startOffline({ DATABASE_URL: testDb.url, HEALTH_CACHE_SECONDS: '0' }),
      startOffline({
        DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${closedPort}/nothing`,
      }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([up?.stop(), down?.stop()]);
    await migrator?.close();
    await testDb?.drop();
  });

  it('answers ok without a token when the database answers', async () => {
    const res = await apiClient(up.baseUrl)('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'ok' });
  });

  it('answers 503 degraded, quickly and without configuration, when the database is down', async () => {
    const started = Date.now();
    const res = await apiClient(down.baseUrl)('GET', '/health');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'degraded', database: 'unavailable' });
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.text).not.toMatch(/postgres:|127\.0\.0\.1|nothing/);
    // "Within a few seconds", not a hang: generous bound for a loaded machine.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('answers 503 schema behind after the last migration is undone, and ok again after up', async () => {
    const settings = { lockTimeoutMs: 5000, statementTimeoutMs: 60000, lockWaitMs: 10000 };
    migrator = createMigrationSequelize(
      { databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 5000 },
      settings,
    );
    const migrate = (command: 'up' | 'down') =>
      runMigrations({ sequelize: migrator as Sequelize, migrations, settings }, { command });
    const health = () => apiClient(up.baseUrl)('GET', '/health');

    expect(await migrate('down')).toMatchObject({ ran: [migrations.at(-1)?.name] });
    const behind = await health();
    expect(behind.status).toBe(503);
    expect(behind.body).toEqual({ status: 'degraded', database: 'ok', schema: 'behind' });
    expect(behind.headers.get('retry-after')).toBe('5');

    await migrate('up');
    const ok = await health();
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ status: 'ok', database: 'ok' });
  }, 60_000);
});
