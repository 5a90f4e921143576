// npm run migrate -- <up|down|status|stamp|plan> [to] [--json]
// The migration runner of the migrate function, run locally against DATABASE_URL.
import { migrations } from '../lib/migrator/migrations';
import { formatPlan } from '../lib/migrator/planReport';
import {
  createMigrationSequelize,
  MigrationLogger,
  MigrationResult,
  parseMigrationRequest,
  runMigrations,
} from '../lib/migrator/runner';
import { databaseSettings, migrationSettings } from '../lib/settings';

const USAGE = 'usage: npm run migrate -- <up|down|status|stamp|plan> [to] [--json]';

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

/** One line per migration: the file name and whether it is applied (SequelizeMeta keeps no time). */
export function formatResult(result: MigrationResult, known: readonly string[]): string {
  const executed = new Set(result.executed);
  const ran = new Set(result.ran);
  const rows = [
    ...known.map((name) => {
      const now = {
        up: 'applied now',
        down: 'pending (reverted now)',
        stamp: 'applied (stamped now, not run)',
      };
      const state =
        ran.has(name) && result.command !== 'status'
          ? now[result.command]
          : executed.has(name)
            ? 'applied'
            : 'pending';
      return [name, state] as const;
    }),
    ...result.executed
      .filter((name) => !known.includes(name))
      .map((name) => [name, 'applied (no such file in this build)'] as const),
  ];
  const width = Math.max(9, ...rows.map(([name]) => name.length));
  const lines = [`${'migration'.padEnd(width)}  state`, `${'-'.repeat(width)}  -----`];
  for (const [name, state] of rows) lines.push(`${name.padEnd(width)}  ${state}`);
  const verb = { up: 'applied', down: 'reverted', stamp: 'stamped', status: '' }[result.command];
  if (verb)
    lines.push('', `${result.command}: ${result.ran.length} ${verb} in ${result.durationMs} ms`);
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
  const settings = migrationSettings(process.env);
  const sequelize = createMigrationSequelize(databaseSettings(process.env), settings);
  try {
    const result = await runMigrations(
      { sequelize, migrations, settings, logger: stderrLogger },
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
            ),
    );
    return 0;
  } finally {
    await sequelize.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`migrate failed: ${err.message}`);
      process.exit(1);
    },
  );
}
