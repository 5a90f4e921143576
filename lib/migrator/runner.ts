import pg from 'pg';
import { Options, Sequelize, Transaction } from 'sequelize';
import { Umzug, type RunnableMigration } from 'umzug';
import type { DatabaseSettings, MigrationSettings } from '../settings';
import { installTransactionContext } from './clsNamespace';
import { MigrationLockError, MigrationRequestError } from './errors';
import { deleteRow, prepareHistoryTable, readExecuted, recordRow } from './history';
import type { SequelizeModule } from './migrations';
import { planMigrations, type PlanRequest, type PlanResult } from './plan';
import type { MigratorDeps } from './types';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sequelizeOptions } = require('../connection.cjs') as typeof import('../connection.cjs');

export { MigrationLockError, MigrationPlanError, MigrationRequestError } from './errors';
export type { PlanRequest, PlanResult } from './plan';
export { readHistory, type HistoryRow } from './history';
export type { MigrationLogger, MigratorDeps } from './types';

/** The commands answered with a MigrationResult; `plan` answers a PlanResult (plan.ts). */
export const MIGRATION_COMMANDS = ['up', 'down', 'status', 'stamp'] as const;
export type MigrationCommand = (typeof MIGRATION_COMMANDS)[number];
const COMMANDS: readonly string[] = [...MIGRATION_COMMANDS, 'plan'];

/**
 * `to` for `stamp` only: the history before the first migration, i.e. an empty
 * one (Alembic's `stamp base`). No migration file can be named so (they carry
 * an extension).
 */
export const STAMP_BASE = 'base';

export interface MigrationRequest {
  command: MigrationCommand;
  /**
   * A migration name as stored in SequelizeMeta (extension included), or, for
   * `stamp` only, STAMP_BASE.
   */
  to?: string;
}

export interface MigrationResult {
  command: MigrationCommand;
  /**
   * What this call applied, reverted or stamped, in the order it did so. For
   * `stamp`: the names it removed from the history (newest first), then those it
   * recorded (oldest first); which is which shows in `executed` / `pending`.
   */
  ran: string[];
  /** The state after the call: names in SequelizeMeta, and known migrations not in it. */
  executed: string[];
  pending: string[];
  durationMs: number;
}

/**
 * The advisory lock key shared by every migration run on a database (advisory
 * locks are per database). 0x76657269 is "veri"; visible as objid in pg_locks.
 */
export const MIGRATION_LOCK_KEY = '1986359913';

/**
 * Checks a migrate event: `{ command?, to? }`, where an empty event (or no
 * command) means `up`. Throws MigrationRequestError for anything else.
 */
export function parseMigrationRequest(event: unknown): MigrationRequest | PlanRequest {
  if (event === undefined || event === null) return { command: 'up' };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new MigrationRequestError('The event must be an object like {"command":"up"}');
  }
  const fields = event as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((k) => k !== 'command' && k !== 'to');
  if (unknown.length > 0) {
    throw new MigrationRequestError(
      `Unknown field(s) in the event: ${unknown.join(', ')} (expected "command" and "to")`,
    );
  }
  const { command = 'up', to } = fields;
  if (typeof command !== 'string' || !COMMANDS.includes(command)) {
    throw new MigrationRequestError(
      `Unknown command ${JSON.stringify(command)} (one of ${COMMANDS.join(', ')})`,
    );
  }
  if (to !== undefined && (typeof to !== 'string' || to === '')) {
    throw new MigrationRequestError(
      '"to" must be a migration name such as "20261126000001-create-users.cjs"',
    );
  }
  return { command: command as MigrationCommand | 'plan', ...(to === undefined ? {} : { to }) };
}

/**
 * A Sequelize instance for migration runs. Every session starts with the
 * migration lock_timeout and statement_timeout (startup parameters, so they hold
 * for migrations that opt out of transactions too).
 */
export function createMigrationSequelize(
  db: DatabaseSettings,
  settings: MigrationSettings,
): Sequelize {
  const base = sequelizeOptions(db.databaseUrl, {
    caFile: db.caFile,
    connectTimeoutMs: db.connectTimeoutMs,
  }) as Options;
  return new Sequelize({
    ...base,
    dialectModule: pg,
    dialectOptions: {
      ...base.dialectOptions,
      application_name: 'verification-service-migrate',
      lock_timeout: settings.lockTimeoutMs,
      statement_timeout: settings.statementTimeoutMs,
    },
    pool: { max: 3, min: 0, idle: 10000, acquire: db.connectTimeoutMs + 10000 },
  });
}

