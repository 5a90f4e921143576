import { Sequelize } from 'sequelize';
import { withQueryHook } from './capture';
import { installTransactionContext } from './clsNamespace';
import type { MigrationDefinition, SequelizeModule } from './migrations';
import type { MigrationLinter, MigratorDeps, PlanFlag } from './types';

export interface LintedMigration {
  name: string;
  /** The statements its `up` sent, as sent. */
  statements: string[];
  flags: PlanFlag[];
}

export interface LintDeps extends Pick<MigratorDeps, 'sequelize' | 'settings'> {
  migrations: readonly MigrationDefinition[];
  linter: MigrationLinter;
}

/**
 * The migration lint: runs every migration's `up` for real, in order, on the
 * database of `sequelize` (a scratch database: the caller makes and drops it),
 * each as the runner runs it (in a transaction unless it opts out), records
 * the SQL it sends, and has the linter read each migration's SQL. Unlike
 * `plan`, it sees the migrations that opt out of transactions too. A table an
 * earlier migration created counts as live in a later one, as it is in
 * production.
 */
export async function lintMigrations(deps: LintDeps): Promise<LintedMigration[]> {
  const { sequelize, linter } = deps;
  if (linter.status.tool === null) {
    throw new Error(`cannot lint the migrations: ${linter.status.reason}`);
  }
  installTransactionContext();
  const linted: LintedMigration[] = [];
  for (const { name, module } of deps.migrations) {
    const statements: string[] = [];
    const up = () =>
      withQueryHook(
        sequelize,
        async (sql, _options, send) => {
          statements.push(sql);
          return send();
        },
        () => module.up(sequelize.getQueryInterface(), Sequelize as unknown as SequelizeModule),
      );
    const inTransaction = module.useTransaction !== false;
    try {
      // The transaction's own BEGIN and COMMIT are sent outside the hook.
      await (inTransaction ? sequelize.transaction(() => up()) : up());
    } catch (err) {
      throw new Error(`${name} failed to run: ${(err as Error).message}`, { cause: err });
    }
    const flags = await linter.lint(statements, { inTransaction, settings: deps.settings });
    linted.push({ name, statements, flags });
  }
  return linted;
}
