import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MigrationResult } from '../../lib/migrator/runner';
import {
  ALL_MIGRATIONS,
  LATEST,
  statusWith,
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
    },
  });
  return JSON.parse(stdout) as { sequelizeResolvable: boolean; results: MigrationResult[] };
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
    const all = ALL_MIGRATIONS;
    expect(results[0]).toMatchObject({ command: 'up', ran: all });
    expect(results[1]).toMatchObject({ command: 'status', executed: all, pending: [] });
    expect(await metaRows(url)).toEqual(all);

    await sequelizeCli(url, 'db:migrate:undo');
    expect(await cliStatus(url)).toEqual(statusWith(all.length - 1));
    const after = await invokePackaged(url, [{ command: 'status' }]);
    expect(after.results[0]).toMatchObject({
      executed: all.slice(0, -1),
      pending: [LATEST],
    });
  });
});
