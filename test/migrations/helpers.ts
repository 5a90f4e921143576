import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { Sequelize } from 'sequelize';
import { migrations } from '../../lib/migrator/migrations';
import { createMigrationSequelize, MIGRATION_LOCK_KEY } from '../../lib/migrator/runner';
import { findSquawk, squawkLinter } from '../../lib/migrator/squawk';
import type { MigrationSettings } from '../../lib/settings';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

export const ROOT = path.resolve(__dirname, '..', '..');
export const CREATE_USERS = '20261126000001-create-users.cjs';
export const ADD_VERIFICATION = '20261126000002-add-verification-and-staff-approval-tables.cjs';
export const ADD_DESTINATION_COUNTRY = '20261130000003-add-destination-country.cjs';
export const ADD_IDEMPOTENCY_KEYS = '20261130000004-add-idempotency-keys.cjs';
/** Every shipped migration, oldest first, as the registry lists them. */
export const ALL_MIGRATIONS: readonly string[] = migrations.map((m) => m.name);
/** The newest shipped migration. */
export const LATEST = ALL_MIGRATIONS[ALL_MIGRATIONS.length - 1] as string;
/** Names newest first, as down and stamp report what they ran. */
export const newestFirst = (names: readonly string[]): string[] => [...names].reverse();
/** sequelize-cli's status: the first `applied` migrations up, the rest down. */
export const statusWith = (applied: number): Record<string, 'up' | 'down'> =>
  Object.fromEntries(ALL_MIGRATIONS.map((name, i) => [name, i < applied ? 'up' : 'down']));

/** squawk as the project installs it (npm squawk-cli), with the project's .squawk.toml. */
export const squawk = squawkLinter(findSquawk(ROOT));

export const defaultSettings: MigrationSettings = {
  lockTimeoutMs: 5000,
  statementTimeoutMs: 600000,
  lockWaitMs: 60000,
};

const run = promisify(execFile);

/** Runs the real sequelize-cli against a database, as an operator would. */
export async function sequelizeCli(url: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'sequelize-cli', 'lib', 'sequelize'), ...args],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL: url } },
  );
  return stdout;
}

/** `db:migrate:status` as a map name → 'up' | 'down'. */
export async function cliStatus(url: string): Promise<Record<string, string>> {
  const out = await sequelizeCli(url, 'db:migrate:status');
  const status: Record<string, string> = {};
  for (const m of out.matchAll(/^(up|down) (\S+)$/gm)) status[m[2] as string] = m[1] as string;
  return status;
}

export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function query<R extends Record<string, unknown>>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<R[]> {
  return withClient(url, async (c) => (await c.query<R>(sql, values)).rows);
}

/**
 * Sessions holding (or waiting for) the migration advisory lock in this database
 * only: advisory locks of other test files' databases show in pg_locks too.
 */
export async function advisoryLocksHeld(url: string): Promise<number> {
  const [row] = await query<{ n: string }>(
    url,
    `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::bigint::oid
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [MIGRATION_LOCK_KEY],
  );
  return Number(row?.n);
}

/** SequelizeMeta names, or null when the table does not exist. */
export async function metaRows(url: string): Promise<string[] | null> {
  const [row] = await query<{ t: string | null }>(
    url,
    `SELECT to_regclass('"SequelizeMeta"') AS t`,
  );
  if (!row?.t) return null;
  return (await query<{ name: string }>(url, 'SELECT name FROM "SequelizeMeta" ORDER BY name')).map(
    (r) => r.name,
  );
}

/**
 * Everything a migration can change in the public schema, read from the
 * catalogue, apart from SequelizeMeta: compare two snapshots to prove "exactly
 * as before".
 */
export async function schemaSnapshot(url: string): Promise<Record<string, unknown>> {
  const notMeta = `<> 'SequelizeMeta'`;
  // One connection, one query after the other: cheap on a loaded machine.
  return withClient(url, async (c) => {
    const rows = async (sql: string) => (await c.query(sql)).rows;
    return {
      columns: await rows(
        `SELECT table_name, column_name, data_type, udt_name, character_maximum_length,
              is_nullable, column_default, is_identity
         FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name ${notMeta}
        ORDER BY table_name, ordinal_position`,
      ),
      enums: await rows(
        `SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
         JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
        GROUP BY t.typname ORDER BY t.typname`,
      ),
      constraints: await rows(
        `SELECT c.conrelid::regclass::text AS table_name, c.conname, c.contype,
              pg_get_constraintdef(c.oid) AS def
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public'
        WHERE c.conrelid <> 0 AND c.conrelid::regclass::text <> '"SequelizeMeta"'
        ORDER BY 1, 2`,
      ),
      indexes: await rows(
        `SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename ${notMeta} ORDER BY 1, 2`,
      ),
      triggers: await rows(
        `SELECT tgrelid::regclass::text AS table_name, tgname, pg_get_triggerdef(oid) AS def
         FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2`,
      ),
      functions: await rows(
        `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' ORDER BY 1`,
      ),
    };
  });
}

/**
 * Empty databases and migration Sequelize instances for one test file, all
 * closed and dropped by `cleanup()` (call it in afterAll).
 */
export function migrationFixtures() {
  const databases: TestDatabase[] = [];
  const instances: Sequelize[] = [];
  return {
    async emptyDatabase(): Promise<string> {
      const db = await createTestDatabase({ migrated: false });
      databases.push(db);
      return db.url;
    },
    sequelizeFor(url: string, settings: MigrationSettings = defaultSettings): Sequelize {
      const s = createMigrationSequelize(
        { databaseUrl: url, caFile: undefined, connectTimeoutMs: 3000 },
        settings,
      );
      instances.push(s);
      return s;
    },
    async cleanup(): Promise<void> {
      await Promise.all(instances.map((s) => s.close()));
      await Promise.all(databases.map((d) => d.drop()));
    },
  };
}
