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
 *
 * With `--cold N`, it starts the send, the verify, the floor (as a function of
 * its own: bench/fixtures/floor.ts) for each, and the bare pg bundle N times
 * each instead, each in a fresh process (bench/coldWorker.cjs, as
 * `npm run bench` does), interleaved, and prints the medians of `require`, the
 * first request and both, and their ratios to the bare pg bundle and to the
 * floor's. With `--cold-libs N`, it times `require` alone of small bundles of
 * pg with each library the send loads at start (as the send uses it), N fresh
 * processes each: what each library adds to a cold start. `--node
 * <binary>` runs those processes with another Node.js (Lambda's is 22), and
 * `--cold-prof <dir>` writes a CPU profile of each start into <dir>. With
 * `--cold-via <host:port>`, every start is made twice, interleaved: once
 * connecting to the database directly and once through <host:port>, a
 * connection pooler in front of the same server (standing in for RDS Proxy,
 * whose server connections have already run the statements).
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { build } from 'esbuild';
import pg from 'pg';
import { BENCH_FLOOR_SETTINGS, Floor } from './floor';
import { BENCH_BUILD_OPTIONS, buildFixture, ROOT } from './lib/bundles';
import {
  createDatabase,
  KNOWN_CODE,
  migrate,
  putKnownCode,
  seedUsers,
  withClient,
} from './lib/databases';
import { BENCH_PEPPER, functionEnv, httpEvent, lambdaContext, tokenFor } from './lib/events';
import { elapsedMs, median, summarize } from './lib/stats';

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
const COLD = arg('--cold') === undefined ? undefined : Number(arg('--cold'));
const NODE = arg('--node') ?? process.execPath;
const COLD_PROFILE_DIR = arg('--cold-prof');
const COLD_LIBS = arg('--cold-libs') === undefined ? undefined : Number(arg('--cold-libs'));
const COLD_VIA = arg('--cold-via');
if (process.argv.includes('--cold-via') && !/^[^:/\s]+:\d+$/.test(COLD_VIA ?? '')) {
  console.error('--cold-via needs the host:port of a connection pooler, such as 127.0.0.1:6432');
  process.exit(2);
}
const run = promisify(execFile);

/** The bundle of one function, with serverless.yml's esbuild options; its file. */
async function bundleFile(entry: string, dir: string): Promise<string> {
  const outfile = path.join(dir, `${path.basename(entry, '.ts')}.js`);
  await build({
    ...BENCH_BUILD_OPTIONS,
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    // Readable names in a profile (--only); as deployed otherwise.
    minify: !ONLY || COLD !== undefined,
    keepNames: true,
    sourcemap: false,
    external: ['pg-native', '@aws-sdk/*'],
  });
  return outfile;
}

async function bundle(entry: string, dir: string): Promise<Handler> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(await bundleFile(entry, dir)) as { handler: Handler }).handler;
}

/** `--cold N`: fresh-process starts of the send, the verify, their floors and the bare pg bundle. */
/** One bundle's fresh-process starts: `require`, `require` + first request, page faults. */
interface ColdSamples {
  load: number[];
  total: number[];
  faults: number[];
}

