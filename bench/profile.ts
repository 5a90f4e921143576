/**
 * Where the send's and the verify's time goes, handler against floor, without
 * the whole of `npm run bench`: builds the two functions' bundles as
 * serverless.yml does, seeds a small database, and runs the handler and the
 * floor interleaved, request by request.
 *
 *   npm run bench:profile -- [--requests N] [--only handler|floor]
 *
 * Prints p50 and p95 of each and their ratios on stderr (stdout carries the
 * handlers' metric lines). With `--only`, it runs that
 * side alone, which is what to run under a profiler:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile.ts --only handler
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { build } from 'esbuild';
import pg from 'pg';
import { BENCH_FLOOR_SETTINGS, Floor } from './floor';
import { ROOT } from './lib/bundles';
import {
  createDatabase,
  KNOWN_CODE,
  migrate,
  putKnownCode,
  seedUsers,
  withClient,
} from './lib/databases';
import { BENCH_PEPPER, functionEnv, httpEvent, lambdaContext, tokenFor } from './lib/events';
import { elapsedMs, summarize } from './lib/stats';

type Reply = { statusCode?: number; body?: string };
type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<Reply>;

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const REQUESTS = Number(arg('--requests') ?? 2000);
const WARMUP = 200;
const ONLY = arg('--only') as 'handler' | 'floor' | undefined;
const USERS = 200;

/** The bundle of one function, with serverless.yml's esbuild options. */
async function bundle(entry: string, dir: string): Promise<Handler> {
  const outfile = path.join(dir, `${path.basename(entry, '.ts')}.js`);
  await build({
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    bundle: true,
    // Readable names in a profile (--only); as deployed otherwise.
    minify: !ONLY,
    keepNames: true,
    sourcemap: false,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['pg-native', '@aws-sdk/*'],
    logLevel: 'silent',
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(outfile) as { handler: Handler }).handler;
}

function expect(what: string, status: number, reply: Reply) {
  if (reply.statusCode !== status) {
    throw new Error(`${what}: expected ${status}, got ${reply.statusCode} ${reply.body ?? ''}`);
  }
}

async function main() {
  const db = await createDatabase('profile');
  const adminUrl = process.env.DATABASE_URL;
  // Inside the project, so that the bundles' externals resolve from node_modules.
  const dir = path.join(ROOT, '.bench-profile');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  try {
    await migrate(db.url);
    await withClient(db.url, (c) => seedUsers(c, 4 * USERS + 20));
    Object.assign(process.env, functionEnv(db.url));
    const handler = {
      issue: await bundle('functions/verification/issueCode.ts', dir),
      verify: await bundle('functions/verification/verifyCode.ts', dir),
    };
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const floor = new Floor(client, BENCH_FLOOR_SETTINGS);

    const sides = [
      {
        name: 'handler',
        base: 20,
        issue: (e: APIGatewayProxyEventV2) => handler.issue(e, lambdaContext('issue')),
        verify: (e: APIGatewayProxyEventV2) => handler.verify(e, lambdaContext('verify')),
      },
      {
        name: 'floor',
        base: 20 + 2 * USERS,
        issue: (e: APIGatewayProxyEventV2) => floor.issue(e),
        verify: (e: APIGatewayProxyEventV2) => floor.verify(e),
      },
    ].filter((s) => !ONLY || s.name === ONLY);
    const tokens = new Map<number, string>();
    for (let id = 20; id < 20 + 4 * USERS; id += 1) tokens.set(id, await tokenFor(id));

    const samples: Record<string, number[]> = {};
    let cpu = process.cpuUsage();
    for (let i = 0; i < WARMUP + REQUESTS; i += 1) {
      if (i === WARMUP) cpu = process.cpuUsage();
      for (let k = 0; k < sides.length; k += 1) {
        const s = sides[(i + k) % sides.length] as (typeof sides)[number];
        const sender = s.base + (i % USERS);
        const verifier = s.base + USERS + (i % USERS);
        const issueEvent = httpEvent({
          method: 'POST',
          route: '/verification/codes',
          token: tokens.get(sender),
          body: { channel: 'email' },
        });
        let t = process.hrtime.bigint();
        expect(`${s.name} issue`, 201, await s.issue(issueEvent));
        if (i >= WARMUP) (samples[`issue ${s.name}`] ??= []).push(elapsedMs(t));

        await putKnownCode(admin, BENCH_PEPPER, verifier);
        const verifyEvent = httpEvent({
          method: 'POST',
          route: '/verification/verify',
          token: tokens.get(verifier),
          body: { channel: 'email', code: KNOWN_CODE },
        });
        t = process.hrtime.bigint();
        expect(`${s.name} verify`, 200, await s.verify(verifyEvent));
        if (i >= WARMUP) (samples[`verify ${s.name}`] ??= []).push(elapsedMs(t));
      }
    }
    const used = process.cpuUsage(cpu);
    console.error(
      `this process's CPU per iteration (${sides.map((s) => s.name).join(' and ')}: ` +
        `send, code, verify): ${((used.user + used.system) / 1000 / REQUESTS).toFixed(3)} ms`,
    );
    for (const [key, values] of Object.entries(samples)) {
      const { p50, p95 } = summarize(values);
      console.error(`${key.padEnd(16)} p50 ${p50.toFixed(3)} ms  p95 ${p95.toFixed(3)} ms`);
    }
    if (!ONLY) {
      for (const e of ['issue', 'verify']) {
        const h = summarize(samples[`${e} handler`] ?? []);
        const f = summarize(samples[`${e} floor`] ?? []);
        console.error(
          `${e} handler/floor  p50 ${(h.p50 / f.p50).toFixed(2)}×  p95 ${(h.p95 / f.p95).toFixed(2)}×`,
        );
      }
    }
    await client.end();
    await admin.end();
  } finally {
    process.env.DATABASE_URL = adminUrl;
    await db.drop();
    // Kept after a profiling run: the profile's line numbers point into it.
    if (!ONLY) await rm(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

main().catch((err: Error) => {
  console.error(err.stack ?? String(err));
  process.exit(1);
});
