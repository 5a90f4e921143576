import { performance } from 'node:perf_hooks';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import { withQueryHook } from './capture';
import { MigrationPlanError, MigrationRequestError } from './errors';
import { readExecuted } from './history';
import type { MigrationDefinition, SequelizeModule } from './migrations';
import { transactionControl } from './transactionControl';
import type { LintStatus, MigratorDeps, PlanFlag } from './types';

export type { LintStatus, PlanFlag } from './types';

export interface PlanRequest {
  command: 'plan';
  /** Plan the pending migrations up to and including this one (which must be pending). */
  to?: string;
}

export interface PlanLock {
  relation: string;
  /** As pg_locks names it: AccessShareLock, RowExclusiveLock, ..., AccessExclusiveLock. */
  mode: string;
  /** From the start of the statement that took it to the end of the migration (its commit in `up`). */
  heldMs: number;
}

export interface PlanStatement {
  sql: string;
  durationMs: number;
  /** Locks on relations that existed before the plan, first taken by this statement. */
  locks: PlanLock[];
}

export interface PlanTable {
  name: string;
  /** Exact up to ROW_COUNT_LIMIT; above it, PostgreSQL's estimate (`estimated: true`). */
  rows: number;
  estimated: boolean;
}

export interface PlannedMigration {
  name: string;
  statements: PlanStatement[];
  flags: PlanFlag[];
  /** Existing tables the migration locked or named, with their row counts. */
  tables: PlanTable[];
  durationMs?: number;
  /** Why it was not run: it opts out of transactions, or follows one that does. */
  skipped?: string;
}

export interface PlanResult {
  command: 'plan';
  migrations: PlannedMigration[];
  /**
   * Who found the flags: squawk (its version and config file), or nobody, and
   * why (the migrate function has no squawk): then `flags` holds only what the
   * plan itself saw (`table-rewrite`), and no flag does not mean safe.
   */
  lint: LintStatus;
  durationMs: number;
}

/** Plan's own flag: seen while planning, not read from the SQL. */
export const TABLE_REWRITE = 'table-rewrite';
/** squawk's rules whose finding already says that the statement rewrites the table. */
const EXPLAINS_REWRITE = new Set(['adding-field-with-default', 'changing-column-type']);

export const SKIPPED_NO_TRANSACTION = 'runs outside a transaction';
/** Row counts stop here; a larger table reports PostgreSQL's estimate. */
export const ROW_COUNT_LIMIT = 100000;

/** Runs `work` while holding the migration advisory lock (the runner's). */
export type WithLock = <T>(work: () => Promise<T>) => Promise<T>;

interface Relation {
  oid: string;
  schema: string;
  name: string;
  kind: string;
  /** As `oid::regclass::text` prints it: qualified and quoted only where needed. */
  display: string;
  filenode: string;
  reltuples: number;
  /** For an index, the oid of its table. */
  tableOid: string | null;
}

interface HeldLock {
  oid: string;
  mode: string;
  filenode: string | null;
}

const TABLE_KINDS = new Set(['r', 'p', 'm']);

/**
 * `plan`: runs the pending migrations (up to `to`) in one transaction that is
 * always rolled back, under the advisory lock and the migration timeouts, and
 * reports each statement, the locks it took on relations that existed before,
 * the row counts of the tables involved, and the flags: squawk's findings in
 * each migration's SQL (read after the rollback) and the table rewrites the
 * plan saw.
 */
export async function planMigrations(
  deps: MigratorDeps,
  request: PlanRequest,
  withLock: WithLock,
): Promise<PlanResult> {
  const started = performance.now();
  const { sequelize } = deps;
  const lint: LintStatus = deps.linter?.status ?? {
    tool: null,
    reason: 'this run was given no SQL linter',
  };
  const planned = await withLock(async () => {
    const executed = new Set(await readExecuted(sequelize));
    const pending = deps.migrations.filter((m) => !executed.has(m.name));
    if (request.to !== undefined && !pending.some((m) => m.name === request.to)) {
      throw new MigrationRequestError(`${request.to} is not pending: it has already run`);
    }
    const selected =
      request.to === undefined
        ? pending
        : pending.slice(0, pending.findIndex((m) => m.name === request.to) + 1);
    if (selected.length === 0) return [];
    const { migrations, relations, seen } = await runInRolledBackTransaction(deps, selected);
    await countRows(sequelize, migrations, relations, seen);
    return migrations.map((m) => ({ entry: m, seen: seen.get(m) }));
  });
  for (const { entry, seen } of planned) {
    if (!seen) continue;
    const found =
      deps.linter && lint.tool !== null
        ? await deps.linter.lint(seen.sql, { inTransaction: true, settings: deps.settings })
        : [];
    entry.flags = withRewrites(found, seen.rewrites);
  }
  return {
    command: 'plan',
    migrations: planned.map((p) => p.entry),
    lint,
    durationMs: elapsed(started),
  };
}