/**
 * Runs one migration command: `up`, `down` and `stamp` under the advisory lock,
 * `status` without it. Each migration runs in its own transaction together with
 * its SequelizeMeta row, unless it exports `useTransaction: false`. `stamp`
 * runs no migration: it rewrites the history, in one transaction, to say that
 * exactly the migrations up to and including `to` are executed.
 */
export async function runMigrations(
  deps: MigratorDeps,
  request: MigrationRequest,
): Promise<MigrationResult>;
export async function runMigrations(deps: MigratorDeps, request: PlanRequest): Promise<PlanResult>;
export async function runMigrations(
  deps: MigratorDeps,
  request: MigrationRequest | PlanRequest,
): Promise<MigrationResult | PlanResult>;
export async function runMigrations(
  deps: MigratorDeps,
  request: MigrationRequest | PlanRequest,
): Promise<MigrationResult | PlanResult> {
  const started = Date.now();
  const { sequelize, migrations, logger } = deps;
  // Requests are checked before anything touches the database (typed callers
  // can still pass what an event carried).
  if (!COMMANDS.includes(request.command)) {
    throw new MigrationRequestError(`Unknown command ${JSON.stringify(request.command)}`);
  }
  const names = migrations.map((m) => m.name);
  if (new Set(names).size !== names.length) {
    throw new MigrationRequestError('The migration list names a migration twice');
  }
  if (names.includes(STAMP_BASE)) {
    throw new MigrationRequestError(`No migration may be named "${STAMP_BASE}"`);
  }
  if (request.to === STAMP_BASE && request.command !== 'stamp') {
    throw new MigrationRequestError(
      `"to": "${STAMP_BASE}" is for stamp only (to revert every migration: down ${names[0] ?? '<the first migration>'})`,
    );
  }
  if (request.to !== undefined && request.to !== STAMP_BASE && !names.includes(request.to)) {
    throw new MigrationRequestError(
      `Unknown migration ${JSON.stringify(request.to)} for "to" (known: ${names.join(', ')}; for stamp also "${STAMP_BASE}")`,
    );
  }
  if (request.command === 'plan') {
    return planMigrations(deps, request, (work) =>
      withAdvisoryLock(sequelize, deps.settings.lockWaitMs, work),
    );
  }
  installTransactionContext();

  const finish = async (ran: string[]): Promise<MigrationResult> => {
    const executed = await readExecuted(sequelize);
    const done = new Set(executed);
    return {
      command: request.command,
      ran,
      executed,
      pending: names.filter((n) => !done.has(n)),
      durationMs: Date.now() - started,
    };
  };

  if (request.command === 'status') return finish([]);

  const ran = await withAdvisoryLock(sequelize, deps.settings.lockWaitMs, async () => {
    await prepareHistoryTable(sequelize);
    const executed = await readExecuted(sequelize);
    const done = new Set(executed);
    const strangers = executed.filter((n) => !names.includes(n));
    if (strangers.length > 0) {
      logger?.warn('SequelizeMeta lists migrations this build does not have', { strangers });
    }
    const pending = names.filter((n) => !done.has(n));
    const umzug = buildUmzug(deps);
    switch (request.command) {
      case 'up': {
        if (request.to !== undefined && !pending.includes(request.to)) {
          throw new MigrationRequestError(`${request.to} is not pending: it has already run`);
        }
        const applied = await umzug.up(request.to === undefined ? {} : { to: request.to });
        return applied.map((m) => m.name);
      }
      case 'down': {
        if (strangers.length > 0) {
          throw new MigrationRequestError(
            `SequelizeMeta lists migrations this build does not have (${strangers.join(', ')}): revert them with the build that has them`,
          );
        }
        const executedKnown = names.filter((n) => done.has(n));
        if (request.to !== undefined && !done.has(request.to)) {
          throw new MigrationRequestError(
            `${request.to} is not executed: there is nothing to undo`,
          );
        }
        const toRevert =
          request.to === undefined
            ? executedKnown.slice(-1)
            : executedKnown.slice(executedKnown.indexOf(request.to)).reverse();
        const withoutDown = toRevert.filter(
          (n) => !migrations.find((m) => m.name === n)?.module.down,
        );
        if (withoutDown.length > 0) {
          throw new MigrationRequestError(`No down() in ${withoutDown.join(', ')}`);
        }
        const reverted = await umzug.down(request.to === undefined ? {} : { to: request.to });
        return reverted.map((m) => m.name);
      }
      case 'stamp': {
        if (strangers.length > 0) {
          throw new MigrationRequestError(
            `SequelizeMeta lists migrations this build does not have (${strangers.join(', ')}): stamp with the build that has them`,
          );
        }
        const upTo =
          request.to === undefined
            ? names.length
            : request.to === STAMP_BASE
              ? 0
              : names.indexOf(request.to) + 1;
        const toRecord = names.slice(0, upTo).filter((n) => !done.has(n));
        const toRemove = names
          .slice(upTo)
          .filter((n) => done.has(n))
          .reverse();
        // One transaction: the whole new history or none of it. Nothing is run.
        await sequelize.transaction(async (transaction) => {
          for (const name of toRemove) await deleteRow(sequelize, name, transaction);
          for (const name of toRecord) await recordRow(sequelize, name, transaction);
        });
        logger?.info('Stamped the history without running anything', {
          removed: toRemove,
          recorded: toRecord,
        });
        return [...toRemove, ...toRecord];
      }
      default:
        throw new MigrationRequestError(`Unknown command ${JSON.stringify(request.command)}`);
    }
  });
  return finish(ran);
}

