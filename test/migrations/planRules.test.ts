import {
  checkMigration,
  checkSql,
  RuleContext,
  relationsNamed,
  transactionControl,
} from '../../lib/migrator/rules';
import { formatName, splitStatements, tokenize } from '../../lib/migrator/sqlTokens';

/** Existing: users, audit.log_entries, "Mixed Case"; the index users_created_idx. */
const ctx: RuleContext = {
  tableExisted: ({ schema, name }) =>
    (schema === undefined || schema === 'public') && ['users', 'Mixed Case'].includes(name)
      ? true
      : schema === 'audit' && name === 'log_entries',
  indexExisted: ({ name }) => name === 'users_created_idx',
};

const rules = (sql: string) => checkSql(sql, ctx).map((f) => f.rule);

describe('tokenizer', () => {
  it('keeps strings, quoted names, comments and dollar bodies out of the keywords', () => {
    const tokens = tokenize(`
      -- CREATE INDEX in a comment
      /* nested /* CREATE INDEX */ still comment */
      SELECT 'it''s; CREATE INDEX', E'a\\'b', "Odd ""Name""", $1, $body$ ALTER TABLE users DROP x; $body$;
      SELECT $$;$$, 1.5e3, x::int`);
    expect(tokens.map((t) => `${t.kind}:${t.text}`)).toEqual([
      'word:select',
      "string:it's; CREATE INDEX",
      'punct:,',
      "string:a'b",
      'punct:,',
      'ident:Odd "Name"',
      'punct:,',
      'param:$1',
      'punct:,',
      'string: ALTER TABLE users DROP x; ',
      'punct:;',
      'word:select',
      'string:;',
      'punct:,',
      'number:1.5e3',
      'punct:,',
      'word:x',
      'punct:::',
      'word:int',
    ]);
    expect(splitStatements(tokens)).toHaveLength(2);
  });

  it('never throws on unterminated input', () => {
    expect(() => tokenize(`SELECT 'open`)).not.toThrow();
    expect(() => tokenize(`SELECT $x$ open`)).not.toThrow();
    expect(() => tokenize(`SELECT "open /* x`)).not.toThrow();
  });
});

describe('rules on existing tables', () => {
  it.each([
    ['CREATE INDEX users_name_idx ON users (name)', 'require-concurrent-index-creation'],
    [
      'create unique index if not exists x on only public.users using btree (lower(email))',
      'require-concurrent-index-creation',
    ],
    ['CREATE INDEX ON "Mixed Case" (a)', 'require-concurrent-index-creation'],
    ['DROP INDEX users_created_idx', 'require-concurrent-index-deletion'],
    [
      'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()',
      'adding-field-with-default',
    ],
    [
      'ALTER TABLE users ADD COLUMN r float8 NOT NULL DEFAULT (random() * 10)',
      'adding-field-with-default',
    ],
    [
      'ALTER TABLE users ADD seen timestamptz DEFAULT clock_timestamp()',
      'adding-field-with-default',
    ],
    ['ALTER TABLE users ADD COLUMN n bigserial', 'adding-field-with-default'],
    ["ALTER TABLE users ADD COLUMN n int DEFAULT nextval('s')", 'adding-field-with-default'],
    [
      'ALTER TABLE users ADD COLUMN lower_email text GENERATED ALWAYS AS (lower(email)) STORED',
      'adding-field-with-default',
    ],
    ['ALTER TABLE users ADD COLUMN nickname text NOT NULL', 'adding-required-field'],
    [
      'ALTER TABLE users ADD COLUMN manager_id integer REFERENCES users (id)',
      'adding-foreign-key-constraint',
    ],
    [
      'ALTER TABLE audit.log_entries ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)',
      'adding-foreign-key-constraint',
    ],
    [
      'ALTER TABLE users ADD CONSTRAINT name_len CHECK (char_length(name) > 0)',
      'constraint-missing-not-valid',
    ],
    ['ALTER TABLE users ADD CHECK (id > 0)', 'constraint-missing-not-valid'],
    ['ALTER TABLE users ADD COLUMN age int CHECK (age > 0)', 'constraint-missing-not-valid'],
    ['ALTER TABLE users ALTER COLUMN name SET NOT NULL', 'adding-not-nullable-field'],
    ['ALTER TABLE users ALTER name TYPE text', 'changing-column-type'],
    ['ALTER TABLE users ALTER COLUMN name SET DATA TYPE varchar(500)', 'changing-column-type'],
    [
      'ALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE (name)',
      'disallowed-unique-constraint',
    ],
    ['ALTER TABLE users ADD COLUMN code text UNIQUE', 'disallowed-unique-constraint'],
    ['ALTER TABLE audit.log_entries ADD PRIMARY KEY (id)', 'adding-serial-primary-key-field'],
    ['ALTER TABLE users DROP COLUMN name', 'ban-drop-column'],
    ['ALTER TABLE users DROP IF EXISTS name CASCADE', 'ban-drop-column'],
    ['DROP TABLE IF EXISTS users CASCADE', 'ban-drop-table'],
    ['ALTER TABLE users RENAME COLUMN name TO full_name', 'renaming-column'],
    ['ALTER TABLE users RENAME name TO full_name', 'renaming-column'],
    ['ALTER TABLE users RENAME TO people', 'renaming-table'],
  ])('%s → %s', (sql, rule) => {
    expect(rules(sql)).toEqual([rule]);
  });

  it('flags each action of a multi-action ALTER TABLE', () => {
    expect(
      rules(
        `ALTER TABLE users ADD COLUMN a int NOT NULL, ALTER COLUMN name SET NOT NULL, DROP COLUMN phone`,
      ),
    ).toEqual(['adding-required-field', 'adding-not-nullable-field', 'ban-drop-column']);
  });

  it('flags every statement of a multi-statement query', () => {
    expect(rules(`CREATE INDEX a ON users (name); CREATE INDEX b ON users (email);`)).toEqual([
      'require-concurrent-index-creation',
      'require-concurrent-index-creation',
    ]);
  });

  it('flags VALIDATE in the migration that added the constraint NOT VALID', () => {
    const flags = checkMigration(
      [
        'ALTER TABLE users ADD CONSTRAINT name_len CHECK (char_length(name) > 0) NOT VALID',
        'ALTER TABLE users VALIDATE CONSTRAINT name_len',
      ],
      ctx,
    );
    expect(flags).toEqual([
      {
        rule: 'constraint-missing-not-valid',
        message: expect.stringMatching(/later migration/),
        statement: 1,
      },
    ]);
    // Validating a constraint an earlier migration added is the safe second step.
    expect(rules('ALTER TABLE users VALIDATE CONSTRAINT name_len')).toEqual([]);
  });
});

