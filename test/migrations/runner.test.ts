import { Client } from 'pg';
import { migrations } from '../../lib/migrator/migrations';
import type { MigrationDefinition } from '../../lib/migrator/migrations';
import {
  MIGRATION_LOCK_KEY,
  MigrationLockError,
  MigrationRequest,
  MigrationRequestError,
  parseMigrationRequest,
  readHistory,
  runMigrations,
  STAMP_BASE,
} from '../../lib/migrator/runner';
import type { MigrationSettings } from '../../lib/settings';
import {
  ADD_DESTINATION_COUNTRY,
  ALL_MIGRATIONS,
  LATEST,
  newestFirst,
  statusWith,
  ADD_VERIFICATION,
  advisoryLocksHeld,
  CREATE_USERS,
  cliStatus,
  defaultSettings,
  metaRows,
  migrationFixtures,
  query,
  schemaSnapshot,
  sequelizeCli,
} from './helpers';

const fixtures = migrationFixtures();
afterAll(() => fixtures.cleanup());

const ALL = ALL_MIGRATIONS;
const AFTER_USERS = ALL.slice(1);

function runner(
  url: string,
  opts: { list?: readonly MigrationDefinition[]; settings?: Partial<MigrationSettings> } = {},
) {
  const settings = { ...defaultSettings, ...opts.settings };
  const sequelize = fixtures.sequelizeFor(url, settings);
  return (request: MigrationRequest) =>
    runMigrations({ sequelize, migrations: opts.list ?? migrations, settings }, request);
}

async function state(url: string) {
  return { meta: await metaRows(url), schema: await schemaSnapshot(url) };
}

