import {
  findSequence,
  formatName,
  hasSequence,
  isWord,
  QualifiedName,
  readName,
  splitStatements,
  splitTopLevel,
  Token,
  tokenize,
  topLevel,
} from './sqlTokens';

/**
 * The plan's rules: patterns that squawk and strong_migrations report as unsafe
 * on a table that is in use (rule ids are squawk's where squawk has the rule).
 * They apply only to tables and indexes that existed before the plan started: a
 * table created in the same plan is empty and unused, whatever is done to it.
 */
export const RULES = {
  'require-concurrent-index-creation':
    'CREATE INDEX without CONCURRENTLY on an existing table blocks its writes while the index builds',
  'require-concurrent-index-deletion':
    'DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table',
  'adding-field-with-default':
    'ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval/serial) or a generated column rewrites the table',
  'adding-required-field':
    'ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows',
  'adding-foreign-key-constraint':
    'a foreign key added to an existing table without NOT VALID scans it under a lock that blocks writes to both tables',
  'constraint-missing-not-valid':
    'a CHECK added to an existing table without NOT VALID scans it under an ACCESS EXCLUSIVE lock; VALIDATE in the same transaction as NOT VALID gains nothing',
  'adding-not-nullable-field':
    'ALTER COLUMN ... SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock',
  'changing-column-type':
    'ALTER COLUMN ... TYPE usually rewrites the table and its indexes under an ACCESS EXCLUSIVE lock',
  'disallowed-unique-constraint':
    'a UNIQUE constraint added without USING INDEX builds its index under an ACCESS EXCLUSIVE lock',
  'adding-serial-primary-key-field':
    'a PRIMARY KEY added without USING INDEX builds its index under an ACCESS EXCLUSIVE lock',
  'ban-drop-column': 'DROP COLUMN breaks code that still reads the column',
  'ban-drop-table': 'DROP TABLE breaks code that still uses the table',
  'renaming-column': 'RENAME COLUMN breaks code that uses the old name',
  'renaming-table': 'RENAME TO breaks code that uses the old name',
  'table-rewrite':
    'observed while planning: the statement rewrote an existing table (its file node changed)',
} as const;

export type RuleId = keyof typeof RULES;

export interface PlanFlag {
  rule: RuleId;
  message: string;
  /** Index of the statement in the migration's `statements`. */
  statement?: number;
}

export interface RuleContext {
  /**
   * Whether the table (or other relation) that `name` denoted when statement
   * number `statement` ran existed before the plan started.
   */
  tableExisted(name: QualifiedName, statement: number): boolean;
  /** The same for an index. */
  indexExisted(name: QualifiedName, statement: number): boolean;
}

/** Functions whose value differs per row: as a column default they force a rewrite. */
const VOLATILE_FUNCTIONS = new Set([
  'random',
  'gen_random_uuid',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'clock_timestamp',
  'timeofday',
  'nextval',
]);
const SERIAL_TYPES = new Set([
  'serial',
  'serial2',
  'serial4',
  'serial8',
  'smallserial',
  'bigserial',
]);
/** Words that end a DEFAULT expression in a column definition. */
const COLUMN_CONSTRAINT_WORDS = new Set([
  'not',
  'null',
  'constraint',
  'check',
  'unique',
  'primary',
  'references',
  'generated',
  'collate',
]);
const TABLE_CONSTRAINT_WORDS = ['constraint', 'check', 'unique', 'primary', 'foreign', 'exclude'];

/**
 * Checks the statements of one migration, in order (a migration's state matters
 * for one rule: VALIDATE of a constraint it added NOT VALID).
 */
export function checkMigration(statements: readonly string[], ctx: RuleContext): PlanFlag[] {
  const flags: PlanFlag[] = [];
  const addedNotValid = new Set<string>();
  statements.forEach((sql, index) => {
    const atStatement: StatementContext = {
      tableExisted: (name) => ctx.tableExisted(name, index),
      indexExisted: (name) => ctx.indexExisted(name, index),
    };
    for (const stmt of splitStatements(tokenize(sql))) {
      for (const [rule, message] of checkStatement(stmt, atStatement, addedNotValid)) {
        flags.push({ rule, message, statement: index });
      }
    }
  });
  return flags;
}

