import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { adminUrl, uniqueDatabaseName, urlForDatabase, withAdminClient } from './pgAdmin';

/**
 * Builds one migrated template database per test run, with sequelize-cli (the
 * operators' tool), so each test file can clone it in milliseconds
 * (CREATE DATABASE ... TEMPLATE).
 */
export default async function globalSetup(): Promise<void> {
  const template = uniqueDatabaseName('vs_template');
  await withAdminClient((c) => c.query(`CREATE DATABASE ${template}`));
  const root = path.resolve(__dirname, '..', '..');
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules', 'sequelize-cli', 'lib', 'sequelize'), 'db:migrate'],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: urlForDatabase(template, adminUrl()) },
      stdio: 'pipe',
    },
  );
  process.env.TEST_TEMPLATE_DATABASE = template;
}