describe('runMigrations commands', () => {
  it('up to a migration, then the rest, with the result shape of the contract', async () => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url);

    const first = await migrate({ command: 'up', to: CREATE_USERS });
    expect(first).toEqual({
      command: 'up',
      ran: [CREATE_USERS],
      executed: [CREATE_USERS],
      pending: AFTER_USERS,
      durationMs: expect.any(Number),
    });
    expect(first.durationMs).toBeGreaterThanOrEqual(0);
    expect(await metaRows(url)).toEqual([CREATE_USERS]);

    const rest = await migrate({ command: 'up' });
    expect(rest).toMatchObject({
      command: 'up',
      ran: AFTER_USERS,
      executed: ALL,
      pending: [],
    });

    const again = await migrate({ command: 'up' });
    expect(again).toMatchObject({ ran: [], executed: ALL, pending: [] });
  });

  it('status reports without changing anything, not even creating SequelizeMeta', async () => {
    const url = await fixtures.emptyDatabase();
    const before = await state(url);
    const result = await runner(url)({ command: 'status' });
    expect(result).toMatchObject({ command: 'status', ran: [], executed: [], pending: ALL });
    expect(await state(url)).toEqual(before);
    expect(before.meta).toBeNull();
  });

  it('down reverts the last one, or down to and including `to`, newest first', async () => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url);
    await migrate({ command: 'up' });

    const last = await migrate({ command: 'down' });
    expect(last).toMatchObject({
      command: 'down',
      ran: [LATEST],
      executed: ALL.slice(0, -1),
    });
    expect(await query(url, `SELECT to_regclass('verification_events') AS t`)).toEqual([
      { t: null },
    ]);
    expect(await migrate({ command: 'down', to: ADD_DESTINATION_COUNTRY })).toMatchObject({
      ran: newestFirst(ALL.slice(2, -1)),
    });
    expect(await query(url, `SELECT 1 FROM pg_type WHERE typname LIKE 'enum_%'`)).not.toEqual([]);
    expect(await migrate({ command: 'down' })).toMatchObject({ ran: [ADD_VERIFICATION] });
    expect(await query(url, `SELECT 1 FROM pg_type WHERE typname LIKE 'enum_%'`)).toEqual([]);

    await migrate({ command: 'up' });
    const all = await migrate({ command: 'down', to: CREATE_USERS });
    expect(all).toMatchObject({
      ran: newestFirst(ALL),
      executed: [],
      pending: ALL,
    });
    expect(await query(url, `SELECT to_regclass('users') AS t`)).toEqual([{ t: null }]);
  });

  it("down of create-users refuses, changing nothing, while users holds the app's rows", async () => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url);
    await migrate({ command: 'up', to: CREATE_USERS });
    await query(url, `INSERT INTO users (email) VALUES ('app-user@example.com')`);
    const before = await state(url);
    await expect(migrate({ command: 'down' })).rejects.toThrow(
      /Refusing to undo create-users: the users table holds rows/,
    );
    expect(await state(url)).toEqual(before);
    expect(await query(url, 'SELECT count(*)::int AS n FROM users')).toEqual([{ n: 1 }]);
    // sequelize-cli runs the same file: it refuses too.
    await expect(sequelizeCli(url, 'db:migrate:undo')).rejects.toThrow(/Refusing to undo/);
    expect(await state(url)).toEqual(before);
    // Emptied by a person, the table may go.
    await query(url, 'DELETE FROM users');
    await expect(migrate({ command: 'down' })).resolves.toMatchObject({ ran: [CREATE_USERS] });
  });

  it('stamps a database whose users table the old app made, then up adds the rest', async () => {
    const url = await fixtures.emptyDatabase();
    // The existing app's table, with its rows, made before this service existed.
    await query(
      url,
      `CREATE TABLE users (
         id integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
         email varchar(255) NULL UNIQUE, phone varchar(32) NULL UNIQUE, name varchar(255) NULL,
         role varchar(16) NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'staff', 'admin')),
         created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO users (email, role) VALUES ('old1@example.com', 'user'), ('old2@example.com', 'staff')`,
    );
    const migrate = runner(url);

    const stamped = await migrate({ command: 'stamp', to: CREATE_USERS });
    expect(stamped).toMatchObject({
      command: 'stamp',
      ran: [CREATE_USERS],
      executed: [CREATE_USERS],
      pending: AFTER_USERS,
    });
    const up = await migrate({ command: 'up' });
    expect(up).toMatchObject({ ran: AFTER_USERS, executed: ALL, pending: [] });
    expect(await query(url, 'SELECT email, verification_status FROM users ORDER BY id')).toEqual([
      { email: 'old1@example.com', verification_status: 'unverified' },
      { email: 'old2@example.com', verification_status: 'unverified' },
    ]);

    // Stamping what is already recorded changes nothing.
    expect(await migrate({ command: 'stamp' })).toMatchObject({ ran: [], executed: ALL });
  });

  it('stamp without `to` records every migration without running any', async () => {
    const url = await fixtures.emptyDatabase();
    const result = await runner(url)({ command: 'stamp' });
    expect(result).toMatchObject({ ran: ALL, executed: ALL, pending: [] });
    expect(await query(url, `SELECT to_regclass('users') AS t`)).toEqual([{ t: null }]);
  });
});

