import { apiClient } from '../helpers/api';
import { freePort, OfflineServer, startOffline } from '../helpers/offline';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

describe('GET /health through serverless-offline', () => {
  let testDb: TestDatabase;
  let up: OfflineServer;
  let down: OfflineServer;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const closedPort = await freePort();
    [up, down] = await Promise.all([
      startOffline({ DATABASE_URL: testDb.url }),
      startOffline({
        DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${closedPort}/nothing`,
      }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([up?.stop(), down?.stop()]);
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
});
