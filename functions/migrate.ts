import { logger } from '../lib/logger';
import { containerMetrics, metricsNamespace, withMetrics } from '../lib/metrics';
import {
  customResourceResponse,
  CustomResourceEvent,
  isCustomResourceEvent,
  sendCustomResourceResponse,
} from '../lib/migrator/customResource';
import { migrations } from '../lib/migrator/migrations';
import {
  createMigrationSequelize,
  MigrationRequest,
  MigrationResult,
  parseMigrationRequest,
  PlanRequest,
  PlanResult,
  runMigrations,
} from '../lib/migrator/runner';
import { findSquawk, squawkLinter } from '../lib/migrator/squawk';
import type { MigrationLinter } from '../lib/migrator/types';
import { databaseSettings, migrationSettings, runtimeEnv } from '../lib/settings';

// Stop at start on a bad METRICS_NAMESPACE (a failed run is counted as MigrationFailed).
metricsNamespace(process.env);

/** What `plan` says about its flags on a deployed function. */
export const SQUAWK_NOT_SHIPPED =
  'the migrate function does not ship squawk (a 25 MB binary per CPU architecture): `npm run lint` checks every migration with it before deployment, and `npm run migrate -- plan` against this database reports its flags';

let linter: MigrationLinter | undefined;

/**
 * squawk where this code runs from a checkout with its dev dependencies
 * (tests, a developer's machine); in the deployed bundle there is none, and
 * plan's answer says so.
 */
function migrationLinter(): MigrationLinter {
  if (!linter) {
    const found = findSquawk(process.cwd());
    linter = squawkLinter('missing' in found ? { missing: SQUAWK_NOT_SHIPPED } : found);
  }
  return linter;
}

/**
 * A Sequelize instance per invocation, closed afterwards: the function runs a few
 * times per deployment, so connecting costs nothing worth saving, and no
 * connection (nor a session-level advisory lock) outlives the run in a frozen
 * container.
 */
async function migrate(request: MigrationRequest): Promise<MigrationResult>;
async function migrate(
  request: MigrationRequest | PlanRequest,
): Promise<MigrationResult | PlanResult>;
async function migrate(
  request: MigrationRequest | PlanRequest,
): Promise<MigrationResult | PlanResult> {
  const env = await runtimeEnv();
  const settings = migrationSettings(env);
  const sequelize = createMigrationSequelize(databaseSettings(env), settings);
  try {
    return await runMigrations(
      { sequelize, migrations, settings, logger, linter: migrationLinter() },
      request,
    );
  } finally {
    await sequelize.close();
  }
}

/** Create and Update run `up`; Delete leaves the database alone (never roll back on stack deletion). */
async function answerCustomResource(event: CustomResourceEvent): Promise<void> {
  let response;
  try {
    const data: Record<string, string> = {};
    if (event.RequestType !== 'Delete') {
      const result = await migrate({ command: 'up' });
      logger.info('Migrations for CloudFormation', { ...result });
      // Counts and the latest name keep the response under CloudFormation's 4 KB.
      data.Ran = String(result.ran.length);
      data.Latest = result.executed.at(-1) ?? '';
    }
    response = customResourceResponse(event, { ok: true, data });
  } catch (err) {
    logger.error('Migrations for CloudFormation failed', err as Error);
    // Answered rather than thrown, so Lambda's Errors does not count it: this does.
    containerMetrics().migrationFailed();
    response = customResourceResponse(event, { ok: false, reason: (err as Error).message });
  }
  try {
    await sendCustomResourceResponse(event.ResponseURL, response);
  } catch (err) {
    logger.error('Could not answer CloudFormation', err as Error);
  }
}

/**
 * `{ command, to }` → the run's result, or a thrown error (so that
 * `serverless invoke -f migrate` exits non-zero). CloudFormation custom-resource
 * events are answered on their ResponseURL and never throw: a throw would make
 * Lambda retry and answer twice.
 */
export const handler = withMetrics(
  async (event: unknown): Promise<MigrationResult | PlanResult | void> => {
    if (isCustomResourceEvent(event)) return answerCustomResource(event);
    try {
      const result = await migrate(parseMigrationRequest(event));
      logger.info('Migrations', { ...result });
      return result;
    } catch (err) {
      containerMetrics().migrationFailed();
      throw err;
    }
  },
);