/** squawk's flags, then each rewrite the plan saw that no squawk flag on its statement explains. */
function withRewrites(found: PlanFlag[], rewrites: PlanFlag[]): PlanFlag[] {
  const explained = (statement: number | undefined) =>
    found.some((f) => f.statement === statement && EXPLAINS_REWRITE.has(f.rule));
  return [...found, ...rewrites.filter((r) => !explained(r.statement))];
}

/** What planning one migration saw beyond its entry: its raw SQL, rewrites, tables. */
interface Seen {
  /** The statements as sent (for squawk, which reads comments and line breaks too). */
  sql: string[];
  rewrites: PlanFlag[];
  /** The oids of the tables it locked, counted after the rollback. */
  tableOids: string[];
}

async function runInRolledBackTransaction(
  deps: MigratorDeps,
  selected: readonly MigrationDefinition[],
): Promise<{
  migrations: PlannedMigration[];
  relations: Map<string, Relation>;
  seen: Map<PlannedMigration, Seen>;
}> {
  const { sequelize, settings } = deps;
  const query = sequelize.query.bind(sequelize);
  // An unmanaged transaction: every query of the migrations is forced into it below.
  const transaction = await sequelize.transaction();
  const results: PlannedMigration[] = [];
  let relations: Map<string, Relation> | undefined;
  const seen = new Map<PlannedMigration, Seen>();
  try {
    await query(
      `SET LOCAL lock_timeout = ${settings.lockTimeoutMs}; SET LOCAL statement_timeout = ${settings.statementTimeoutMs}`,
      { transaction },
    );
    relations = await snapshotRelations(sequelize, transaction);
    const held = new Set<string>(); // oid + mode already reported
    const filenodes = new Map([...relations.values()].map((r) => [r.oid, r.filenode]));

    let stopReason: string | undefined;
    for (const migration of selected) {
      if (stopReason !== undefined) {
        results.push({ ...emptyEntry(migration.name), skipped: stopReason });
        continue;
      }
      if (migration.module.useTransaction === false) {
        results.push({ ...emptyEntry(migration.name), skipped: SKIPPED_NO_TRANSACTION });
        // Later migrations may need what it would have done: they cannot be planned.
        stopReason = `not planned: it follows ${migration.name}, which runs outside a transaction`;
        continue;
      }
      const { entry, seen: what } = await planOne(deps, migration, transaction, {
        relations,
        held,
        filenodes,
      });
      results.push(entry);
      seen.set(entry, what);
    }
  } finally {
    await transaction.rollback();
  }
  return { migrations: results, relations: relations ?? new Map(), seen };
}

interface PlanState {
  relations: Map<string, Relation>;
  held: Set<string>;
  filenodes: Map<string, string>;
}

interface Captured {
  sql: string;
  started: number;
  durationMs: number;
  newLocks: HeldLock[];
  rewritten: string[];
}

async function planOne(
  deps: MigratorDeps,
  migration: MigrationDefinition,
  transaction: Transaction,
  state: PlanState,
): Promise<{ entry: PlannedMigration; seen: Seen }> {
  const { sequelize } = deps;
  const captured: Captured[] = [];
  const started = performance.now();

  try {
    await withQueryHook(
      sequelize,
      async (sql, options, send) => {
        const control = transactionControl(sql);
        const other = options?.transaction;
        if (control === 'rollback' && other && other !== transaction) {
          // A migration's own transaction, refused at its start, rolls back: harmless.
          return send();
        }
        if (control !== undefined) {
          throw new MigrationPlanError(
            `${migration.name} runs ${control.toUpperCase()}: a plan cannot run transaction control`,
          );
        }
        const entry: Captured = {
          sql,
          started: performance.now(),
          durationMs: 0,
          newLocks: [],
          rewritten: [],
        };
        captured.push(entry);
        // Forced into the plan's transaction, whatever the migration passed, so that
        // nothing escapes the rollback.
        const result = await send({ ...options, transaction });
        entry.durationMs = elapsed(entry.started);
        await probeLocks(sequelize, transaction, state, entry);
        return result;
      },
      () =>
        migration.module.up(sequelize.getQueryInterface(), Sequelize as unknown as SequelizeModule),
    );
  } catch (err) {
    if (err instanceof MigrationPlanError) throw err;
    const last = captured.at(-1);
    throw new MigrationPlanError(
      `plan: ${migration.name} failed${last ? ` at ${shorten(oneLine(last.sql), 200)}` : ''}: ${(err as Error).message}`,
    );
  }
  const ended = performance.now();

  const statements = captured.map((c): PlanStatement => ({
    sql: oneLine(c.sql),
    durationMs: c.durationMs,
    locks: c.newLocks.map((l) => ({
      relation: state.relations.get(l.oid)?.display ?? l.oid,
      mode: l.mode,
      heldMs: round(ended - c.started),
    })),
  }));
  const rewrites: PlanFlag[] = [];
  captured.forEach((c, index) => {
    for (const oid of c.rewritten) {
      const table = state.relations.get(oid)?.display ?? oid;
      rewrites.push({
        rule: TABLE_REWRITE,
        message: `${shorten(oneLine(c.sql), 80)} rewrote ${table} (a new file: every row copied under an ACCESS EXCLUSIVE lock)`,
        statement: index,
      });
    }
  });

  // The tables involved: those whose relations (the table, or an index of it) it locked.
  const tableOids = new Set<string>();
  for (const c of captured) {
    for (const l of c.newLocks) {
      const rel = state.relations.get(l.oid);
      const tableOid = rel?.tableOid ?? rel?.oid;
      if (tableOid !== undefined) tableOids.add(tableOid);
    }
  }
  const entry: PlannedMigration = {
    name: migration.name,
    statements,
    flags: [],
    tables: [],
    durationMs: round(ended - started),
  };
  return {
    entry,
    seen: { sql: captured.map((c) => c.sql), rewrites, tableOids: [...tableOids] },
  };
}