/** Checks a single SQL text (one or more statements) on its own. */
export function checkSql(sql: string, ctx: RuleContext): PlanFlag[] {
  return checkMigration([sql], ctx).map(({ rule, message }) => ({ rule, message }));
}

type Finding = [RuleId, string];

interface StatementContext {
  tableExisted(name: QualifiedName): boolean;
  indexExisted(name: QualifiedName): boolean;
}

function checkStatement(
  stmt: Token[],
  ctx: StatementContext,
  addedNotValid: Set<string>,
): Finding[] {
  if (isWord(stmt[0], 'create')) return checkCreateIndex(stmt, ctx);
  if (isWord(stmt[0], 'alter') && isWord(stmt[1], 'table')) {
    return checkAlterTable(stmt, ctx, addedNotValid);
  }
  if (isWord(stmt[0], 'drop') && isWord(stmt[1], 'table')) {
    return namesAfter(stmt, 2)
      .filter((name) => ctx.tableExisted(name))
      .map((name): Finding => [
        'ban-drop-table',
        `DROP TABLE ${formatName(name)}: deploy code that no longer uses it first, and keep a backup; dropping is not undone by down()`,
      ]);
  }
  if (isWord(stmt[0], 'drop') && isWord(stmt[1], 'index')) {
    if (isWord(stmt[2], 'concurrently')) return [];
    return namesAfter(stmt, 2)
      .filter((name) => ctx.indexExisted(name))
      .map((name): Finding => [
        'require-concurrent-index-deletion',
        `DROP INDEX ${formatName(name)} locks its table ACCESS EXCLUSIVE: use DROP INDEX CONCURRENTLY in a migration with useTransaction: false`,
      ]);
  }
  return [];
}

/** The comma-separated names of DROP TABLE / DROP INDEX, after an optional IF EXISTS. */
function namesAfter(stmt: Token[], start: number): QualifiedName[] {
  let i = start;
  if (isWord(stmt[i], 'if') && isWord(stmt[i + 1], 'exists')) i += 2;
  return splitTopLevel(stmt.slice(i))
    .map((part) => readName(part, 0)?.name)
    .filter((name): name is QualifiedName => name !== undefined);
}

function checkCreateIndex(stmt: Token[], ctx: StatementContext): Finding[] {
  let i = 1;
  if (isWord(stmt[i], 'unique')) i++;
  if (!isWord(stmt[i], 'index')) return [];
  if (isWord(stmt[i + 1], 'concurrently')) return [];
  const top = topLevel(stmt);
  const on = top.findIndex((t) => isWord(t, 'on'));
  if (on === -1) return [];
  let j = on + 1;
  if (isWord(top[j], 'only')) j++;
  const table = readName(top, j)?.name;
  if (!table || !ctx.tableExisted(table)) return [];
  return [
    [
      'require-concurrent-index-creation',
      `CREATE INDEX on ${formatName(table)} blocks its writes while the index builds: use CREATE INDEX CONCURRENTLY in a migration with useTransaction: false`,
    ],
  ];
}

function checkAlterTable(
  stmt: Token[],
  ctx: StatementContext,
  addedNotValid: Set<string>,
): Finding[] {
  let i = 2;
  if (isWord(stmt[i], 'if') && isWord(stmt[i + 1], 'exists')) i += 2;
  if (isWord(stmt[i], 'only')) i++;
  const target = readName(stmt, i);
  if (!target) return [];
  i = target.next;
  if (stmt[i]?.kind === 'punct' && stmt[i]?.text === '*') i++;
  const table = target.name;
  const existed = ctx.tableExisted(table);
  const findings: Finding[] = [];
  for (const action of splitTopLevel(stmt.slice(i))) {
    // Constraints added NOT VALID are tracked on new tables too (harmless either way).
    if (isWord(action[0], 'add') && hasSequence(topLevel(action), 'not', 'valid')) {
      const name = constraintName(action);
      if (name) addedNotValid.add(name);
    }
    if (!existed) continue;
    findings.push(...checkAlterAction(action, formatName(table), addedNotValid));
  }
  return findings;
}