describe('safe statements', () => {
  it.each([
    // The shipped migration 2: a constant default with NOT NULL is metadata only on PostgreSQL 11+.
    `ALTER TABLE users ADD COLUMN verification_status enum_users_verification_status NOT NULL DEFAULT 'unverified'`,
    'ALTER TABLE users ADD COLUMN score integer NOT NULL DEFAULT 0',
    // now() is stable, not volatile: evaluated once, no rewrite (the plan's rewrite check confirms it).
    'ALTER TABLE users ADD COLUMN seen_at timestamptz NOT NULL DEFAULT now()',
    `ALTER TABLE users ADD COLUMN tags jsonb DEFAULT '{"random()": 1}'::jsonb`,
    'ALTER TABLE users ADD COLUMN nickname text',
    'CREATE INDEX CONCURRENTLY users_name_idx ON users (name)',
    'DROP INDEX CONCURRENTLY users_created_idx',
    'ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (manager_id) REFERENCES users (id) NOT VALID',
    'ALTER TABLE users ADD CONSTRAINT name_len CHECK (char_length(name) > 0) NOT VALID',
    'ALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE USING INDEX users_name_idx',
    'ALTER TABLE users ALTER COLUMN name SET DEFAULT 0',
    'ALTER TABLE users ALTER COLUMN name DROP NOT NULL',
    'ALTER TABLE users DROP CONSTRAINT name_len',
    'ALTER TABLE users RENAME CONSTRAINT a TO b',
    // New tables: whatever is done to them, they are empty and unused.
    'CREATE TABLE codes (id uuid PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), created_at timestamptz DEFAULT clock_timestamp())',
    'CREATE INDEX codes_user_idx ON codes (user_id)',
    'ALTER TABLE codes ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)',
    'ALTER TABLE codes ALTER COLUMN user_id TYPE bigint',
    'DROP TABLE codes',
    'ALTER TABLE other_schema.users DROP COLUMN name',
    // Keywords inside strings and function bodies are not statements.
    `CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ALTER TABLE users DROP COLUMN name; RETURN NEW; END $$`,
    `COMMENT ON TABLE users IS 'DROP TABLE users'`,
  ])('%s', (sql) => {
    expect(rules(sql)).toEqual([]);
  });
});

describe('helpers', () => {
  it('names the tables a statement works on', () => {
    const names = (sql: string) => relationsNamed(sql).map(formatName);
    expect(names('ALTER TABLE ONLY public.users ADD COLUMN a int')).toEqual(['public.users']);
    expect(names('CREATE TABLE c (u int REFERENCES users (id), r int REFERENCES "Roles")')).toEqual(
      ['users', 'Roles'],
    );
    expect(names('CREATE UNIQUE INDEX i ON users (email)')).toEqual(['users']);
    expect(
      names('CREATE TRIGGER t BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION f()'),
    ).toEqual(['users']);
    expect(names('DROP TABLE a, b.c')).toEqual(['a', 'b.c']);
    expect(names('DROP INDEX CONCURRENTLY IF EXISTS i')).toEqual(['i']);
  });

  it('finds transaction control outside strings and bodies', () => {
    expect(transactionControl('COMMIT')).toBe('commit');
    expect(transactionControl('SELECT 1; START TRANSACTION;')).toBe('start');
    expect(transactionControl('ROLLBACK')).toBe('rollback');
    expect(transactionControl('ROLLBACK TO SAVEPOINT a')).toBeUndefined();
    expect(transactionControl('DO $$ BEGIN PERFORM 1; END $$')).toBeUndefined();
    expect(transactionControl(`SELECT 'commit'`)).toBeUndefined();
  });
});
