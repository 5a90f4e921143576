import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { lintMigrations } from '../../lib/migrator/lint';
import type { MigrationDefinition } from '../../lib/migrator/migrations';
import { migrations } from '../../lib/migrator/migrations';
import { CREATE_USERS, defaultSettings, migrationFixtures, ROOT, squawk } from './helpers';

const fixtures = migrationFixtures();
afterAll(() => fixtures.cleanup());

const createUsers = migrations.find((m) => m.name === CREATE_USERS) as MigrationDefinition;

async function lint(list: readonly MigrationDefinition[]) {
  const url = await fixtures.emptyDatabase();
  const sequelize = fixtures.sequelizeFor(url);
  return lintMigrations({ sequelize, migrations: list, settings: defaultSettings, linter: squawk });
}

const rulesOf = (linted: Awaited<ReturnType<typeof lint>>) =>
  Object.fromEntries(linted.map((m) => [m.name, m.flags.map((f) => f.rule).sort()]));

describe('the migration lint (squawk over the SQL each migration emits)', () => {
  it('passes the shipped migrations', async () => {
    const linted = await lint(migrations);
    expect(linted.map((m) => m.name)).toEqual(migrations.map((m) => m.name));
    for (const m of linted) {
      expect(m.statements.length).toBeGreaterThan(0);
      expect({ [m.name]: m.flags }).toEqual({ [m.name]: [] });
    }
  });

  it('flags a blocking index build, a volatile default, a NOT NULL column without default and a foreign key without NOT VALID on a table that already exists', async () => {
    const list: MigrationDefinition[] = [
      createUsers,
      {
        name: '20270101000001-index.cjs',
        // queryInterface's own SQL is what squawk reads: CREATE INDEX "users_name" ON "users" ...
        module: { up: (qi) => qi.addIndex('users', ['name']) },
      },
      {
        name: '20270101000002-volatile-default.cjs',
        module: {
          up: (qi) =>
            qi.sequelize.query('ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()'),
        },
      },
      {
        name: '20270101000003-required.cjs',
        module: {
          up: (qi, Sequelize) =>
            qi.addColumn('users', 'nickname', { type: Sequelize.TEXT, allowNull: false }),
        },
      },
      {
        name: '20270101000004-foreign-key.cjs',
        module: {
          async up(qi) {
            await qi.sequelize.query('ALTER TABLE users ADD COLUMN manager_id bigint');
            await qi.sequelize.query(
              'ALTER TABLE users ADD CONSTRAINT users_manager_fk FOREIGN KEY (manager_id) REFERENCES users (id)',
            );
          },
        },
      },
    ];
    const linted = await lint(list);
    expect(rulesOf(linted)).toEqual({
      [CREATE_USERS]: [],
      '20270101000001-index.cjs': ['require-concurrent-index-creation'],
      '20270101000002-volatile-default.cjs': ['adding-field-with-default'],
      '20270101000003-required.cjs': ['adding-required-field'],
      '20270101000004-foreign-key.cjs': [
        'adding-foreign-key-constraint',
        'constraint-missing-not-valid',
      ],
    });
    const index = linted[1];
    expect(index?.statements).toContainEqual(expect.stringMatching(/^CREATE INDEX "users_name"/));
    const fk = linted[4];
    for (const flag of fk?.flags ?? []) {
      expect(flag.statement).toBe(1); // the ADD CONSTRAINT, not the ADD COLUMN
      expect(flag.message.length).toBeGreaterThan(20);
    }
  });

  it('reads each migration as the runner runs it: a migration outside a transaction may build an index concurrently, one inside may not', async () => {
    const concurrently = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS users_name_idx ON users (name)';
    const outside: MigrationDefinition = {
      name: '20270101000001-concurrent.cjs',
      module: { useTransaction: false, up: (qi) => qi.sequelize.query(concurrently) },
    };
    expect(rulesOf(await lint([createUsers, outside]))).toEqual({
      [CREATE_USERS]: [],
      [outside.name]: [],
    });
    // The same statement in a transaction cannot run at all: squawk says why
    // before PostgreSQL would (only the SQL is read here).
    const flags = await squawk.lint([concurrently], {
      inTransaction: true,
      settings: defaultSettings,
    });
    expect(flags.map((f) => f.rule)).toEqual(['ban-concurrent-index-creation-in-transaction']);
  });

  it('runs as `npm run lint:migrations`: no findings, exit 0, the scratch database dropped', async () => {
    const serverUrl = process.env.DATABASE_URL as string;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/lint-migrations.ts'],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: serverUrl } },
    );
    expect(stdout).toMatch(
      new RegExp(
        `^squawk [\\d.]+ \\(\\.squawk\\.toml\\): ${migrations.length} migrations, no findings`,
      ),
    );
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    const left = await admin.query(
      `SELECT datname FROM pg_database WHERE datname LIKE 'vs_lint_migrations_%'`,
    );
    await admin.end();
    expect(left.rows).toEqual([]);
  }, 60000);
});