function constraintName(action: Token[]): string | undefined {
  const at = action.findIndex((t) => isWord(t, 'constraint'));
  const t = at === -1 ? undefined : action[at + 1];
  return t && (t.kind === 'word' || t.kind === 'ident') ? t.text : undefined;
}

function checkAlterAction(action: Token[], table: string, addedNotValid: Set<string>): Finding[] {
  const [verb, second] = action;
  if (isWord(verb, 'add')) {
    const isConstraint =
      second !== undefined &&
      second.kind === 'word' &&
      TABLE_CONSTRAINT_WORDS.includes(second.text);
    return isConstraint ? checkAddConstraint(action, table) : checkAddColumn(action, table);
  }
  if (isWord(verb, 'alter')) {
    let i = 1;
    if (isWord(action[i], 'column')) i++;
    const column = action[i]?.text ?? '?';
    const rest = action.slice(i + 1);
    if (isWord(rest[0], 'type') || hasSequence(rest.slice(0, 3), 'set', 'data', 'type')) {
      return [
        [
          'changing-column-type',
          `ALTER COLUMN ${table}.${column} TYPE rewrites ${table} and its indexes under an ACCESS EXCLUSIVE lock (unless binary compatible, such as widening a varchar): add a new column, backfill it in batches, switch the code, then drop the old one`,
        ],
      ];
    }
    if (hasSequence(rest.slice(0, 3), 'set', 'not', 'null')) {
      return [
        [
          'adding-not-nullable-field',
          `SET NOT NULL on ${table}.${column} scans ${table} under an ACCESS EXCLUSIVE lock: add CHECK (${column} IS NOT NULL) NOT VALID, VALIDATE it in a later migration, then SET NOT NULL (PostgreSQL 12+ uses the valid check and skips the scan) and drop the check`,
        ],
      ];
    }
    return [];
  }
  if (isWord(verb, 'drop')) {
    if (isWord(second, 'constraint')) return [];
    const i = isWord(second, 'column') ? 2 : 1;
    const j = isWord(action[i], 'if') && isWord(action[i + 1], 'exists') ? i + 2 : i;
    const column = action[j]?.text ?? '?';
    return [
      [
        'ban-drop-column',
        `DROP COLUMN ${table}.${column}: deploy code that no longer reads or writes it first (Sequelize selects every model attribute), then drop it in a later release`,
      ],
    ];
  }
  if (isWord(verb, 'validate') && isWord(second, 'constraint')) {
    const name = action[2]?.text;
    if (name !== undefined && addedNotValid.has(name)) {
      return [
        [
          'constraint-missing-not-valid',
          `VALIDATE CONSTRAINT ${name} in the migration that added it NOT VALID: the transaction still holds the ADD's lock while it scans ${table}; validate it in a later migration`,
        ],
      ];
    }
    return [];
  }
  if (isWord(verb, 'rename')) {
    if (isWord(second, 'to')) {
      return [
        [
          'renaming-table',
          `RENAME ${table}: running code still uses the old name; create the new table or a view and move the code over first`,
        ],
      ];
    }
    if (isWord(second, 'constraint')) return [];
    const column = (isWord(second, 'column') ? action[2] : second)?.text ?? '?';
    return [
      [
        'renaming-column',
        `RENAME COLUMN ${table}.${column}: running code still uses the old name; add a new column, copy, switch the code, then drop the old one`,
      ],
    ];
  }
  return [];
}

