import type { QueryInterface } from 'sequelize';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loadMigrations } = require('./migrationFiles.cjs') as typeof import('./migrationFiles.cjs');

/** The `sequelize` module, which sequelize-cli passes as a migration's second argument. */
export type SequelizeModule = typeof import('sequelize');

/** What a sequelize-cli migration file exports. */
export interface MigrationModule {
  up(queryInterface: QueryInterface, sequelize: SequelizeModule): Promise<unknown>;
  down?(queryInterface: QueryInterface, sequelize: SequelizeModule): Promise<unknown>;
  /**
   * `false` runs the migration outside a transaction (needed for statements such
   * as CREATE INDEX CONCURRENTLY); its SequelizeMeta row is then written after it
   * succeeds, so a failure half-way leaves whatever it had done.
   */
  useTransaction?: boolean;
}

export interface MigrationDefinition {
  /** The file name with its extension, as sequelize-cli stores it in SequelizeMeta. */
  name: string;
  module: MigrationModule;
}

/** Checks what a migration file exports, naming the file when it is not a migration. */
export function asMigration(name: string, module: unknown): MigrationDefinition {
  const exported = module as Partial<MigrationModule> | null;
  if (typeof exported?.up !== 'function') {
    throw new Error(`migrations/${name} exports no up(queryInterface, Sequelize) function`);
  }
  return { name, module: exported as MigrationModule };
}

/**
 * Every migration in migrations/, in the order sequelize-cli runs them: the
 * files themselves, so adding a migration is adding a file
 * (lib/migrator/migrationFiles.cjs; bundles get the list at build time).
 */
export const migrations: readonly MigrationDefinition[] = loadMigrations().map(({ name, module }) =>
  asMigration(name, module),
);