function buildUmzug(deps: MigratorDeps): Umzug {
  const { sequelize, logger } = deps;
  const queryInterface = sequelize.getQueryInterface();
  // sequelize-cli passes the module (the Sequelize class carries it all) as the second argument.
  const sequelizeModule = Sequelize as unknown as SequelizeModule;

  const inTransaction = async (
    useTransaction: boolean,
    work: (transaction: Transaction | undefined) => Promise<void>,
  ): Promise<void> => {
    if (!useTransaction) return work(undefined);
    await sequelize.transaction(async (transaction) => {
      // Also set per session by createMigrationSequelize; repeated here so that a
      // caller's own Sequelize instance gets the same bounds.
      await sequelize.query(
        `SET LOCAL lock_timeout = ${deps.settings.lockTimeoutMs}; SET LOCAL statement_timeout = ${deps.settings.statementTimeoutMs}`,
        { transaction },
      );
      await work(transaction);
    });
  };

  const runnable = deps.migrations.map(({ name, module }): RunnableMigration<unknown> => ({
    name,
    up: () =>
      inTransaction(module.useTransaction !== false, async (transaction) => {
        await module.up(queryInterface, sequelizeModule);
        await recordRow(sequelize, name, transaction);
      }),
    down: () =>
      inTransaction(module.useTransaction !== false, async (transaction) => {
        await module.down?.(queryInterface, sequelizeModule);
        await deleteRow(sequelize, name, transaction);
      }),
  }));

  return new Umzug({
    migrations: runnable,
    context: {},
    // The runnable migrations write and delete their own rows inside their
    // transactions, so Umzug's own log/unlog must not write a second time.
    storage: {
      executed: () => readExecuted(sequelize),
      logMigration: async () => undefined,
      unlogMigration: async () => undefined,
    },
    logger: logger && {
      info: (event) => logger.info('migration', event),
      warn: (event) => logger.warn('migration', event),
      error: (event) => logger.warn('migration', event),
      debug: () => undefined,
    },
  });
}

interface PoolConnection {
  query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * Holds the migration advisory lock on a connection of its own while `work`
 * runs, and always releases it. A run that finds the lock taken asks again every
 * 100 ms until `waitMs` has passed (0: it does not wait at all). It polls rather
 * than blocking in pg_advisory_lock because a blocked statement holds a
 * snapshot, and CREATE INDEX CONCURRENTLY in the lock holder's migration waits
 * for every older snapshot: the two would wait for each other until a timeout.
 */
async function withAdvisoryLock<T>(
  sequelize: Sequelize,
  waitMs: number,
  work: () => Promise<T>,
): Promise<T> {
  const manager = sequelize.connectionManager as unknown as {
    getConnection(options?: object): Promise<PoolConnection>;
    releaseConnection(connection: PoolConnection): Promise<void>;
    destroyConnection(connection: PoolConnection): Promise<void>;
  };
  const connection = await manager.getConnection({ type: 'write' });
  const busy = () =>
    new MigrationLockError(
      `another migration run holds the lock (advisory lock ${MIGRATION_LOCK_KEY}); gave up after waiting ${waitMs} ms (MIGRATION_LOCK_WAIT_MS)`,
    );
  let locked = false;
  try {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const { rows } = await connection.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
        MIGRATION_LOCK_KEY,
      ]);
      if (rows[0]?.ok === true) break;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw busy();
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, remaining)));
    }
    locked = true;
    return await work();
  } finally {
    try {
      if (locked)
        await connection.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
      await manager.releaseConnection(connection);
    } catch {
      // Ending the session releases its advisory locks.
      await manager.destroyConnection(connection).catch(() => undefined);
    }
  }
}