function checkAddConstraint(action: Token[], table: string): Finding[] {
  const top = topLevel(action);
  let i = 1;
  let label = '';
  if (isWord(top[i], 'constraint')) {
    label = ` ${top[i + 1]?.text ?? ''}`;
    i += 2;
  }
  const kind = top[i];
  const notValid = hasSequence(top, 'not', 'valid');
  const usingIndex = hasSequence(top, 'using', 'index');
  if (isWord(kind, 'foreign') && !notValid) {
    return [
      [
        'adding-foreign-key-constraint',
        `ADD CONSTRAINT${label} FOREIGN KEY on ${table} scans it while blocking writes to it and to the referenced table: add it NOT VALID, then VALIDATE CONSTRAINT in a later migration`,
      ],
    ];
  }
  if (isWord(kind, 'check') && !notValid) {
    return [
      [
        'constraint-missing-not-valid',
        `ADD CONSTRAINT${label} CHECK on ${table} scans it under an ACCESS EXCLUSIVE lock: add it NOT VALID, then VALIDATE CONSTRAINT in a later migration`,
      ],
    ];
  }
  if (isWord(kind, 'unique') && !usingIndex) {
    return [
      [
        'disallowed-unique-constraint',
        `ADD CONSTRAINT${label} UNIQUE on ${table} builds its index under an ACCESS EXCLUSIVE lock: CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX`,
      ],
    ];
  }
  if (isWord(kind, 'primary') && !usingIndex) {
    return [
      [
        'adding-serial-primary-key-field',
        `ADD CONSTRAINT${label} PRIMARY KEY on ${table} builds its index under an ACCESS EXCLUSIVE lock: CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX`,
      ],
    ];
  }
  return [];
}

function checkAddColumn(action: Token[], table: string): Finding[] {
  let i = isWord(action[1], 'column') ? 2 : 1;
  if (isWord(action[i], 'if') && isWord(action[i + 1], 'not') && isWord(action[i + 2], 'exists')) {
    i += 3;
  }
  const column = `${table}.${action[i]?.text ?? '?'}`;
  const definition = action.slice(i + 1);
  const top = topLevel(definition);
  const findings: Finding[] = [];

  const type = definition[0];
  const defaultAt = definition.findIndex(
    (t, k) => isWord(t, 'default') && depthAt(definition, k) === 0,
  );
  const defaultExpr = defaultAt === -1 ? [] : expressionAfter(definition, defaultAt + 1);
  const volatileCall = defaultExpr.find(
    (t, k) =>
      t.kind === 'word' &&
      VOLATILE_FUNCTIONS.has(t.text) &&
      defaultExpr[k + 1]?.kind === 'punct' &&
      defaultExpr[k + 1]?.text === '(',
  );
  if (type?.kind === 'word' && SERIAL_TYPES.has(type.text)) {
    findings.push([
      'adding-field-with-default',
      `ADD COLUMN ${column} ${type.text} fills every row from a sequence: ${table} is rewritten under an ACCESS EXCLUSIVE lock`,
    ]);
  } else if (volatileCall) {
    findings.push([
      'adding-field-with-default',
      `ADD COLUMN ${column} DEFAULT ${volatileCall.text}(): a volatile default rewrites ${table} under an ACCESS EXCLUSIVE lock; add the column without it (or with a constant), set the default, and backfill in batches`,
    ]);
  } else if (top.some((t) => isWord(t, 'generated'))) {
    findings.push([
      'adding-field-with-default',
      `ADD COLUMN ${column} GENERATED ...: computing it for every row rewrites ${table} under an ACCESS EXCLUSIVE lock`,
    ]);
  }

  // NOT NULL with a default (or generated) is fine on PostgreSQL 11+: no rewrite, no scan.
  if (
    hasSequence(top, 'not', 'null') &&
    defaultAt === -1 &&
    !top.some((t) => isWord(t, 'generated')) &&
    !(type?.kind === 'word' && SERIAL_TYPES.has(type.text))
  ) {
    findings.push([
      'adding-required-field',
      `ADD COLUMN ${column} NOT NULL without a DEFAULT fails once ${table} has rows: give it a constant default, or add it nullable, backfill, then add the constraint`,
    ]);
  }
  if (top.some((t) => isWord(t, 'references'))) {
    findings.push([
      'adding-foreign-key-constraint',
      `ADD COLUMN ${column} REFERENCES ... checks ${table} while blocking writes to it and to the referenced table: add the column, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID and VALIDATE it in a later migration`,
    ]);
  }
  if (top.some((t) => isWord(t, 'check'))) {
    findings.push([
      'constraint-missing-not-valid',
      `ADD COLUMN ${column} CHECK (...) evaluates the check on every row of ${table} under an ACCESS EXCLUSIVE lock: add the column, then ADD CONSTRAINT ... CHECK ... NOT VALID and VALIDATE it later`,
    ]);
  }
  if (top.some((t) => isWord(t, 'unique'))) {
    findings.push([
      'disallowed-unique-constraint',
      `ADD COLUMN ${column} UNIQUE builds an index on ${table} under an ACCESS EXCLUSIVE lock: add the column, CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX`,
    ]);
  }
  if (findSequence(top, 'primary', 'key') !== -1) {
    findings.push([
      'adding-serial-primary-key-field',
      `ADD COLUMN ${column} PRIMARY KEY builds an index on ${table} under an ACCESS EXCLUSIVE lock: add the column, CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX`,
    ]);
  }
  return findings;
}

