import type { Sequelize } from 'sequelize';
import type { MigrationSettings } from '../settings';
import type { MigrationDefinition } from './migrations';

/** Types shared by the runner, the planner and the lint, which import each other's code one way only. */

export interface MigrationLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
}

/** An unsafe pattern in a migration's SQL. */
export interface PlanFlag {
  /** squawk's rule id (`require-concurrent-index-creation`, ...), or `table-rewrite` (seen by plan). */
  rule: string;
  message: string;
  /** Index of the statement in the migration's `statements`. */
  statement?: number;
}

/** Who found a plan's flags: squawk, or nobody, and why. */
export type LintStatus =
  { tool: 'squawk'; version: string; config: string | null } | { tool: null; reason: string };

/** Reads the SQL of one migration and reports what is unsafe in it. */
export interface MigrationLinter {
  readonly status: LintStatus;
  /**
   * The findings in `statements` (the SQL one migration sent, in order) as the
   * runner would run them: after its session's timeouts, in a transaction
   * unless the migration opts out. Throws when the linter cannot run.
   */
  lint(
    statements: readonly string[],
    context: { inTransaction: boolean; settings: MigrationSettings },
  ): Promise<PlanFlag[]>;
}

export interface MigratorDeps {
  /** Needs at least two connections: one holds the advisory lock, one runs migrations. */
  sequelize: Sequelize;
  migrations: readonly MigrationDefinition[];
  settings: MigrationSettings;
  logger?: MigrationLogger;
  /** What `plan` lints each migration's SQL with (squawk); without one, plan says flags were not checked. */
  linter?: MigrationLinter;
}
