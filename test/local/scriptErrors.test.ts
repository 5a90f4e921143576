import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess } from '../helpers/runProcess';

// Every script in scripts/ stops with one line on stderr and a non-zero exit
// code, never a stack trace. None of these cases reaches a database.
const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-script-errors-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function run(file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, VS_DATA_DIR: dataDir, ...extraEnv };
  return runProcess(file, args, { cwd: ROOT, env });
}

const node = (args: string[], extraEnv?: NodeJS.ProcessEnv) =>
  run(process.execPath, args, extraEnv);

function expectOneLine(r: { code: number | null; stderr: string }, line: string | RegExp) {
  expect(r.code).not.toBe(0);
  expect(r.stderr).not.toContain('    at ');
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  if (typeof line === 'string') expect(lines[0]).toBe(line);
  else expect(lines[0]).toMatch(line);
}

describe('scripts stop with one line', () => {
  it('npm run token -- 1 banana', async () => {
    const r = await run('npm', ['run', '-s', 'token', '--', '1', 'banana']);
    expectOneLine(r, "token: 'banana' is not a duration: use one such as 30m, 12h or 7d");
  });

  it.each([
    [[], /^token: usage: npm run token -- <userId>/],
    [['abc'], "token: the user id must be a positive whole number, not 'abc'"],
    [['1', '2h', 'x'], /^token: usage:/],
  ])('token %j', async (args, line) => {
    expectOneLine(await node(['scripts/token.mjs', ...args]), line);
  });

  it.each([
    [[], /^user: --email is required \(usage: npm run user -- --email <e>/],
    [['--email'], /^user: option '--email <value>' argument missing/],
    [['--email', 'a@example.com', '--colour', 'red'], /^user: unknown option '--colour'/],
    [['--email', 'nope'], "user: --email 'nope' is not an email address"],
    [
      ['--email', 'a@example.com', '--phone', '555 0100'],
      /^user: --phone '555 0100' is not a valid international number/,
    ],
    [
      ['--email', 'a@example.com', '--phone', '+15555550100'],
      /^user: --phone '\+15555550100' is not a valid international number/,
    ],
    [
      ['--email', 'a@example.com', '--role', 'admin'],
      "user: --role must be user or staff, not 'admin'",
    ],
    [['--email', 'a@example.com', 'extra'], /^user: unexpected argument 'extra'/],
  ])('user %j', async (args, line) => {
    expectOneLine(await node(['scripts/user.mjs', ...args]), line);
  });

  it('db:url with arguments', async () => {
    expectOneLine(await node(['scripts/db-url.mjs', 'x']), 'db:url: usage: npm run db:url');
  });

  it.each([
    [['bogus'], 'migrate failed: Unknown command "bogus" (one of up, down, status, stamp, plan)'],
    [['up', 'a', 'b'], /^usage: npm run migrate --/],
  ])('migrate %j', async (args, line) => {
    expectOneLine(await node([TSX, 'scripts/migrate.ts', ...args]), line);
  });

  it('migrate with a database that refuses connections', async () => {
    const r = await node([TSX, 'scripts/migrate.ts', 'status'], {
      DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/none',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
    expectOneLine(r, /^migrate failed: /);
  });

  it('with-db without a command, and with one that does not exist', async () => {
    expectOneLine(
      await node(['scripts/with-db.mjs']),
      'with-db: usage: node scripts/with-db.mjs <command> [args...]',
    );
    const missing = await node(['scripts/with-db.mjs', 'no-such-command-here'], {
      DATABASE_URL: 'postgres://127.0.0.1:1/none',
    });
    expectOneLine(missing, /^with-db: cannot run no-such-command-here: spawn .* ENOENT$/);
  });

  it('a second npm start says which one runs', async () => {
    // This process stands in for the npm start that holds .data/start.pid.
    fs.writeFileSync(path.join(dataDir, 'start.pid'), `${process.pid}\n`);
    const env = { DATABASE_URL: '' };
    const r = await node(['scripts/start.mjs'], env);
    expectOneLine(r, `npm start: npm start is already running (pid ${process.pid})`);
    expect(fs.readFileSync(path.join(dataDir, 'start.pid'), 'utf8').trim()).toBe(
      String(process.pid),
    );
  });
});
