import type { Sequelize } from 'sequelize';
import type { MigrationSettings } from '../settings';
import type { MigrationDefinition } from './migrations';

/** Types shared by the runner and the planner, which import each other's code one way only. */

export interface MigrationLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
}

export interface MigratorDeps {
  /** Needs at least two connections: one holds the advisory lock, one runs migrations. */
  sequelize: Sequelize;
  migrations: readonly MigrationDefinition[];
  settings: MigrationSettings;
  logger?: MigrationLogger;
}
