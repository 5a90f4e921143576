import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SQUAWK_NOT_SHIPPED } from '../../functions/migrate';
import { migrations } from '../../lib/migrator/migrations';
import type { MigrationResult, PlanResult } from '../../lib/migrator/runner';
import {
  ADD_DESTINATION_COUNTRY,
  ADD_IDEMPOTENCY_KEYS,
  ADD_VERIFICATION,
  CREATE_USERS,
  cliStatus,
  metaRows,
  migrationFixtures,
  ROOT,
  sequelizeCli,
} from './helpers';

const run = promisify(execFile);
const fixtures = migrationFixtures();
let workDir: string;
let functionDir: string;

// The zip as Lambda would get it: packaged for prod (into a temporary folder, so
// the developer's .serverless stays as it is) and unpacked where no node_modules
// can be found.
beforeAll(async () => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-migrate-package-'));
  const artifacts = path.join(workDir, 'artifacts');
  functionDir = path.join(workDir, 'function');
  fs.mkdirSync(functionDir);
  await run('npx', ['serverless', 'package', '--stage', 'prod', '--package', artifacts], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '' },
  });
  await run('unzip', ['-q', path.join(artifacts, 'migrate.zip'), '-d', functionDir]);
}, 180000);

afterAll(async () => {
  await fixtures.cleanup();
  fs.rmSync(workDir, { recursive: true, force: true });
});

/** Loads the packaged handler in a fresh Node process and runs the events in turn. */
async function invokePackaged(url: string, events: unknown[]) {
  const script = `
    const { handler } = require('./functions/migrate.js');
    let sequelizeResolvable = true;
    try { require.resolve('sequelize'); } catch { sequelizeResolvable = false; }
    (async () => {
      const results = [];
      for (const event of ${JSON.stringify(events)}) results.push(await handler(event));
      process.stdout.write(JSON.stringify({ sequelizeResolvable, results }));
    })().catch((err) => { console.error(err); process.exit(1); });
  `;
  const { stdout } = await run(process.execPath, ['-e', script], {
    cwd: functionDir,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: url,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      LOG_LEVEL: 'SILENT',
      // stdout carries the results alone: no EMF line (Powertools' switch).
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  });
  return JSON.parse(stdout) as {
    sequelizeResolvable: boolean;
    results: (MigrationResult | PlanResult)[];
  };
}

describe('the packaged migrate function', () => {
  it('is one self-contained bundle', () => {
    const files = fs.readdirSync(functionDir, { recursive: true }) as string[];
    expect(files.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(files).toContain(path.join('functions', 'migrate.js'));
  });

  it('runs up and status from the zip, and agrees with sequelize-cli afterwards', async () => {
    const url = await fixtures.emptyDatabase();
    const { sequelizeResolvable, results } = await invokePackaged(url, [
      { command: 'up' },
      { command: 'status' },
    ]);
    // Nothing outside the bundle was there to be loaded.
    expect(sequelizeResolvable).toBe(false);
    // Every file in migrations/ (the bundle's list was written when it was built).
    const all = migrations.map((m) => m.name);
    expect(all.slice(0, 4)).toEqual([
      CREATE_USERS,
      ADD_VERIFICATION,
      ADD_DESTINATION_COUNTRY,
      ADD_IDEMPOTENCY_KEYS,
    ]);
    expect(results[0]).toMatchObject({ command: 'up', ran: all });
    expect(results[1]).toMatchObject({ command: 'status', executed: all, pending: [] });
    expect(await metaRows(url)).toEqual(all);

    await sequelizeCli(url, 'db:migrate:undo');
    const last = all.at(-1) as string;
    expect(await cliStatus(url)).toEqual(
      Object.fromEntries(all.map((name) => [name, name === last ? 'down' : 'up'])),
    );
    const after = await invokePackaged(url, [{ command: 'status' }, { command: 'plan' }]);
    expect(after.results[0]).toMatchObject({ executed: all.slice(0, -1), pending: [last] });
    // No squawk in the zip: the plan reports the locks and says its flags were not checked.
    expect(after.results[1]).toMatchObject({
      command: 'plan',
      migrations: [{ name: last, flags: [] }],
      lint: { tool: null, reason: SQUAWK_NOT_SHIPPED },
    });
    expect(fs.readdirSync(functionDir, { recursive: true })).not.toContainEqual(
      expect.stringContaining('squawk'),
    );
  });
});
