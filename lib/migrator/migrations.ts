import type { QueryInterface } from 'sequelize';
import createUsers from '../../migrations/20261126000001-create-users.cjs';
import addVerification from '../../migrations/20261126000002-add-verification-and-staff-approval-tables.cjs';
import addDestinationCountry from '../../migrations/20261130000003-add-destination-country.cjs';
import addIdempotencyKeys from '../../migrations/20261130000004-add-idempotency-keys.cjs';
import addVerificationEvents from '../../migrations/20261130000005-add-verification-events.cjs';

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

/**
 * Every migration in migrations/, in order. Listed statically so that esbuild
 * bundles them into the migrate function (a bundle cannot glob the file
 * system); test/migrations/registry.test.ts fails when a file is missing here.
 */
export const migrations: readonly MigrationDefinition[] = [
  { name: '20261126000001-create-users.cjs', module: createUsers },
  {
    name: '20261126000002-add-verification-and-staff-approval-tables.cjs',
    module: addVerification,
  },
  { name: '20261130000003-add-destination-country.cjs', module: addDestinationCountry },
  { name: '20261130000004-add-idempotency-keys.cjs', module: addIdempotencyKeys },
  { name: '20261130000005-add-verification-events.cjs', module: addVerificationEvents },
];
