import fs from 'node:fs';
import path from 'node:path';
import { migrations } from '../../lib/migrator/migrations';

const dir = path.resolve(__dirname, '..', '..', 'migrations');
// The files sequelize-cli 6.6.5 treats as migrations (lib/core/migrator.js).
const CLI_PATTERN = /^(?!.*\.d\.ts$).*\.(cjs|js|cts|ts)$/;

describe('the static migration list', () => {
  it('names exactly the migration files sequelize-cli runs, in its order', () => {
    const files = fs
      .readdirSync(dir)
      .filter((f) => CLI_PATTERN.test(f))
      .sort();
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
});
