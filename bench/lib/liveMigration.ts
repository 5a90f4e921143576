import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { ROOT } from './bundles';
import { elapsedMs, percentile } from './stats';

export interface LiveMigrationResult {
  /** The runner's own durationMs (advisory lock, transaction, SequelizeMeta row). */
  migrationMs: number;
  /** Wall time of the migrate process (start-up of tsx included). */
  processMs: number;
  writes: number;
  /** The writer's longest statement while the migration ran. */
  longestStallMs: number;
  p99Ms: number;
  /**
   * Every writer statement, from half a second before the migrate process
   * starts to 300 ms after it ends: when it started (ms from the start of the
   * migrate process) and how long it took. For the chart.
   */
  timeline: { atMs: number; ms: number }[];
}

export interface LiveMigrationOptions {
  /** Apply the pending migrations up to and including this one (default: all). */
  to?: string;
  /**
   * What the writer writes: `users` (insert a user, rename another) or `codes`
   * (insert a code, count an attempt on another), the table the migration changes.
   */
  table?: 'users' | 'codes';
}

/**
 * Applies the pending migrations with the project's runner (`npm run migrate --
 * up`, a process of its own) while this process writes on another connection
 * in a loop, timing every statement.
 */
export async function migrateUnderLoad(
  url: string,
  userCount: number,
  options: LiveMigrationOptions = {},
): Promise<LiveMigrationResult> {
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  let running = true;
  let migrating = false;
  const latencies: number[] = [];
  const statements: { start: bigint; ms: number }[] = [];
  let n = 0;
  const loop = (async () => {
    while (running) {
      n += 1;
      const id = 1 + ((n * 7919) % userCount);
      for (const [sql, values] of options.table === 'codes'
        ? codeWrites(n, id)
        : userWrites(n, id)) {
        const t = process.hrtime.bigint();
        await writer.query(sql, values);
        const ms = elapsedMs(t);
        statements.push({ start: t, ms });
        if (migrating) latencies.push(ms);
      }
    }
  })();

  await new Promise((r) => setTimeout(r, 500));
  migrating = true;
  const started = process.hrtime.bigint();
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', '.bin', 'tsx'),
        'scripts/migrate.ts',
        'up',
        ...(options.to === undefined ? [] : [options.to]),
        '--json',
      ],
      { cwd: ROOT, env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`migrate failed (${code}): ${err}`)),
    );
  });
  const processMs = elapsedMs(started);
  // Keep writing a little after the commit, then stop.
  await new Promise((r) => setTimeout(r, 300));
  migrating = false;
  running = false;
  await loop;
  await writer.end();
  const result = JSON.parse(output.trim().split('\n').pop() as string) as {
    ran: string[];
    durationMs: number;
  };
  if (result.ran.length === 0) throw new Error('the live migration applied nothing');
  return {
    migrationMs: result.durationMs,
    processMs,
    writes: latencies.length,
    longestStallMs: Math.max(...latencies),
    p99Ms: percentile(latencies, 99),
    timeline: statements.map((s) => ({ atMs: Number(s.start - started) / 1e6, ms: s.ms })),
  };
}

type Write = [sql: string, values: unknown[]];

function userWrites(n: number, id: number): Write[] {
  return [
    [
      `INSERT INTO users (email, phone, name) VALUES ($1, $2, 'live writer')`,
      [`live${n}@example.org`, `+1666${String(n).padStart(7, '0')}`],
    ],
    [`UPDATE users SET name = $2, updated_at = now() WHERE id = $1`, [id, `renamed ${n}`]],
  ];
}

// A send (a consumed code, so the one-active-code index never objects) and a
// wrong try on an older code, as the service writes verification_codes.
function codeWrites(n: number, id: number): Write[] {
  return [
    [
      `INSERT INTO verification_codes
         (id, user_id, channel, destination, code_hash, max_attempts, expires_at, consumed_at)
       VALUES (gen_random_uuid(), $1, 'email', $2::text, md5($2::text), 5, now() + interval '10 minutes', now())`,
      [id, `live${n}@example.org`],
    ],
    [
      `UPDATE verification_codes SET attempts = least(attempts + 1, max_attempts)
       WHERE id = (SELECT id FROM verification_codes WHERE user_id = $1 LIMIT 1)`,
      [id],
    ],
  ];
}