describe('stamp moves the history either way, running nothing', () => {
  it('undoes a mistaken stamp: stamp back to a migration, then up and down work', async () => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url);
    await migrate({ command: 'up', to: CREATE_USERS });
    // The mistake: the later migrations recorded but never run.
    await migrate({ command: 'stamp' });
    const mistaken = await schemaSnapshot(url);
    await expect(migrate({ command: 'down' })).rejects.toThrow();

    const back = await migrate({ command: 'stamp', to: CREATE_USERS });
    expect(back).toEqual({
      command: 'stamp',
      ran: newestFirst(AFTER_USERS),
      executed: [CREATE_USERS],
      pending: AFTER_USERS,
      durationMs: expect.any(Number),
    });
    expect(await metaRows(url)).toEqual([CREATE_USERS]);
    expect(await schemaSnapshot(url)).toEqual(mistaken);

    expect(await migrate({ command: 'up' })).toMatchObject({ ran: AFTER_USERS });
    expect(await query(url, `SELECT to_regclass('verification_codes') AS t`)).toEqual([
      { t: 'verification_codes' },
    ]);
    expect(await migrate({ command: 'down', to: ADD_VERIFICATION })).toMatchObject({
      ran: newestFirst(AFTER_USERS),
      executed: [CREATE_USERS],
    });
    expect(await cliStatus(url)).toEqual(statusWith(1));
  }, 60000);

  it('stamp base empties the history; up then creates everything', async () => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url);
    await migrate({ command: 'stamp' });

    const base = await migrate({ command: 'stamp', to: STAMP_BASE });
    expect(base).toMatchObject({
      ran: newestFirst(ALL),
      executed: [],
      pending: ALL,
    });
    expect(await metaRows(url)).toEqual([]);
    expect(await migrate({ command: 'stamp', to: STAMP_BASE })).toMatchObject({ ran: [] });

    expect(await migrate({ command: 'up' })).toMatchObject({ ran: ALL, executed: ALL });
    expect(await migrate({ command: 'down', to: CREATE_USERS })).toMatchObject({ executed: [] });
    expect(await query(url, `SELECT to_regclass('users') AS t`)).toEqual([{ t: null }]);
  });

  it('stamp base on a database without SequelizeMeta leaves an empty history', async () => {
    const url = await fixtures.emptyDatabase();
    expect(await runner(url)({ command: 'stamp', to: STAMP_BASE })).toMatchObject({
      ran: [],
      executed: [],
      pending: ALL,
    });
    expect(await metaRows(url)).toEqual([]);
  });

  it('fills a gap and removes later rows in one call, removals first', async () => {
    const url = await fixtures.emptyDatabase();
    const third = '20261201000004-fourth.cjs';
    const list: MigrationDefinition[] = [
      ...migrations,
      { name: third, module: { async up() {}, async down() {} } },
    ];
    const migrate = runner(url, { list });
    await migrate({ command: 'stamp' });
    await query(url, 'DELETE FROM "SequelizeMeta" WHERE name = $1', [CREATE_USERS]);

    const result = await migrate({ command: 'stamp', to: CREATE_USERS });
    expect(result).toMatchObject({
      ran: [third, ...newestFirst(ALL)],
      executed: [CREATE_USERS],
      pending: [...AFTER_USERS, third],
    });
  });

  it('changes nothing when a row would fail to be written', async () => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url);
    await migrate({ command: 'stamp' });
    // A trigger refusing one insert: the removals before it must roll back too.
    await query(
      url,
      `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'refused %', NEW.name; END $$;
       CREATE TRIGGER refuse BEFORE INSERT ON "SequelizeMeta" FOR EACH ROW EXECUTE FUNCTION refuse()`,
    );
    await query(url, 'DELETE FROM "SequelizeMeta" WHERE name = $1', [CREATE_USERS]);
    await expect(migrate({ command: 'stamp', to: CREATE_USERS })).rejects.toThrow(/refused/);
    expect(await metaRows(url)).toEqual(AFTER_USERS);
    expect(await advisoryLocksHeld(url)).toBe(0);
  });

  it('refuses when SequelizeMeta lists migrations this build does not have', async () => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url);
    await migrate({ command: 'stamp' });
    await query(url, `INSERT INTO "SequelizeMeta" (name) VALUES ('20261201000000-newer.cjs')`);
    const before = await metaRows(url);
    await expect(migrate({ command: 'stamp', to: STAMP_BASE })).rejects.toThrow(
      /does not have \(20261201000000-newer.cjs\)/,
    );
    expect(await metaRows(url)).toEqual(before);
  });
});

