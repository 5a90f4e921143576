import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { migrations } from '../../lib/migrator/migrations';
import { ROOT } from './helpers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { migrationList } = require('../../deploy/esbuild-plugins.cjs') as {
  migrationList: (options: { dir: string }) => import('esbuild').Plugin;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { migrationFileNames } = require('../../lib/migrator/migrationFiles.cjs') as {
  migrationFileNames: (dir?: string) => string[];
};

const run = promisify(execFile);
const dir = path.join(ROOT, 'migrations');
// The files sequelize-cli 6.6.5 treats as migrations (lib/core/migrator.js).
const CLI_PATTERN = /^(?!.*\.d\.ts$).*\.(cjs|js|cts|ts)$/;

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-registry-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('the migrations are the files in migrations/', () => {
  it('names exactly the migration files sequelize-cli runs, in its order', () => {
    const files = fs
      .readdirSync(dir)
      .filter((f) => CLI_PATTERN.test(f))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(migrations.map((m) => m.name)).toEqual(files);
  });

  it('binds each name to the module in the file of that name', () => {
    for (const m of migrations) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      expect(m.module).toBe(require(path.join(dir, m.name)));
      expect(typeof m.module.up).toBe('function');
      expect(typeof m.module.down).toBe('function');
    }
  });

  it('finds the file `sequelize-cli migration:generate` writes, and nothing but migrations', async () => {
    const folder = path.join(work, 'generated');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'README.md'), 'not a migration');
    fs.writeFileSync(path.join(folder, 'types.d.ts'), 'export {};');
    fs.writeFileSync(path.join(folder, '20261126000001-first.cjs'), 'module.exports = {};');
    await run(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'sequelize-cli', 'lib', 'sequelize'),
        'migration:generate',
        '--name',
        'add-something',
        '--migrations-path',
        folder,
      ],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: 'postgres://unused@127.0.0.1/unused' } },
    );
    const names = migrationFileNames(folder);
    expect(names).toEqual([
      '20261126000001-first.cjs',
      expect.stringMatching(/^\d{14}-add-something\.js$/),
    ]);
  });
});

describe('a bundle carries the migrations it was built with', () => {
  // A copy of migrations/ plus a file written as a developer would: the bundle
  // of the migration list picks it up, with no list edited anywhere.
  it('includes a new migration file in the next build, and runs from a folder without node_modules', async () => {
    const folder = path.join(work, 'migrations');
    fs.mkdirSync(folder);
    for (const name of fs.readdirSync(dir)) {
      fs.copyFileSync(path.join(dir, name), path.join(folder, name));
    }
    const added = '20991231000000-add-something.js';
    fs.writeFileSync(
      path.join(folder, added),
      `'use strict';\nmodule.exports = { async up() {}, async down() {} };\n`,
    );
    const entry = path.join(work, 'entry.ts');
    fs.writeFileSync(
      entry,
      `import { migrations } from ${JSON.stringify(path.join(ROOT, 'lib', 'migrator', 'migrations'))};
       process.stdout.write(JSON.stringify(migrations.map((m) => [m.name, typeof m.module.up])));`,
    );
    const out = path.join(work, 'bundle', 'list.js');
    await build({
      entryPoints: [entry],
      outfile: out,
      bundle: true,
      platform: 'node',
      target: 'node22',
      plugins: [migrationList({ dir: folder })],
      logLevel: 'silent',
    });
    const { stdout } = await run(process.execPath, [out], { cwd: path.dirname(out) });
    const expected = [...migrations.map((m) => m.name), added];
    expect(JSON.parse(stdout)).toEqual(expected.map((name) => [name, 'function']));
  });
});
