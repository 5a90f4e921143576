// npm run lint:migrations (part of npm run lint): squawk over the SQL that each
// migration in migrations/ emits. The migrations run for real, in order, in a
// scratch database on the server of DATABASE_URL (`node scripts/with-db.mjs`
// starts an embedded one when it is unset), which is dropped afterwards.
// Exits 1 when squawk finds anything that .squawk.toml does not accept.
import path from 'node:path';
import { Client } from 'pg';
import { lintMigrations, type LintedMigration } from '../lib/migrator/lint';
import { migrations } from '../lib/migrator/migrations';
import { createMigrationSequelize } from '../lib/migrator/runner';
import { findSquawk, squawkLinter } from '../lib/migrator/squawk';
import type { LintStatus } from '../lib/migrator/types';
import { migrationSettings } from '../lib/settings';

const ROOT = path.resolve(__dirname, '..');

/** The findings, one block per flag: where, the rule and its message, and the statement. */
export function formatLint(linted: readonly LintedMigration[], status: LintStatus): string {
  const lines: string[] = [];
  for (const m of linted) {
    for (const f of m.flags) {
      const at = f.statement === undefined ? '' : ` (statement ${f.statement + 1})`;
      lines.push(`migrations/${m.name}${at}: ${f.rule}: ${f.message}`);
      const sql = f.statement === undefined ? undefined : m.statements[f.statement];
      if (sql !== undefined) {
        const flat = sql.replace(/\s+/g, ' ').trim();
        lines.push(`    ${flat.length > 160 ? `${flat.slice(0, 159)}…` : flat}`);
      }
    }
  }
  const count = linted.reduce((n, m) => n + m.flags.length, 0);
  const tool =
    status.tool === 'squawk'
      ? `squawk ${status.version}${status.config ? ` (${status.config})` : ''}`
      : 'squawk';
  lines.push(
    count === 0
      ? `${tool}: ${linted.length} migrations, no findings`
      : `${tool}: ${count} finding(s) in ${linted.filter((m) => m.flags.length > 0).length} of ${linted.length} migrations; fix them, or accept a rule in .squawk.toml with the reason`,
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    throw new Error('DATABASE_URL is not set (run it as `npm run lint:migrations`)');
  }
  const linter = squawkLinter(findSquawk(ROOT));
  const scratch = `vs_lint_migrations_${process.pid}_${Date.now()}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${scratch}`);
    const url = new URL(serverUrl);
    url.pathname = `/${scratch}`;
    const settings = migrationSettings(process.env);
    const sequelize = createMigrationSequelize(
      {
        databaseUrl: url.toString(),
        caFile: process.env.DATABASE_CA_FILE,
        connectTimeoutMs: 10000,
      },
      settings,
    );
    try {
      const linted = await lintMigrations({ sequelize, migrations, settings, linter });
      const report = formatLint(linted, linter.status);
      const clean = linted.every((m) => m.flags.length === 0);
      (clean ? console.log : console.error)(report);
      return clean ? 0 : 1;
    } finally {
      await sequelize.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${scratch}`).catch(() => undefined);
    await admin.end();
  }
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      // One line, never a stack trace.
      const message = err instanceof Error ? err.message : String(err);
      console.error(`lint:migrations failed: ${message.trim().split('\n')[0]}`);
      process.exit(1);
    },
  );
}
