import { adminUrl, uniqueDatabaseName, urlForDatabase, withAdminClient } from './pgAdmin';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A database of this test file's own: a copy of the migrated template, or empty
 * (`migrated: false`) for migration tests. Drop it in afterAll.
 */
export async function createTestDatabase(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const migrated = opts.migrated ?? true;
  const template = migrated ? process.env.TEST_TEMPLATE_DATABASE : 'template0';
  if (!template) throw new Error('TEST_TEMPLATE_DATABASE is not set: jest globalSetup did not run');
  const name = uniqueDatabaseName('vs_test');
  await withAdminClient((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return {
    name,
    url: urlForDatabase(name, adminUrl()),
    drop: () =>
      withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}