/** After a statement: the locks it newly holds on pre-existing relations, and rewrites. */
async function probeLocks(
  sequelize: Sequelize,
  transaction: Transaction,
  state: PlanState,
  entry: Captured,
): Promise<void> {
  const rows = await Sequelize.prototype.query.call(
    sequelize,
    `SELECT l.relation::text AS oid, l.mode, c.relfilenode::text AS filenode
       FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
      WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted`,
    { transaction, type: QueryTypes.SELECT, logging: false },
  );
  for (const lock of rows as unknown as HeldLock[]) {
    const rel = state.relations.get(lock.oid);
    if (!rel) continue; // a system catalogue, or created by the plan
    const key = `${lock.oid}/${lock.mode}`;
    if (!state.held.has(key)) {
      state.held.add(key);
      entry.newLocks.push(lock);
    }
    const before = state.filenodes.get(lock.oid);
    if (
      TABLE_KINDS.has(rel.kind) &&
      lock.filenode !== null &&
      lock.filenode !== '0' &&
      before !== lock.filenode
    ) {
      state.filenodes.set(lock.oid, lock.filenode);
      if (!entry.rewritten.includes(lock.oid)) entry.rewritten.push(lock.oid);
    }
  }
  entry.newLocks.sort((a, b) => lockOrder(a) - lockOrder(b));
}

const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];
function lockOrder(lock: HeldLock): number {
  return -LOCK_MODES.indexOf(lock.mode);
}

/** Every relation outside the system schemas, before the plan ran anything. */
async function snapshotRelations(
  sequelize: Sequelize,
  transaction: Transaction,
): Promise<Map<string, Relation>> {
  const rows = await sequelize.query<Relation>(
    `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
            c.oid::regclass::text AS display, c.relfilenode::text AS filenode,
            c.reltuples::float8 AS reltuples, i.indrelid::text AS "tableOid"
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_index i ON i.indexrelid = c.oid
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`,
    { transaction, type: QueryTypes.SELECT, logging: false },
  );
  return new Map(rows.map((r) => [r.oid, r]));
}

/**
 * Row counts of the tables involved, read after the rollback (the tables are as
 * before again): exact up to ROW_COUNT_LIMIT, else PostgreSQL's estimate.
 */
async function countRows(
  sequelize: Sequelize,
  migrations: PlannedMigration[],
  relations: Map<string, Relation>,
  seen: Map<PlannedMigration, Seen>,
): Promise<void> {
  const counted = new Map<string, PlanTable>();
  for (const m of migrations) {
    for (const oid of seen.get(m)?.tableOids ?? []) {
      const rel = relations.get(oid);
      if (!rel || !TABLE_KINDS.has(rel.kind)) continue;
      let table = counted.get(oid);
      if (!table) {
        const [row] = await sequelize.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM (SELECT 1 FROM ${rel.display} LIMIT ${ROW_COUNT_LIMIT + 1}) s`,
          { type: QueryTypes.SELECT, logging: false },
        );
        const exact = Number(row?.n ?? 0);
        table =
          exact <= ROW_COUNT_LIMIT
            ? { name: rel.display, rows: exact, estimated: false }
            : {
                name: rel.display,
                rows: Math.max(exact, Math.round(rel.reltuples)),
                estimated: true,
              };
        counted.set(oid, table);
      }
      m.tables.push(table);
    }
  }
}

function emptyEntry(name: string): PlannedMigration {
  return { name, statements: [], flags: [], tables: [] };
}

/** A statement as reported: whitespace collapsed. */
function oneLine(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}

export function shorten(sql: string, max: number): string {
  return sql.length <= max ? sql : `${sql.slice(0, max - 1)}…`;
}

function elapsed(since: number): number {
  return round(performance.now() - since);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