describe('bad requests change nothing', () => {
  it.each([
    [{ command: 'upgrade' }, /Unknown command "upgrade"/],
    [{ command: 'up', to: 5 }, /"to" must be a migration name/],
    [{ command: 'up', extra: true }, /Unknown field/],
    ['up', /must be an object/],
  ])('rejects the event %j', (event, message) => {
    expect(() => parseMigrationRequest(event)).toThrow(MigrationRequestError);
    expect(() => parseMigrationRequest(event)).toThrow(message);
  });

  it('takes an empty event as up', () => {
    expect(parseMigrationRequest({})).toEqual({ command: 'up' });
    expect(parseMigrationRequest(null)).toEqual({ command: 'up' });
    expect(parseMigrationRequest({ command: 'down', to: CREATE_USERS })).toEqual({
      command: 'down',
      to: CREATE_USERS,
    });
  });

  it.each<[string, MigrationRequest, RegExp]>([
    ['an unknown `to` for up', { command: 'up', to: 'nope.cjs' }, /Unknown migration "nope.cjs"/],
    [
      'an unknown `to` for down',
      { command: 'down', to: '20261126000001-create-users.js' },
      /Unknown migration/,
    ],
    ['an unknown `to` for stamp', { command: 'stamp', to: 'nope.cjs' }, /Unknown migration/],
    ['`base` for up', { command: 'up', to: STAMP_BASE }, /is for stamp only/],
    ['`base` for down', { command: 'down', to: STAMP_BASE }, /is for stamp only/],
    ['`base` for plan', { command: 'plan', to: STAMP_BASE } as never, /is for stamp only/],
    ['up to a migration already executed', { command: 'up', to: CREATE_USERS }, /is not pending/],
    ['down to a pending migration', { command: 'down', to: ADD_VERIFICATION }, /is not executed/],
    ['an unknown command', { command: 'plan!' } as unknown as MigrationRequest, /Unknown command/],
  ])('rejects %s', async (_label, request, message) => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url);
    await migrate({ command: 'up', to: CREATE_USERS });
    const before = await state(url);
    await expect(migrate(request)).rejects.toThrow(MigrationRequestError);
    await expect(migrate(request)).rejects.toThrow(message);
    expect(await state(url)).toEqual(before);
    expect(await advisoryLocksHeld(url)).toBe(0);
  });

  it('rejects an unknown command on an empty database without creating SequelizeMeta', async () => {
    const url = await fixtures.emptyDatabase();
    const bogus = { command: 'migrate' } as unknown as MigrationRequest;
    await expect(runner(url)(bogus)).rejects.toThrow(/Unknown command "migrate"/);
    expect(await metaRows(url)).toBeNull();
  });
});

describe('history shared with sequelize-cli', () => {
  it('each tool sees and continues what the other did', async () => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url);

    await sequelizeCli(url, 'db:migrate');
    expect(await migrate({ command: 'status' })).toMatchObject({ executed: ALL, pending: [] });

    await sequelizeCli(url, 'db:migrate:undo');
    expect(await migrate({ command: 'up' })).toMatchObject({ ran: [LATEST] });
    expect(await cliStatus(url)).toEqual(statusWith(ALL.length));

    await migrate({ command: 'down' });
    expect(await cliStatus(url)).toEqual(statusWith(ALL.length - 1));
    await sequelizeCli(url, 'db:migrate');
    expect(await migrate({ command: 'status' })).toMatchObject({ executed: ALL, pending: [] });

    await sequelizeCli(url, 'db:migrate:undo:all');
    expect(await migrate({ command: 'status' })).toMatchObject({ executed: [], pending: ALL });

    await migrate({ command: 'up' });
    await sequelizeCli(url, 'db:migrate:undo:all');
    expect(await query(url, `SELECT to_regclass('users') AS t`)).toEqual([{ t: null }]);
    expect(await migrate({ command: 'status' })).toMatchObject({ executed: [], pending: ALL });
  }, 240000);
});