async function coldStarts(dbUrl: string, dir: string, runs: number): Promise<void> {
  const admin = new pg.Client({ connectionString: dbUrl });
  await admin.connect();
  const floor = (await buildFixture('floor', dir)).file;
  const starts = [
    { name: 'bare pg', file: (await buildFixture('bare-pg', dir)).file, event: {} },
    {
      name: 'floor send',
      file: floor,
      event: httpEvent({
        method: 'POST',
        route: '/verification/codes',
        token: await tokenFor(22),
        body: { channel: 'email' },
      }),
    },
    {
      name: 'floor verify',
      file: floor,
      event: httpEvent({
        method: 'POST',
        route: '/verification/verify',
        token: await tokenFor(20),
        body: { channel: 'email', code: KNOWN_CODE },
      }),
    },
    {
      name: 'send',
      file: await bundleFile('functions/verification/issueCode.ts', dir),
      event: httpEvent({
        method: 'POST',
        route: '/verification/codes',
        token: await tokenFor(21),
        body: { channel: 'email' },
      }),
    },
    {
      name: 'verify',
      file: await bundleFile('functions/verification/verifyCode.ts', dir),
      event: httpEvent({
        method: 'POST',
        route: '/verification/verify',
        token: await tokenFor(20),
        body: { channel: 'email', code: KNOWN_CODE },
      }),
    },
  ];
  // The functions' database URL for each route: the bench database, directly
  // or through the pooler of --cold-via.
  const routes = [{ label: '', env: process.env }];
  if (COLD_VIA) {
    const via = new URL(dbUrl);
    [via.hostname, via.port] = COLD_VIA.split(':') as [string, string];
    routes.push({ label: ` via ${COLD_VIA}`, env: { ...process.env, DATABASE_URL: via.href } });
  }
  const samples = new Map<string, ColdSamples>();
  for (let i = 0; i < runs; i += 1) {
    for (let k = 0; k < starts.length * routes.length; k += 1) {
      // Each bundle's direct start and its start through the pooler back to back.
      const s = starts[
        (i + Math.floor(k / routes.length)) % starts.length
      ] as (typeof starts)[number];
      const route = routes[k % routes.length] as (typeof routes)[number];
      if (s.name.endsWith('verify')) await putKnownCode(admin, BENCH_PEPPER, 20);
      const eventFile = path.join(dir, `${s.name.replace(' ', '-')}.json`);
      await writeFile(eventFile, JSON.stringify(s.event));
      const profile = COLD_PROFILE_DIR
        ? ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${COLD_PROFILE_DIR}`]
        : [];
      const { stdout } = await run(
        NODE,
        [...profile, path.join(ROOT, 'bench', 'coldWorker.cjs'), s.file, 'handler', eventFile],
        { env: route.env },
      );
      const r = JSON.parse(stdout.trim().split('\n').pop() as string) as {
        loadMs: number;
        firstRequestMs: number;
        loadFaults: number;
        firstRequestFaults: number;
        statusCode?: number;
        error?: string;
      };
      if (r.error || (r.statusCode ?? 200) >= 300) {
        throw new Error(`${s.name}${route.label}: ${r.error ?? `HTTP ${r.statusCode}`}`);
      }
      const key = `${s.name}${route.label}`;
      const m = samples.get(key) ?? { load: [], total: [], faults: [] };
      m.load.push(r.loadMs);
      m.total.push(r.loadMs + r.firstRequestMs);
      m.faults.push(r.loadFaults + r.firstRequestFaults);
      samples.set(key, m);
    }
  }
  await admin.end();
  console.error(`${runs} cold starts each, ${NODE === process.execPath ? process.version : NODE}`);
  const order = ['bare pg', 'floor send', 'send', 'floor verify', 'verify'];
  for (const { label } of routes) {
    if (routes.length > 1) console.error(label ? `connecting${label}:` : 'connecting directly:');
    const bare = samples.get(`bare pg${label}`) as ColdSamples;
    for (const name of order) {
      const m = samples.get(`${name}${label}`) as ColdSamples;
      const load = median(m.load);
      const total = median(m.total);
      const floor = samples.get(`floor ${name}${label}`);
      console.error(
        `${name.padEnd(12)} require ${load.toFixed(1)} ms, + first request ${total.toFixed(1)} ms` +
          `  (${(total / median(bare.total)).toFixed(2)}× bare pg` +
          `${floor ? `, ${(total / median(floor.total)).toFixed(2)}× its floor` : ''}),` +
          ` ${median(m.faults)} page faults`,
      );
    }
  }
}

/**
 * `--cold-libs`: pg alone, and pg with each library the send loads at start,
 * used as the send uses it (lib/logger.ts, lib/metrics.ts, lib/auth.ts,
 * functions/verification/codeSchemas.ts), built as the send is (minified,
 * no keepNames, serverless.yml's esbuild plugins).
 */
const CONSOLE = `import { Console } from 'node:console';
export const c = new Console({ stdout: process.stdout, stderr: process.stderr });`;
const LOGGER = `import { Logger } from '@aws-lambda-powertools/logger';
export const logger = new Logger({ serviceName: 'bench' });`;
const METRICS = `import { Metrics } from '@aws-lambda-powertools/metrics';
export const metrics = new Metrics({ namespace: 'bench' });`;
const JOSE = `export { jwtVerify } from 'jose/jwt/verify';`;
const ZOD = `import * as z from 'zod/mini';
export const body = z.strictObject({
  channel: z.enum(['phone', 'email']),
  code: z.string().check(z.maxLength(10), z.regex(/^[0-9]+$/)),
});`;
const LIBRARY_BUNDLES: [string, string[]][] = [
  ['pg alone', []],
  ['a Console on stdout and stderr', [CONSOLE]],
  ['Powertools logger', [LOGGER]],
  ['Powertools logger and metrics', [LOGGER, METRICS]],
  ['jose verifier', [JOSE]],
  ['zod/mini and a body schema', [ZOD]],
  ['all four libraries', [LOGGER, METRICS, JOSE, ZOD]],
];

async function coldLibraries(dir: string, runs: number): Promise<void> {
  const bundles: { name: string; file: string }[] = [];
  for (const [i, [name, parts]] of LIBRARY_BUNDLES.entries()) {
    const file = path.join(dir, `library-${i}.js`);
    await build({
      ...BENCH_BUILD_OPTIONS,
      stdin: {
        contents: [`import pg from 'pg';`, ...parts, 'export const handler = () => pg;'].join('\n'),
        resolveDir: ROOT,
        loader: 'ts',
      },
      outfile: file,
    });
    bundles.push({ name, file });
  }
  const loads = new Map<string, number[]>();
  const faults = new Map<string, number[]>();
  for (let i = 0; i < runs; i += 1) {
    for (let k = 0; k < bundles.length; k += 1) {
      const b = bundles[(i + k) % bundles.length] as (typeof bundles)[number];
      const { stdout } = await run(NODE, [
        path.join(ROOT, 'bench', 'coldWorker.cjs'),
        b.file,
        'handler',
      ]);
      const r = JSON.parse(stdout.trim()) as { loadMs: number; loadFaults: number };
      loads.set(b.name, [...(loads.get(b.name) ?? []), r.loadMs]);
      faults.set(b.name, [...(faults.get(b.name) ?? []), r.loadFaults]);
    }
  }
  const base = median(loads.get('pg alone') ?? []);
  const node = NODE === process.execPath ? process.version : NODE;
  console.error(`require of pg with each library, ${runs} fresh processes each, ${node}`);
  for (const b of bundles) {
    const load = median(loads.get(b.name) ?? []);
    const added = b.name === 'pg alone' ? '' : `  (+${(load - base).toFixed(1)} ms)`;
    const touched = median(faults.get(b.name) ?? []);
    console.error(`${b.name.padEnd(32)} ${load.toFixed(1)} ms${added}, ${touched} page faults`);
  }
}

function expect(what: string, status: number, reply: Reply) {
  if (reply.statusCode !== status) {
    throw new Error(`${what}: expected ${status}, got ${reply.statusCode} ${reply.body ?? ''}`);
  }
}

async function main() {
  // Inside the project, so that the bundles' externals resolve from node_modules.
  const dir = path.join(ROOT, '.bench-profile');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  if (COLD_LIBS !== undefined) {
    await coldLibraries(dir, COLD_LIBS);
    await rm(dir, { recursive: true, force: true });
    return;
  }
  const db = await createDatabase('profile');
  const adminUrl = process.env.DATABASE_URL;
  try {
    await migrate(db.url);
    await withClient(db.url, (c) => seedUsers(c, 4 * USERS + 20));
    Object.assign(process.env, functionEnv(db.url));
    if (COLD !== undefined) {
      await coldStarts(db.url, dir, COLD);
      return;
    }
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
    if (!ONLY && !COLD_PROFILE_DIR) await rm(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

main().catch((err: Error) => {
  console.error(err.stack ?? String(err));
  process.exit(1);
});
