import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { cleanupVerificationCodes, CodeCleanupSettings } from '../../lib/codeCleanup';
import { createDatabase, Database } from '../../lib/db';
import { buildUser } from '../helpers/factories';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

const NOW = new Date('2030-01-15T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const settings = (over: Partial<CodeCleanupSettings> = {}): CodeCleanupSettings => ({
  retentionDays: 7,
  batchSize: 500,
  maxBatches: 100,
  ...over,
});

describe('cleanupVerificationCodes against PostgreSQL', () => {
  let testDb: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = createDatabase({ databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 3000 });
  });

  afterAll(async () => {
    await db?.sequelize.close();
    await testDb?.drop();
  });

  beforeEach(async () => {
    await db.sequelize.query('DELETE FROM verification_codes');
    await db.sequelize.query('DELETE FROM idempotency_keys');
  });

  it('deletes the Idempotency-Key rows whose time to live has passed, and only those', async () => {
    const user = await buildUser(db.models);
    const keys = [
      { key: 'expired-long-ago', expiresAt: ago(DAY) },
      { key: 'expired-just-now', expiresAt: NOW },
      { key: 'live', expiresAt: new Date(NOW.getTime() + 1000) },
    ];
    for (const k of keys) {
      await db.sequelize.query(
        `INSERT INTO idempotency_keys
           (user_id, route, key, fingerprint, claim_id, state, status, response_body,
            created_at, expires_at)
         VALUES (:userId, 'POST /verification/codes', :key, 'f', :claim, 'done', 201, '{}',
                 :createdAt, :expiresAt)`,
        {
          replacements: {
            userId: user.id,
            key: k.key,
            claim: randomUUID(),
            createdAt: new Date(k.expiresAt.getTime() - DAY),
            expiresAt: k.expiresAt,
          },
        },
      );
    }

    const result = await cleanupVerificationCodes(deps({ batchSize: 1 }));

    expect(result).toMatchObject({ idempotencyKeysDeleted: 2, complete: true });
    const left = await db.sequelize.query<{ key: string }>('SELECT key FROM idempotency_keys', {
      type: QueryTypes.SELECT,
    });
    expect(left.map((r) => r.key)).toEqual(['live']);
  });

  interface Row {
    label: string;
    createdAt: Date;
    expiresAt: Date;
    consumedAt?: Date;
    supersededAt?: Date;
  }

  /** Inserts codes, each for a user of its own (one active code per user and channel). */
  async function insert(rows: Row[]): Promise<void> {
    for (const row of rows) {
      const user = await buildUser(db.models);
      await db.sequelize.query(
        `INSERT INTO verification_codes
           (id, user_id, channel, destination, code_hash, max_attempts,
            expires_at, consumed_at, superseded_at, created_at)
         VALUES (:id, :userId, 'email', :label, 'hash', 5, :expiresAt, :consumedAt, :supersededAt, :createdAt)`,
        {
          replacements: {
            id: randomUUID(),
            userId: user.id,
            label: row.label,
            expiresAt: row.expiresAt,
            consumedAt: row.consumedAt ?? null,
            supersededAt: row.supersededAt ?? null,
            createdAt: row.createdAt,
          },
        },
      );
    }
  }

  async function remaining(): Promise<string[]> {
    const rows = await db.sequelize.query<{ destination: string }>(
      'SELECT destination FROM verification_codes ORDER BY destination',
      { type: QueryTypes.SELECT },
    );
    return rows.map((r) => r.destination);
  }

  const deps = (over: Partial<CodeCleanupSettings> = {}) => ({
    sequelize: db.sequelize,
    now: () => NOW,
    settings: settings(over),
  });

  it('deletes exactly the dead codes past retention and keeps the rest', async () => {
    const old = ago(10 * DAY);
    const recent = ago(1 * DAY);
    const cutoff = ago(7 * DAY);
    await insert([
      {
        label: 'old-consumed',
        createdAt: old,
        expiresAt: ago(10 * DAY - 600_000),
        consumedAt: old,
      },
      {
        label: 'old-superseded',
        createdAt: old,
        expiresAt: ago(9 * DAY),
        supersededAt: ago(9 * DAY),
      },
      { label: 'old-expired', createdAt: old, expiresAt: ago(10 * DAY - 600_000) },
      { label: 'just-past-cutoff-expired', createdAt: ago(7 * DAY + 1), expiresAt: cutoff },
      // Kept: active (not expired by the injected clock), however old.
      { label: 'keep-old-active', createdAt: old, expiresAt: new Date(NOW.getTime() + 60_000) },
      // Kept: dead but within retention.
      { label: 'keep-recent-consumed', createdAt: recent, expiresAt: recent, consumedAt: recent },
      { label: 'keep-recent-superseded', createdAt: recent, expiresAt: NOW, supersededAt: recent },
      { label: 'keep-recent-expired', createdAt: recent, expiresAt: recent },
      { label: 'keep-at-cutoff-expired', createdAt: cutoff, expiresAt: cutoff },
      { label: 'keep-recent-active', createdAt: ago(60_000), expiresAt: ago(-540_000) },
    ]);

    const result = await cleanupVerificationCodes(deps());

    expect(result).toEqual({
      deleted: 4,
      idempotencyKeysDeleted: 0,
      batches: 1,
      complete: true,
      cutoff: cutoff.toISOString(),
    });
    expect(await remaining()).toEqual([
      'keep-at-cutoff-expired',
      'keep-old-active',
      'keep-recent-active',
      'keep-recent-consumed',
      'keep-recent-expired',
      'keep-recent-superseded',
    ]);
  });

  it('works in batches of the configured size, oldest first, and stops at the batch cap', async () => {
    const rows: Row[] = [];
    for (let i = 0; i < 10; i += 1) {
      const createdAt = ago(30 * DAY - i * 60_000);
      rows.push({ label: `dead-${i}`, createdAt, expiresAt: createdAt, consumedAt: createdAt });
    }
    rows.push({ label: 'keep-active', createdAt: ago(60_000), expiresAt: ago(-540_000) });
    await insert(rows);

    const capped = await cleanupVerificationCodes(deps({ batchSize: 3, maxBatches: 2 }));
    expect(capped).toMatchObject({ deleted: 6, batches: 2, complete: false });
    // The oldest six went first.
    expect(await remaining()).toEqual(['dead-6', 'dead-7', 'dead-8', 'dead-9', 'keep-active']);

    const rest = await cleanupVerificationCodes(deps({ batchSize: 3 }));
    expect(rest).toMatchObject({ deleted: 4, batches: 2, complete: true });
    expect(await remaining()).toEqual(['keep-active']);

    const nothing = await cleanupVerificationCodes(deps({ batchSize: 3 }));
    expect(nothing).toMatchObject({ deleted: 0, batches: 1, complete: true });
  });

  it('counts 3 + 3 + 3 + 1 for ten rows in batches of three', async () => {
    const rows: Row[] = [];
    for (let i = 0; i < 10; i += 1) {
      rows.push({
        label: `s-${i}`,
        createdAt: ago(8 * DAY),
        expiresAt: ago(8 * DAY),
        supersededAt: ago(8 * DAY),
      });
    }
    await insert(rows);
    const result = await cleanupVerificationCodes(deps({ batchSize: 3 }));
    expect(result).toMatchObject({ deleted: 10, batches: 4, complete: true });
    expect(await remaining()).toEqual([]);
  });

  it('stops when its time budget runs out', async () => {
    await insert([{ label: 'dead', createdAt: ago(8 * DAY), expiresAt: ago(8 * DAY) }]);
    const result = await cleanupVerificationCodes({ ...deps(), timeLeftMs: () => 0 });
    expect(result).toMatchObject({ deleted: 0, batches: 0, complete: false });
    expect(await remaining()).toEqual(['dead']);
  });
});

