import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { handler } from '../../functions/migrate';
import { logger } from '../../lib/logger';
import type { MigrationDefinition } from '../../lib/migrator/migrations';
import { migrations } from '../../lib/migrator/migrations';
import { formatPlan } from '../../lib/migrator/planReport';
import { squawkLinter } from '../../lib/migrator/squawk';
import type { MigrationLinter } from '../../lib/migrator/types';
import {
  MigrationPlanError,
  MigrationRequestError,
  PlanRequest,
  PlanResult,
  runMigrations,
} from '../../lib/migrator/runner';
import {
  ADD_DESTINATION_COUNTRY,
  ADD_IDEMPOTENCY_KEYS,
  ADD_VERIFICATION,
  advisoryLocksHeld,
  CREATE_USERS,
  defaultSettings,
  metaRows,
  migrationFixtures,
  query,
  ROOT,
  schemaSnapshot,
  squawk,
} from './helpers';

const fixtures = migrationFixtures();
afterAll(() => fixtures.cleanup());
beforeAll(() => logger.setLogLevel('SILENT'));

const createUsers = migrations[0] as MigrationDefinition;

const SQUAWK_STATUS = { tool: 'squawk', version: expect.any(String), config: '.squawk.toml' };

function planner(
  url: string,
  list: readonly MigrationDefinition[] = migrations,
  linter: MigrationLinter | null = squawk,
) {
  const sequelize = fixtures.sequelizeFor(url);
  const deps = { sequelize, migrations: list, settings: defaultSettings };
  const run = (request: PlanRequest) =>
    runMigrations(linter === null ? deps : { ...deps, linter }, request);
  const up = (to?: string) =>
    runMigrations(
      { sequelize, migrations: list, settings: defaultSettings },
      { command: 'up', ...(to === undefined ? {} : { to }) },
    );
  return { plan: (to?: string) => run({ command: 'plan', ...(to ? { to } : {}) }), up };
}

/** Schema, SequelizeMeta, the rows of users and every sequence's position. */
async function state(url: string) {
  const users = await query(url, `SELECT to_regclass('users') AS t`);
  return {
    meta: await metaRows(url),
    schema: await schemaSnapshot(url),
    users: users[0]?.t ? await query(url, 'SELECT * FROM users ORDER BY id') : null,
    sequences: await query(
      url,
      `SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename`,
    ),
  };
}

/** A database with create-users applied and three users, plus the given extra setup. */
async function databaseWithUsers(extraSql = ''): Promise<string> {
  const url = await fixtures.emptyDatabase();
  await planner(url).up(CREATE_USERS);
  await query(
    url,
    `INSERT INTO users (email, name) VALUES ('a@example.com', 'Ann'), ('b@example.com', 'Bob'),
       ('c@example.com', 'Cy');
     ${extraSql}`,
  );
  return url;
}

function sqlMigration(name: string, ...statements: string[]): MigrationDefinition {
  return {
    name,
    module: {
      async up(queryInterface) {
        for (const sql of statements) await queryInterface.sequelize.query(sql);
      },
    },
  };
}

const rulesOf = (result: PlanResult) =>
  Object.fromEntries(result.migrations.map((m) => [m.name, m.flags.map((f) => f.rule)]));