function depthAt(tokens: readonly Token[], index: number): number {
  let depth = 0;
  for (let k = 0; k < index; k++) {
    const t = tokens[k] as Token;
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')') depth--;
  }
  return depth;
}

/** A DEFAULT's expression: the tokens up to the next column constraint at the same depth. */
function expressionAfter(tokens: readonly Token[], start: number): Token[] {
  const out: Token[] = [];
  let depth = 0;
  for (let k = start; k < tokens.length; k++) {
    const t = tokens[k] as Token;
    if (depth === 0 && t.kind === 'word' && COLUMN_CONSTRAINT_WORDS.has(t.text)) break;
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')') depth--;
    out.push(t);
  }
  return out;
}

/**
 * The relations a statement works on, as written: the ALTER TABLE target, the
 * table of CREATE INDEX / CREATE TRIGGER, DROP TABLE and DROP INDEX names, and
 * REFERENCES targets. The plan resolves them before the statement runs.
 */
export function relationsNamed(sql: string): QualifiedName[] {
  const names: QualifiedName[] = [];
  for (const stmt of splitStatements(tokenize(sql))) {
    const top = topLevel(stmt);
    if (isWord(stmt[0], 'alter') && isWord(stmt[1], 'table')) {
      let i = 2;
      if (isWord(stmt[i], 'if') && isWord(stmt[i + 1], 'exists')) i += 2;
      if (isWord(stmt[i], 'only')) i++;
      const target = readName(stmt, i);
      if (target) names.push(target.name);
    } else if (isWord(stmt[0], 'drop') && isWord(stmt[1], 'table', 'index')) {
      names.push(...namesAfter(stmt, isWord(stmt[2], 'concurrently') ? 3 : 2));
    } else if (isWord(stmt[0], 'create')) {
      const on = top.findIndex((t) => isWord(t, 'on'));
      if (on !== -1 && top.slice(0, on).some((t) => isWord(t, 'index', 'trigger'))) {
        const j = isWord(top[on + 1], 'only') ? on + 2 : on + 1;
        const table = readName(top, j);
        if (table) names.push(table.name);
      }
    }
    stmt.forEach((t, k) => {
      if (isWord(t, 'references')) {
        const ref = readName(stmt, k + 1);
        if (ref) names.push(ref.name);
      }
    });
  }
  return names;
}

/**
 * The transaction-control statement in `sql`, if any: the plan refuses to run one,
 * since a COMMIT inside a migration would make the plan's changes permanent.
 */
export function transactionControl(sql: string): string | undefined {
  for (const stmt of splitStatements(tokenize(sql))) {
    const [first, second] = stmt;
    if (isWord(first, 'begin', 'start', 'commit', 'end', 'abort')) return first?.text;
    if (isWord(first, 'rollback') && !isWord(second, 'to')) return 'rollback';
    if (isWord(first, 'prepare') && isWord(second, 'transaction')) return 'prepare transaction';
  }
  return undefined;
}