describe('when each migration ran', () => {
  const history = (url: string) => readHistory(fixtures.sequelizeFor(url, defaultSettings));

  it('both tools record the time of each row, whichever made the table', async () => {
    for (const firstTool of ['runner', 'sequelize-cli'] as const) {
      const url = await fixtures.emptyDatabase();
      const before = new Date();
      if (firstTool === 'runner') {
        await runner(url)({ command: 'up', to: CREATE_USERS });
        await sequelizeCli(url, 'db:migrate');
      } else {
        await sequelizeCli(url, 'db:migrate', '--to', CREATE_USERS);
        await runner(url)({ command: 'up' });
      }
      const after = new Date();
      const rows = await history(url);
      expect(rows.map((r) => r.name)).toEqual(ALL);
      for (const { appliedAt } of rows) {
        expect(appliedAt).toBeInstanceOf(Date);
        expect((appliedAt as Date).getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
        expect((appliedAt as Date).getTime()).toBeLessThanOrEqual(after.getTime() + 1000);
      }
      // The second migration was applied after the first.
      expect(rows[1]?.appliedAt?.getTime()).toBeGreaterThanOrEqual(
        rows[0]?.appliedAt?.getTime() as number,
      );
    }
  }, 120000);

  it('gives a history table without time columns its columns; older rows have no time', async () => {
    const url = await fixtures.emptyDatabase();
    await sequelizeCli(url, 'db:migrate', '--to', CREATE_USERS);
    // SequelizeMeta as sequelize-cli makes it by default (no migrationTimestamps).
    await query(
      url,
      'ALTER TABLE "SequelizeMeta" DROP COLUMN "createdAt", DROP COLUMN "updatedAt"',
    );
    expect(await history(url)).toEqual([{ name: CREATE_USERS, appliedAt: null }]);

    expect(await runner(url)({ command: 'up' })).toMatchObject({ ran: AFTER_USERS });
    const [old, added] = await history(url);
    expect(old).toEqual({ name: CREATE_USERS, appliedAt: null });
    expect(added?.appliedAt).toBeInstanceOf(Date);

    // sequelize-cli, configured with timestamps, goes on working on that table.
    await sequelizeCli(url, 'db:migrate:undo');
    await sequelizeCli(url, 'db:migrate');
    expect(await cliStatus(url)).toEqual(statusWith(ALL.length));
    expect((await history(url))[ALL.length - 1]?.appliedAt).toBeInstanceOf(Date);
  }, 120000);

  it('status reads the times without changing an old table', async () => {
    const url = await fixtures.emptyDatabase();
    await sequelizeCli(url, 'db:migrate', '--to', CREATE_USERS);
    await query(
      url,
      'ALTER TABLE "SequelizeMeta" DROP COLUMN "createdAt", DROP COLUMN "updatedAt"',
    );
    const schema = await schemaSnapshot(url);
    await runner(url)({ command: 'status' });
    expect(await history(url)).toEqual([{ name: CREATE_USERS, appliedAt: null }]);
    const columns = await query(
      url,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'SequelizeMeta'`,
    );
    expect(columns).toEqual([{ column_name: 'name' }]);
    expect(await schemaSnapshot(url)).toEqual(schema);
  }, 60000);
});

describe('concurrency and failure', () => {
  it('three concurrent up runs apply each migration exactly once', async () => {
    const url = await fixtures.emptyDatabase();
    const runs = [runner(url), runner(url), runner(url)];
    const results = await Promise.all(runs.map((migrate) => migrate({ command: 'up' })));

    expect(results.flatMap((r) => r.ran).sort()).toEqual(ALL);
    for (const r of results) {
      expect(r).toMatchObject({ executed: ALL, pending: [] });
      // A run either applied something or found nothing left to do.
      expect(r.ran.length === 0 || r.ran.every((n) => ALL.includes(n))).toBe(true);
    }
    expect(await metaRows(url)).toEqual(ALL);
    expect(await advisoryLocksHeld(url)).toBe(0);
  });

  it('a migration failing half-way leaves schema and history as before and releases the lock', async () => {
    const url = await fixtures.emptyDatabase();
    const failing: MigrationDefinition = {
      name: '20261126000002-half-way.cjs',
      module: {
        async up(queryInterface, Sequelize) {
          // A queryInterface method and a raw query: both must join the transaction.
          await queryInterface.createTable('half_done', { id: { type: Sequelize.INTEGER } });
          await queryInterface.sequelize.query(`ALTER TABLE users ADD COLUMN nickname text`);
          await queryInterface.sequelize.query(
            `INSERT INTO users (email) VALUES ('x@example.com')`,
          );
          await queryInterface.sequelize.query('SELECT * FROM no_such_table');
        },
        async down() {},
      },
    };
    const list = [migrations[0] as MigrationDefinition, failing];
    const migrate = runner(url, { list });
    await migrate({ command: 'up', to: CREATE_USERS });
    const before = await state(url);

    await expect(migrate({ command: 'up' })).rejects.toThrow(/no_such_table/);
    expect(await state(url)).toEqual(before);
    expect(await query(url, 'SELECT count(*)::int AS n FROM users')).toEqual([{ n: 0 }]);
    expect(await advisoryLocksHeld(url)).toBe(0);

    // Another run takes the lock at once (no waiting allowed) and carries on.
    const next = runner(url, { settings: { lockWaitMs: 0 } });
    expect(await next({ command: 'up' })).toMatchObject({ ran: AFTER_USERS });
  });

  it('a down failing half-way keeps its SequelizeMeta row and the schema', async () => {
    const url = await fixtures.emptyDatabase();
    const breaksOnDown: MigrationDefinition = {
      name: '20261126000002-breaks-on-down.cjs',
      module: {
        async up(queryInterface) {
          await queryInterface.sequelize.query('CREATE TABLE keep_me (id int)');
        },
        async down(queryInterface) {
          await queryInterface.sequelize.query('DROP TABLE keep_me');
          await queryInterface.sequelize.query('DROP TABLE no_such_table');
        },
      },
    };
    const migrate = runner(url, { list: [migrations[0] as MigrationDefinition, breaksOnDown] });
    await migrate({ command: 'up' });
    const before = await state(url);
    await expect(migrate({ command: 'down' })).rejects.toThrow(/no_such_table/);
    expect(await state(url)).toEqual(before);
  });

  it('runs a migration that opts out of transactions outside one (CREATE INDEX CONCURRENTLY)', async () => {
    const url = await fixtures.emptyDatabase();
    const concurrently: MigrationDefinition = {
      name: '20261126000003-index-concurrently.cjs',
      module: {
        useTransaction: false,
        async up(queryInterface) {
          await queryInterface.sequelize.query(
            'CREATE INDEX CONCURRENTLY users_name_idx ON users (name)',
          );
        },
        async down(queryInterface) {
          await queryInterface.sequelize.query('DROP INDEX CONCURRENTLY users_name_idx');
        },
      },
    };
    const migrate = runner(url, { list: [...migrations, concurrently] });
    expect(await migrate({ command: 'up' })).toMatchObject({ ran: [...ALL, concurrently.name] });
    expect(
      await query(url, `SELECT indexname FROM pg_indexes WHERE indexname = 'users_name_idx'`),
    ).toHaveLength(1);
    expect(await migrate({ command: 'down' })).toMatchObject({ ran: [concurrently.name] });
    expect(
      await query(url, `SELECT indexname FROM pg_indexes WHERE indexname = 'users_name_idx'`),
    ).toEqual([]);
  });

  it('sets the migration lock_timeout and statement_timeout inside each migration', async () => {
    const url = await fixtures.emptyDatabase();
    const probe: MigrationDefinition = {
      name: '20261126000001-probe.cjs',
      module: {
        async up(queryInterface) {
          await queryInterface.sequelize.query(
            `CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lt,
                                         current_setting('statement_timeout') AS st`,
          );
        },
      },
    };
    await runner(url, {
      list: [probe],
      settings: { lockTimeoutMs: 1234, statementTimeoutMs: 56789 },
    })({ command: 'up' });
    expect(await query(url, 'SELECT lt, st FROM seen')).toEqual([{ lt: '1234ms', st: '56789ms' }]);
  });
});

describe('waiting for locks', () => {
  it('gives up after MIGRATION_LOCK_WAIT_MS while another session holds the advisory lock', async () => {
    const url = await fixtures.emptyDatabase();
    const holder = new Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      const migrate = runner(url, { settings: { lockWaitMs: 300 } });
      const started = Date.now();
      const attempt = migrate({ command: 'up' });
      await expect(attempt).rejects.toThrow(MigrationLockError);
      await expect(attempt).rejects.toThrow(/another migration run holds the lock/);
      expect(Date.now() - started).toBeLessThan(10000);
      expect(await metaRows(url)).toBeNull();

      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
      expect(await migrate({ command: 'up' })).toMatchObject({ ran: ALL });
    } finally {
      await holder.end();
    }
  });

  it('fails within MIGRATION_LOCK_TIMEOUT_MS behind a long transaction on users, changing nothing', async () => {
    const url = await fixtures.emptyDatabase();
    const migrate = runner(url, { settings: { lockTimeoutMs: 300 } });
    await migrate({ command: 'up', to: CREATE_USERS });
    const before = await state(url);

    const blocker = new Client({ connectionString: url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE users IN ACCESS SHARE MODE');
      const started = Date.now();
      await expect(migrate({ command: 'up' })).rejects.toThrow(/lock timeout/);
      expect(Date.now() - started).toBeLessThan(10000);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect(await state(url)).toEqual(before);
    expect(await advisoryLocksHeld(url)).toBe(0);
  });
});