describe('the cleanupCodes function', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  type CleanupModule = typeof import('../../functions/cleanupCodes');

  /** Imports the handler module afresh, as a new container would, with this environment. */
  function load(env: Record<string, string | undefined>): CleanupModule {
    process.env = { ...saved, ...env };
    let mod: CleanupModule | undefined;
    jest.isolateModules(() => {
      mod = jest.requireActual<CleanupModule>('../../functions/cleanupCodes');
    });
    return mod as CleanupModule;
  }

  it('stops at start with the name of a missing or bad setting', () => {
    expect(() => load({ DATABASE_URL: '', DATABASE_URL_SECRET_ID: '' })).toThrow(
      'Configuration error: DATABASE_URL is required',
    );
    expect(() =>
      load({ DATABASE_URL: 'postgres://h/db', VERIFICATION_CODE_RETENTION_DAYS: 'seven' }),
    ).toThrow('Configuration error: VERIFICATION_CODE_RETENTION_DAYS must be a whole number');
    // Needs no auth key, pepper or delivery settings.
    expect(() =>
      load({ DATABASE_URL: 'postgres://h/db', AUTH_JWT_SECRET: '', VERIFICATION_CODE_PEPPER: '' }),
    ).not.toThrow();
  });

  it('runs against the database and returns its counts', async () => {
    const testDb = await createTestDatabase();
    try {
      const { handler } = load({ DATABASE_URL: testDb.url });
      const result = await handler({});
      expect(result).toMatchObject({ deleted: 0, batches: 1, complete: true });
    } finally {
      process.env = { ...saved }; // the admin connection reads DATABASE_URL
      // The pools the handlers made (kept on globalThis, whichever module copy made them).
      const { closeContainerPools } = jest.requireActual<typeof import('../../lib/containerPools')>(
        '../../lib/containerPools',
      );
      await closeContainerPools();
      await testDb.drop();
    }
  });
});
