import path from 'node:path';
import { findSquawk, squawkInput, squawkLinter } from '../../lib/migrator/squawk';
import { transactionControl } from '../../lib/migrator/transactionControl';

const ROOT = path.resolve(__dirname, '..', '..');
const settings = { lockTimeoutMs: 5000, statementTimeoutMs: 600000, lockWaitMs: 60000 };

describe('transactionControl (what plan refuses to send)', () => {
  it.each([
    ['COMMIT', 'commit'],
    ['ALTER TABLE users ADD COLUMN a text; commit;', 'commit'],
    ['BEGIN', 'begin'],
    ['  start transaction isolation level serializable', 'start'],
    ['END', 'end'],
    ['ABORT', 'abort'],
    ['ROLLBACK', 'rollback'],
    ["PREPARE TRANSACTION 'x'", 'prepare transaction'],
    ['/* a comment */ COMMIT', 'commit'],
  ])('finds %s', (sql, control) => {
    expect(transactionControl(sql)).toBe(control);
  });

  it.each([
    'ALTER TABLE users ADD COLUMN a text',
    "SELECT 'x; COMMIT'",
    "SELECT E'it\\'s; COMMIT'",
    'SELECT 1 -- ; COMMIT',
    'SELECT 1 /* ; BEGIN */',
    'SELECT "odd; commit" FROM t',
    'CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$',
    'CREATE FUNCTION g() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN COMMIT; END $body$',
    'ROLLBACK TO SAVEPOINT s',
    'SELECT $1::int; SELECT begin_at FROM t',
  ])('leaves %s alone', (sql) => {
    expect(transactionControl(sql)).toBeUndefined();
  });
});

describe('squawk', () => {
  it('reads the statements after the runner session timeouts, each on lines of its own', () => {
    const { text, starts } = squawkInput(
      ['CREATE TABLE a (id bigint) -- a comment', 'CREATE INDEX a_idx\n  ON a (id);'],
      settings,
    );
    expect(text).toBe(
      [
        'SET lock_timeout = 5000;',
        'SET statement_timeout = 600000;',
        'CREATE TABLE a (id bigint) -- a comment',
        ';',
        'CREATE INDEX a_idx',
        '  ON a (id);',
        ';',
        '',
      ].join('\n'),
    );
    expect(starts).toEqual([2, 4]);
  });

  it('is found where npm installed it, with the project config', () => {
    const found = findSquawk(ROOT);
    expect(found).toEqual({
      binary: expect.stringContaining('squawk'),
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      config: path.join(ROOT, '.squawk.toml'),
    });
    expect(findSquawk('/')).toEqual({
      missing: expect.stringMatching(/^squawk is not installed here/),
    });
  });

  it('maps each finding to its statement, and honours the accepted rules of .squawk.toml', async () => {
    const linter = squawkLinter(findSquawk(ROOT));
    const flags = await linter.lint(
      [
        'SELECT 1',
        // integer and varchar are accepted (.squawk.toml); the blocking index build is not.
        'CREATE TABLE t (id integer, name varchar(20))',
        'CREATE INDEX users_name_idx\n  ON users (name)',
      ],
      { inTransaction: true, settings },
    );
    expect(flags).toEqual([
      {
        rule: 'require-concurrent-index-creation',
        message: expect.stringContaining('CONCURRENTLY'.toLowerCase()),
        statement: 2,
      },
    ]);
  });

  it('refuses to lint without the binary, saying why', async () => {
    const linter = squawkLinter({ missing: 'not here' });
    expect(linter.status).toEqual({ tool: null, reason: 'not here' });
    await expect(linter.lint(['SELECT 1'], { inTransaction: true, settings })).rejects.toThrow(
      'not here',
    );
  });
});
