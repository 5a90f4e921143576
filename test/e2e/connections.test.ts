import { Client } from 'pg';
import { apiClient, ApiCall } from '../helpers/api';
import { getEvent, LambdaContainer } from '../helpers/lambdaContainer';
import { OfflineServer, startOffline } from '../helpers/offline';
import { adminUrl } from '../helpers/pgAdmin';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens';

/**
 * Issue 3: one Sequelize per container, reused while warm, and no connection
 * leak when serverless-offline reloads handlers. With --reloadHandler every
 * request runs in a new worker thread (a new container with a globalThis of its
 * own), and an idle worker lives on for a minute or more. Measured before the
 * fix: one more connection per request (40 after 40 requests) until the pool's
 * idle eviction, 30 s or more later. The connections the service holds must be
 * bounded by the requests in flight, not by the requests made.
 */

/** lib/db.ts: the most connections one container's pool opens. */
const POOL_MAX = 2;
const SEQUENTIAL_REQUESTS = 40;
const CONCURRENCY = 8;
const CONCURRENT_ROUNDS = 5;

/** Counts, from outside the test database, the connections open to it. */
class ConnectionWatch {
  private readonly client = new Client({
    connectionString: adminUrl(),
    application_name: 'offline-reload-test',
  });
  private sampling: Promise<void> | undefined;
  private stopped = false;
  /** The most connections seen since the last `start()`. */
  peak = 0;

  constructor(private readonly database: string) {}

  async connect(): Promise<void> {
    await this.client.connect();
  }

