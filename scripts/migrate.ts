// npm run migrate -- <up|down|status|stamp|plan> [to] [--json]   (stamp also takes `base`)
// The migration runner of the migrate function, run locally against DATABASE_URL.
import path from 'node:path';
import { migrations } from '../lib/migrator/migrations';
import { formatPlan } from '../lib/migrator/planReport';
import {
  createMigrationSequelize,
  HistoryRow,
  MigrationLogger,
  MigrationResult,
  parseMigrationRequest,
  readHistory,
  runMigrations,
} from '../lib/migrator/runner';
import { findSquawk, squawkLinter } from '../lib/migrator/squawk';
import { databaseSettings, migrationSettings } from '../lib/settings';

const USAGE =
  'usage: npm run migrate -- <up|down|status|stamp|plan> [to] [--json]  (to: a migration file name; stamp base: empty history)';

/** Progress goes to stderr, so that stdout carries only the result (the JSON with --json). */
const stderrLogger: MigrationLogger = {
  info: (message, extra) => {
    if (typeof extra.event === 'string' && typeof extra.name === 'string') {
      console.error(`${extra.event} ${extra.name}`);
    } else {
      console.error(`${message} ${JSON.stringify(extra)}`);
    }
  },
  warn: (message, extra) => console.error(`warning: ${message} ${JSON.stringify(extra)}`),
};

/**
 * One line per migration: the file name, its state and when it was applied (the
 * time of its SequelizeMeta row; rows written before the table kept times have none).
 */
export function formatResult(
  result: MigrationResult,
  known: readonly string[],
  history: readonly HistoryRow[],
): string {
  const executed = new Set(result.executed);
  const ran = new Set(result.ran);
  const appliedAt = new Map(history.map((row) => [row.name, row.appliedAt]));
  const when = (name: string): string => {
    if (!executed.has(name)) return '';
    const at = appliedAt.get(name);
    return at ? new Date(at).toISOString() : 'not recorded';
  };
  const rows = [
    ...known.map((name) => {
      const now = {
        up: 'applied now',
        down: 'pending (reverted now)',
        // A stamp records some names and removes others: the state after it tells which.
        stamp: executed.has(name)
          ? 'applied (stamped now, not run)'
          : 'pending (unstamped now, not reverted)',
      };
      const state =
        ran.has(name) && result.command !== 'status'
          ? now[result.command]
          : executed.has(name)
            ? 'applied'
            : 'pending';
      return [name, state, when(name)] as const;
    }),
    ...result.executed
      .filter((name) => !known.includes(name))
      .map((name) => [name, 'applied (no such file in this build)', when(name)] as const),
  ];
  const nameWidth = Math.max(9, ...rows.map(([name]) => name.length));
  const stateWidth = Math.max(5, ...rows.map(([, state]) => state.length));
  const line = (name: string, state: string, at: string) =>
    `${name.padEnd(nameWidth)}  ${state.padEnd(stateWidth)}  ${at}`.trimEnd();
  const lines = [
    line('migration', 'state', 'applied at (UTC)'),
    line('-'.repeat(nameWidth), '-'.repeat(stateWidth), '-'.repeat(16)),
  ];
  for (const [name, state, at] of rows) lines.push(line(name, state, at));
  const recorded = result.ran.filter((name) => executed.has(name)).length;
  const done = {
    up: `${result.ran.length} applied`,
    down: `${result.ran.length} reverted`,
    stamp: `${recorded} recorded, ${result.ran.length - recorded} removed, nothing run`,
    status: '',
  }[result.command];
  if (done) lines.push('', `${result.command}: ${done} in ${result.durationMs} ms`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  if (args.length > 2 || args.some((a) => a.startsWith('-'))) {
    console.error(USAGE);
    return 2;
  }
  const [command, to] = args;
  const request = parseMigrationRequest({
    ...(command === undefined ? {} : { command }),
    ...(to === undefined ? {} : { to }),
  });
  // Without DATABASE_URL, the database of npm start (started here if it is not running).
  // (Imported here: test/unit imports this module, and Jest cannot require ESM.)
  const { openLocalDatabase } = await import('./local-db.mjs');
  const local = await openLocalDatabase();
  const env = { ...process.env, DATABASE_URL: local.url };
  let sequelize: ReturnType<typeof createMigrationSequelize> | undefined;
  try {
    const settings = migrationSettings(env);
    sequelize = createMigrationSequelize(databaseSettings(env), settings);
    // plan's flags come from squawk, installed with the project's dev dependencies.
    const linter = squawkLinter(findSquawk(path.resolve(__dirname, '..')));
    const result = await runMigrations(
      { sequelize, migrations, settings, logger: stderrLogger, linter },
      request,
    );
    console.log(
      json
        ? JSON.stringify(result)
        : result.command === 'plan'
          ? formatPlan(result)
          : formatResult(
              result,
              migrations.map((m) => m.name),
              await readHistory(sequelize),
            ),
    );
    return 0;
  } finally {
    await sequelize?.close();
    await local.release();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      // One line, never a stack trace (a PostgreSQL error can span several lines).
      const message = err instanceof Error ? err.message : String(err);
      console.error(`migrate failed: ${message.trim().split('\n')[0]}`);
      process.exit(1);
    },
  );
}