describe('plan of the shipped migrations', () => {
  it('on an empty database: the transactional migrations, no locks on existing tables, no squawk flags, nothing changed; migration 3 and what follows it are skipped', async () => {
    const url = await fixtures.emptyDatabase();
    const before = await state(url);
    const result = await planner(url).plan();

    expect(result).toEqual({
      command: 'plan',
      migrations: [
        expect.objectContaining({ name: CREATE_USERS, flags: [], tables: [] }),
        expect.objectContaining({ name: ADD_VERIFICATION, flags: [], tables: [] }),
        {
          name: ADD_DESTINATION_COUNTRY,
          statements: [],
          flags: [],
          tables: [],
          skipped: 'runs outside a transaction',
        },
        {
          name: ADD_IDEMPOTENCY_KEYS,
          statements: [],
          flags: [],
          tables: [],
          skipped: `not planned: it follows ${ADD_DESTINATION_COUNTRY}, which runs outside a transaction`,
        },
        // Migrations added later are planned after these, or skipped with them.
        ...migrations.slice(4).map((m) => expect.objectContaining({ name: m.name })),
      ],
      lint: SQUAWK_STATUS,
      durationMs: expect.any(Number),
    });
    const [first, second] = result.migrations;
    expect(first?.statements).toEqual([
      {
        sql: expect.stringMatching(/^CREATE TABLE users \(/),
        durationMs: expect.any(Number),
        locks: [],
      },
    ]);
    // users was created by the plan itself: no lock on it is reported.
    expect(second?.statements.flatMap((s) => s.locks)).toEqual([]);
    expect(second?.statements.map((s) => s.sql)).toContainEqual(
      expect.stringMatching(/^ALTER TABLE users ADD COLUMN verification_status/),
    );
    expect(await state(url)).toEqual(before);
    expect(before.meta).toBeNull(); // not even SequelizeMeta was created
    expect(await advisoryLocksHeld(url)).toBe(0);
  });

  it('with users applied and populated: the locks on users and its rows, no flags, nothing changed', async () => {
    const url = await databaseWithUsers();
    const before = await state(url);
    const result = await planner(url).plan();

    expect(result.migrations.map((m) => m.name).slice(0, 3)).toEqual([
      ADD_VERIFICATION,
      ADD_DESTINATION_COUNTRY,
      ADD_IDEMPOTENCY_KEYS,
    ]);
    expect(result.migrations[1]?.skipped).toBe('runs outside a transaction');
    const [migration] = result.migrations;
    expect(migration?.flags).toEqual([]);
    expect(migration?.tables).toEqual([{ name: 'users', rows: 3, estimated: false }]);
    const alter = migration?.statements.find((s) =>
      s.sql.startsWith('ALTER TABLE users ADD COLUMN'),
    );
    expect(alter?.locks).toEqual([
      { relation: 'users', mode: 'AccessExclusiveLock', heldMs: expect.any(Number) },
    ]);
    // A foreign key from a new table to users locks users SHARE ROW EXCLUSIVE.
    const codes = migration?.statements.find((s) =>
      s.sql.startsWith('ALTER TABLE verification_codes ADD CONSTRAINT'),
    );
    expect(codes?.locks).toContainEqual({
      relation: 'users',
      mode: 'ShareRowExclusiveLock',
      heldMs: expect.any(Number),
    });
    // Held from the statement that took it to the end of the migration.
    expect(alter?.locks[0]?.heldMs).toBeGreaterThanOrEqual(codes?.locks[0]?.heldMs ?? Infinity);
    // The statements that lock users come last: none of the table and index
    // builds runs while users is locked.
    const statements = migration?.statements ?? [];
    const firstUsersLock = statements.findIndex((s) => s.locks.some((l) => l.relation === 'users'));
    expect(firstUsersLock).toBeGreaterThan(0);
    expect(
      statements
        .slice(firstUsersLock)
        .filter((s) => /^CREATE (TABLE|INDEX|UNIQUE INDEX)/.test(s.sql)),
    ).toEqual([]);
    expect(await state(url)).toEqual(before);
  });

  it('prints the lock report with no unsafe flags from `npm run migrate -- plan`', async () => {
    const url = await databaseWithUsers();
    const before = await state(url);
    const run = promisify(execFile);
    const tsx = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const env = { ...process.env, DATABASE_URL: url };
    const human = await run(process.execPath, [tsx, 'scripts/migrate.ts', 'plan'], {
      cwd: ROOT,
      env,
    });
    expect(human.stdout).toMatch(/^flags: squawk [\d.]+ with \.squawk\.toml, and table rewrites/);
    expect(human.stdout).toContain(ADD_VERIFICATION);
    expect(human.stdout).toMatch(/lock AccessExclusiveLock on users \(held [\d.]+ ms, 3 rows\)/);
    expect(human.stdout).toContain('existing tables involved: users (3 rows)');
    expect(human.stdout).toContain(
      `${ADD_DESTINATION_COUNTRY}\n  skipped: runs outside a transaction`,
    );
    expect(human.stdout).toMatch(
      /plan: 1 planned, \d+ skipped, no unsafe flags; rolled back, nothing changed/,
    );

    const json = await run(process.execPath, [tsx, 'scripts/migrate.ts', 'plan', '--json'], {
      cwd: ROOT,
      env,
    });
    expect(JSON.parse(json.stdout)).toMatchObject({
      command: 'plan',
      lint: SQUAWK_STATUS,
      migrations: [
        { name: ADD_VERIFICATION, flags: [] },
        { name: ADD_DESTINATION_COUNTRY, skipped: 'runs outside a transaction' },
        ...migrations.slice(3).map((m) => ({
          name: m.name,
          skipped: expect.stringMatching(/^not planned/),
        })),
      ],
    });
    expect(await state(url)).toEqual(before);
  }, 120000);

  it('plans up to and including `to`, refuses a `to` already applied, and has nothing to plan when all ran', async () => {
    const url = await fixtures.emptyDatabase();
    const { plan, up } = planner(url);
    const partial = await plan(CREATE_USERS);
    expect(partial.migrations.map((m) => m.name)).toEqual([CREATE_USERS]);

    await up();
    const before = await state(url);
    await expect(plan(CREATE_USERS)).rejects.toThrow(MigrationRequestError);
    expect(await plan()).toEqual({
      command: 'plan',
      migrations: [],
      lint: SQUAWK_STATUS,
      durationMs: expect.any(Number),
    });
    expect(await state(url)).toEqual(before);
  });

  it('answers through the Lambda handler, with squawk where it is installed (here, a checkout)', async () => {
    const url = await fixtures.emptyDatabase();
    const serverUrl = process.env.DATABASE_URL;
    process.env.DATABASE_URL = url;
    let result: unknown;
    try {
      result = await handler({ command: 'plan', to: CREATE_USERS });
    } finally {
      process.env.DATABASE_URL = serverUrl;
    }
    expect(result).toEqual({
      command: 'plan',
      migrations: [
        {
          name: CREATE_USERS,
          statements: [{ sql: expect.any(String), durationMs: expect.any(Number), locks: [] }],
          flags: [],
          tables: [],
          durationMs: expect.any(Number),
        },
      ],
      lint: SQUAWK_STATUS,
      durationMs: expect.any(Number),
    });
    expect(await metaRows(url)).toBeNull();
  });
});

describe('plan flags unsafe migrations on existing tables', () => {
  it('flags each unsafe pattern, reports its locks, and changes nothing', async () => {
    // audit_log exists but is empty (adding a NOT NULL column without default works there).
    const url = await databaseWithUsers(
      `CREATE TABLE audit_log (id integer, user_id integer, note text);
       CREATE INDEX users_created_idx ON users (created_at);
       CREATE FUNCTION pick() RETURNS integer VOLATILE LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$`,
    );
    const list: MigrationDefinition[] = [
      createUsers,
      sqlMigration('03-index.cjs', 'CREATE INDEX users_name_idx ON users (name)'),
      sqlMigration(
        '04-volatile-default.cjs',
        'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()',
      ),
      sqlMigration('05-required.cjs', 'ALTER TABLE audit_log ADD COLUMN kind text NOT NULL'),
      sqlMigration(
        '06-fk.cjs',
        'ALTER TABLE audit_log ADD CONSTRAINT audit_log_user_fk FOREIGN KEY (user_id) REFERENCES users (id)',
      ),
      sqlMigration(
        '07-fk-column.cjs',
        'ALTER TABLE users ADD COLUMN manager_id integer REFERENCES users (id)',
      ),
      sqlMigration(
        '08-check.cjs',
        'ALTER TABLE users ADD CONSTRAINT users_name_len CHECK (char_length(name) > 0)',
      ),
      sqlMigration('09-not-null.cjs', 'ALTER TABLE users ALTER COLUMN email SET NOT NULL'),
      sqlMigration('10-type.cjs', 'ALTER TABLE users ALTER COLUMN name TYPE text'),
      sqlMigration(
        '11-unique.cjs',
        'ALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE (name)',
      ),
      sqlMigration('12-primary-key.cjs', 'ALTER TABLE audit_log ADD PRIMARY KEY (id)'),
      sqlMigration(
        '13-validate-same.cjs',
        'ALTER TABLE users ADD CONSTRAINT users_phone_len CHECK (char_length(phone) > 5) NOT VALID',
        'ALTER TABLE users VALIDATE CONSTRAINT users_phone_len',
      ),
      sqlMigration(
        '14-volatile-function.cjs',
        'ALTER TABLE users ADD COLUMN picked integer DEFAULT pick()',
      ),
      sqlMigration('14b-cluster.cjs', 'CLUSTER users USING users_pkey'),
      sqlMigration('15-drop-index.cjs', 'DROP INDEX users_created_idx'),
      sqlMigration('16-rename-column.cjs', 'ALTER TABLE users RENAME COLUMN phone TO mobile'),
      sqlMigration('17-drop-column.cjs', 'ALTER TABLE users DROP COLUMN mobile'),
      sqlMigration('18-rename-table.cjs', 'ALTER TABLE audit_log RENAME TO audit_entries'),
      sqlMigration('19-drop-table.cjs', 'DROP TABLE audit_entries'),
    ];
    const before = await state(url);
    const result = await planner(url, list).plan();

    expect(rulesOf(result)).toEqual({
      '03-index.cjs': ['require-concurrent-index-creation'],
      '04-volatile-default.cjs': ['adding-field-with-default'],
      '05-required.cjs': ['adding-required-field'],
      '06-fk.cjs': ['constraint-missing-not-valid', 'adding-foreign-key-constraint'],
      '07-fk-column.cjs': ['adding-foreign-key-constraint'],
      '08-check.cjs': ['constraint-missing-not-valid'],
      '09-not-null.cjs': ['adding-not-nullable-field'],
      '10-type.cjs': ['changing-column-type'],
      '11-unique.cjs': ['constraint-missing-not-valid', 'disallowed-unique-constraint'],
      '12-primary-key.cjs': ['constraint-missing-not-valid', 'adding-serial-primary-key-field'],
      '13-validate-same.cjs': ['constraint-missing-not-valid'],
      // The plan saw users rewritten; squawk's flag already says so, so it is not repeated.
      '14-volatile-function.cjs': ['adding-field-with-default'],
      // squawk has no rule for CLUSTER: the plan saw users get a new file.
      '14b-cluster.cjs': ['table-rewrite'],
      '15-drop-index.cjs': ['require-concurrent-index-deletion'],
      '16-rename-column.cjs': ['renaming-column'],
      '17-drop-column.cjs': ['ban-drop-column'],
      '18-rename-table.cjs': ['renaming-table'],
      '19-drop-table.cjs': ['ban-drop-table'],
    });
    const byName = new Map(result.migrations.map((m) => [m.name, m]));
    expect(byName.get('03-index.cjs')?.statements[0]?.locks).toEqual([
      { relation: 'users', mode: 'ShareLock', heldMs: expect.any(Number) },
    ]);
    expect(byName.get('03-index.cjs')?.tables).toEqual([
      { name: 'users', rows: 3, estimated: false },
    ]);
    expect(byName.get('04-volatile-default.cjs')?.statements[0]?.locks).toContainEqual({
      relation: 'users',
      mode: 'AccessExclusiveLock',
      heldMs: expect.any(Number),
    });
    expect(byName.get('06-fk.cjs')?.tables).toEqual(
      expect.arrayContaining([
        { name: 'audit_log', rows: 0, estimated: false },
        { name: 'users', rows: 3, estimated: false },
      ]),
    );
    for (const m of result.migrations) {
      for (const f of m.flags) {
        expect(f.message.length).toBeGreaterThan(20);
        expect(m.statements[f.statement ?? -1]).toBeDefined();
      }
    }
    expect(await state(url)).toEqual(before);
    expect(await query(url, `SELECT to_regclass('users_name_idx') AS i`)).toEqual([{ i: null }]);
  });

  it('does not flag the safe variants; skips a migration that opts out and those after it', async () => {
    const url = await databaseWithUsers();
    const concurrent: MigrationDefinition = {
      name: '06-concurrent-index.cjs',
      module: {
        useTransaction: false,
        async up(queryInterface) {
          await queryInterface.sequelize.query(
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name_idx ON users (name)',
          );
        },
      },
    };
    const list: MigrationDefinition[] = [
      createUsers,
      sqlMigration(
        '03-not-valid.cjs',
        'ALTER TABLE users ADD COLUMN manager_id integer',
        'ALTER TABLE users ADD CONSTRAINT users_manager_fk FOREIGN KEY (manager_id) REFERENCES users (id) NOT VALID',
        'ALTER TABLE users ADD CONSTRAINT users_name_len CHECK (char_length(name) > 0) NOT VALID',
      ),
      sqlMigration(
        '04-defaults.cjs',
        'ALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0',
        'ALTER TABLE users ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now()',
      ),
      sqlMigration(
        '05-new-table.cjs',
        // squawk knows the table is new (created in the same transaction): its
        // index and foreign key lock nothing that is in use.
        'CREATE TABLE notes (id integer PRIMARY KEY, user_id integer, body text NOT NULL)',
        'CREATE INDEX notes_user_idx ON notes (user_id)',
        'ALTER TABLE notes ADD CONSTRAINT notes_user_fk FOREIGN KEY (user_id) REFERENCES users (id)',
      ),
      concurrent,
      sqlMigration('07-after.cjs', 'ALTER TABLE users DROP COLUMN name'),
    ];
    const before = await state(url);
    const result = await planner(url, list).plan();

    expect(result.migrations.map((m) => [m.name, m.flags, m.skipped])).toEqual([
      ['03-not-valid.cjs', [], undefined],
      ['04-defaults.cjs', [], undefined], // now() is stable: no rewrite was seen either
      ['05-new-table.cjs', [], undefined],
      ['06-concurrent-index.cjs', [], 'runs outside a transaction'],
      [
        '07-after.cjs',
        [],
        'not planned: it follows 06-concurrent-index.cjs, which runs outside a transaction',
      ],
    ]);
    expect(result.migrations[3]?.statements).toEqual([]);
    expect(await state(url)).toEqual(before);
  });
});

describe('plan where squawk cannot run', () => {
  it('says so, and still reports the locks and the table rewrites it saw', async () => {
    const url = await databaseWithUsers();
    const missing = squawkLinter({ missing: 'no squawk in this test' });
    const list = [
      createUsers,
      sqlMigration('03-index.cjs', 'CREATE INDEX users_name_idx ON users (name)'),
      sqlMigration('04-cluster.cjs', 'CLUSTER users USING users_pkey'),
    ];
    const result = await planner(url, list, missing).plan();
    expect(result.lint).toEqual({ tool: null, reason: 'no squawk in this test' });
    expect(rulesOf(result)).toEqual({ '03-index.cjs': [], '04-cluster.cjs': ['table-rewrite'] });
    expect(result.migrations[0]?.statements[0]?.locks).toEqual([
      { relation: 'users', mode: 'ShareLock', heldMs: expect.any(Number) },
    ]);

    const report = formatPlan(result);
    expect(report).toMatch(/^flags: squawk did not run \(no squawk in this test\)/);
    expect(report).toContain('03-index.cjs');
    expect(report).toMatch(/03-index\.cjs[^]*flags: not checked/);
    expect(report).toMatch(/plan: 2 planned, 1 flag\(s\); rolled back/);
    const without = await planner(url, list.slice(0, 2), null).plan();
    expect(without.lint).toEqual({ tool: null, reason: 'this run was given no SQL linter' });
    expect(formatPlan(without)).toMatch(/plan: 1 planned, not linted; rolled back/);
  });
});

describe('a plan that cannot finish changes nothing', () => {
  it('a failing migration: the error names it, the transaction and the advisory lock are released', async () => {
    const url = await databaseWithUsers();
    const list = [
      createUsers,
      sqlMigration('03-fine.cjs', 'ALTER TABLE users ADD COLUMN nickname text'),
      sqlMigration('04-broken.cjs', 'ALTER TABLE users ADD COLUMN nickname text'),
    ];
    const before = await state(url);
    const plan = planner(url, list).plan();
    await expect(plan).rejects.toThrow(MigrationPlanError);
    await expect(plan).rejects.toThrow(
      /04-broken\.cjs failed at ALTER TABLE users ADD COLUMN nickname text: .*already exists/,
    );
    expect(await state(url)).toEqual(before);
    expect(await advisoryLocksHeld(url)).toBe(0);
  });

  it('refuses transaction control and explicit transactions that would escape the rollback', async () => {
    const url = await databaseWithUsers();
    const committing = sqlMigration('03-commit.cjs', 'ALTER TABLE users ADD COLUMN a text; COMMIT');
    const ownTransaction: MigrationDefinition = {
      name: '03-own-transaction.cjs',
      module: {
        async up(queryInterface) {
          await queryInterface.sequelize.transaction(async (transaction) => {
            await queryInterface.sequelize.query('ALTER TABLE users ADD COLUMN b text', {
              transaction,
            });
          });
        },
      },
    };
    const explicitNull: MigrationDefinition = {
      name: '03-null-transaction.cjs',
      module: {
        async up(queryInterface) {
          await queryInterface.sequelize.query('ALTER TABLE users ADD COLUMN c text', {
            transaction: null,
          });
        },
      },
    };
    const before = await state(url);
    await expect(planner(url, [createUsers, committing]).plan()).rejects.toThrow(/runs COMMIT/);
    await expect(planner(url, [createUsers, ownTransaction]).plan()).rejects.toThrow(/runs START/);
    // Forced into the plan's transaction, so rolled back with it.
    const forced = await planner(url, [createUsers, explicitNull]).plan();
    expect(forced.migrations[0]?.statements).toHaveLength(1);
    expect(await state(url)).toEqual(before);
  });
});