  /** Connections to the database now. The watch itself is on another database. */
  async count(): Promise<number> {
    const { rows } = await this.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND backend_type = 'client backend'`,
      [this.database],
    );
    return rows[0]!.n;
  }

  /** Samples the count in the background until `stop()`. */
  start(): void {
    this.peak = 0;
    this.stopped = false;
    this.sampling = (async () => {
      while (!this.stopped) {
        this.peak = Math.max(this.peak, await this.count());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
  }

  async stop(): Promise<number> {
    this.stopped = true;
    await this.sampling;
    this.peak = Math.max(this.peak, await this.count());
    return this.peak;
  }

  /** Polls (bounded) until `accept(count)`; returns the last count. */
  async settle(accept: (n: number) => boolean, withinMs = 15_000): Promise<number> {
    const deadline = Date.now() + withinMs;
    let n = await this.count();
    while (!accept(n) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      n = await this.count();
    }
    return n;
  }

  end(): Promise<void> {
    return this.client.end();
  }
}

describe('database connections under serverless-offline --reloadHandler', () => {
  let testDb: TestDatabase;
  let server: OfflineServer;
  let api: ApiCall;
  let watch: ConnectionWatch;
  let tokens: string[];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const seed = new Client({ connectionString: testDb.url });
    await seed.connect();
    const { rows } = await seed.query<{ id: number }>(
      `INSERT INTO users (email, name)
       SELECT 'reload-' || g || '-' || $1 || '@example.com', 'Reload ' || g
         FROM generate_series(1, $2::int) AS g
       RETURNING id`,
      [testDb.name, CONCURRENCY],
    );
    await seed.end();
    tokens = await Promise.all(rows.map((r) => tokenFor(r.id)));
    watch = new ConnectionWatch(testDb.name);
    await watch.connect();
    server = await startOffline(
      {
        DATABASE_URL: testDb.url,
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        VERIFICATION_CODE_PEPPER: 'reload-test-pepper-0123456789',
        // Every send answers 201: no cooldown or cap gets in the way.
        VERIFICATION_SEND_COOLDOWN_SECONDS: '0',
        VERIFICATION_MAX_SENDS_PER_HOUR: '1000',
        VERIFICATION_MAX_SENDS_PER_DESTINATION_PER_HOUR: '10000',
      },
      { args: ['--reloadHandler'] },
    );
    api = apiClient(server.baseUrl);
    // Nothing but the service may hold connections to the test database.
    expect(await watch.settle((n) => n === 0)).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await watch?.end();
    await testDb?.drop();
  });

  /**
   * Request number i: a read or a code sent (a write in a transaction). A batch of
   * CONCURRENCY consecutive requests has one user each, so none waits for another.
   */
  async function request(i: number): Promise<number> {
    const token = tokens[i % tokens.length]!;
    const res =
      i % 2 === 0
        ? await api('GET', '/users/me/verification', { token })
        : await api('POST', '/verification/codes', { token, body: { channel: 'email' } });
    return res.status;
  }

  it('sequential requests: never more than one request worth of connections', async () => {
    watch.start();
    const statuses: number[] = [];
    for (let i = 0; i < SEQUENTIAL_REQUESTS; i += 1) statuses.push(await request(i));
    const peak = await watch.stop();

    expect(statuses.filter((s) => s !== 200 && s !== 201)).toEqual([]);
    // One request in flight, plus the previous worker's connection while its
    // server process exits: far below one per request.
    expect(peak).toBeLessThanOrEqual(2 * POOL_MAX);
  }, 120_000);

  it('concurrent requests: bounded by the requests in flight, not by the requests made', async () => {
    watch.start();
    const statuses: number[] = [];
    for (let round = 0; round < CONCURRENT_ROUNDS; round += 1) {
      const batch = Array.from({ length: CONCURRENCY }, (_, k) => request(round * CONCURRENCY + k));
      statuses.push(...(await Promise.all(batch)));
    }
    const peak = await watch.stop();

    expect(statuses.filter((s) => s !== 200 && s !== 201)).toEqual([]);
    expect(peak).toBeLessThanOrEqual(CONCURRENCY * POOL_MAX);
  }, 120_000);

  it('keeps no idle connection once the requests are answered', async () => {
    // Well within the pool's own idle eviction (30 s or more): closed after each invocation.
    expect(await watch.settle((n) => n === 0)).toBe(0);
  });
});

describe('database connections of warm Lambda containers (outside serverless-offline)', () => {
  // What the release under serverless-offline must not hide: on AWS a container
  // creates its Sequelize once and keeps its connection for the next invocation.
  // /health looks the database up on every request, the API functions once per
  // container (apiContext): both must land on the container's one instance.
  const routes = ['/health', '/users/me/verification'];
  const modules = ['functions/health.ts', 'functions/verification/getMyVerification.ts'];
  let testDb: TestDatabase;
  let watch: ConnectionWatch;
  let containers: LambdaContainer[];
  let token: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    const seed = new Client({ connectionString: testDb.url });
    await seed.connect();
    const { rows } = await seed.query<{ id: number }>(
      `INSERT INTO users (email, name) VALUES ('warm-' || $1 || '@example.com', 'Warm') RETURNING id`,
      [testDb.name],
    );
    await seed.end();
    token = await tokenFor(rows[0]!.id);
    watch = new ConnectionWatch(testDb.name);
    await watch.connect();
    expect(await watch.settle((n) => n === 0)).toBe(0);
    containers = modules.map(
      (m) =>
        new LambdaContainer(m, {
          DATABASE_URL: testDb.url,
          AUTH_JWT_SECRET: TEST_JWT_SECRET,
          IS_OFFLINE: '',
        }),
    );
    await Promise.all(containers.map((c) => c.ready));
  }, 60_000);

  afterAll(async () => {
    for (const c of containers ?? []) c.stop();
    await watch?.end();
    await testDb?.drop();
  });

  it('each reuses its connection across invocations and keeps it while warm', async () => {
    watch.start();
    for (let i = 0; i < SEQUENTIAL_REQUESTS; i += 1) {
      const k = i % containers.length;
      const { result } = await containers[k]!.invoke(getEvent(routes[k]!, token));
      expect(result.statusCode).toBe(200);
    }
    const peak = await watch.stop();

    expect(peak).toBeLessThanOrEqual(containers.length * POOL_MAX);
    // Still open for the next invocation (the pool's idle eviction is 30 s or more away).
    expect(await watch.count()).toBeGreaterThanOrEqual(containers.length);
  });
});
