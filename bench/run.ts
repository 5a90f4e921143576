/**
 * npm run bench [-- --quick]
 *
 * Prints figures and ratios measured side by side in one run against one
 * PostgreSQL (DATABASE_URL, or an embedded one started by scripts/with-db.mjs):
 * request cost against a pg floor (three runs, medians), round trips, cold
 * start against bare bundles, cost as data grows, throughput with 1 to 16
 * concurrent callers, and migrations on live 1,000,000-row tables; then writes
 * the charts (docs/bench/*.svg). Progress goes to stderr, results to stdout.
 * `--quick` shrinks the data and the times for development only; its figures
 * are not the issue's, and its charts go to docs/bench/quick/ (not committed).
 * `--node <binary>` starts the cold-start part's processes with another
 * Node.js (Lambda's runtime is nodejs22.x); the rest runs on this one.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import {
  API_FUNCTIONS,
  ApiFunction,
  Bundle,
  buildFixture,
  handlersOf,
  packageService,
  ROOT,
  tmpRoot,
  unzipBundle,
} from './lib/bundles';
import {
  BenchDatabase,
  createDatabase,
  FIRST_MIGRATION,
  SECOND_MIGRATION,
  migrate,
  putKnownCode,
  KNOWN_CODE,
  seedCodes,
  seedEvents,
  seedRequests,
  seedUsers,
  withClient,
} from './lib/databases';
import { BENCH_PEPPER, EventInput, functionEnv, httpEvent, tokenFor } from './lib/events';
import { explainHotQueries, Plan } from './lib/explain';
import { LiveMigrationResult, migrateUnderLoad } from './lib/liveMigration';
import { growthChart, latencyChart, stallChart, throughputChart } from './lib/charts';
import { Progress } from './lib/progress';
import { compareScaling, usersNeeded } from './lib/scaling';
import { median, medianWithRuns, ms, ratio } from './lib/stats';
import { writeCharts } from './lib/svg';
import type { WorkerInput, WorkerResult } from './requestWorker';
import { LevelResult, measureThroughput, ThroughputResult } from './throughput';

const quick = process.argv.includes('--quick');
const nodeArg = process.argv.indexOf('--node');
if (nodeArg >= 0 && !process.argv[nodeArg + 1]) {
  throw new Error('--node needs the path of a Node.js binary, e.g. --node /opt/node22/bin/node');
}
/** The Node.js that runs the cold-start part's fresh processes. */
const COLD_NODE = nodeArg < 0 ? process.execPath : (process.argv[nodeArg + 1] as string);
const SIZES = quick
  ? {
      users: 52_000,
      smallCodes: 1_000,
      largeCodes: 50_000,
      smallRequests: 100,
      largeRequests: 5_000,
      smallEvents: 1_000,
      largeEvents: 50_000,
      liveUsers: 50_000,
      liveCodes: 50_000,
      iterations: 60,
      warmup: 10,
      coldRuns: 3,
      countSamples: 5,
      throughputWindowMs: 3_000,
      throughputWindows: 4,
      throughputWarmup: 5,
    }
  : {
      users: 100_000,
      smallCodes: 1_000,
      largeCodes: 1_000_000,
      smallRequests: 100,
      largeRequests: 100_000,
      smallEvents: 1_000,
      largeEvents: 1_000_000,
      liveUsers: 1_000_000,
      liveCodes: 1_000_000,
      iterations: 300,
      warmup: 30,
      // Fifteen fresh processes per bundle: with seven, one slow minute of a shared
      // machine moved the medians by up to 0.3× (BENCHMARKS.md).
      coldRuns: 15,
      countSamples: 20,
      throughputWindowMs: 10_000,
      throughputWindows: 10,
      throughputWarmup: 20,
    };
/** The request-cost part runs this many times; its rows are the medians. */
const REQUEST_COST_RUNS = 3;
/** Concurrent callers of the throughput part. */
const LEVELS = [1, 4, 16] as const;
const CHART_DIR = path.join(ROOT, 'docs', 'bench', ...(quick ? ['quick'] : []));

interface Row {
  section: string;
  figure: string;
  value: string;
  target: string;
  pass?: boolean;
}
const rows: Row[] = [];
const progress = new Progress();
const log = (message: string) =>
  progress.note(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
const fmtBytes = (b: number) => `${(b / 1024).toFixed(0)} KiB`;

/** Runs one part: its progress on stderr while it runs, its time in the log after. */
async function timed<T>(
  what: string,
  work: () => Promise<T>,
  options: { progress?: boolean } = {},
): Promise<T> {
  const t = Date.now();
  const shown = options.progress !== false;
  if (shown) progress.begin(what);
  try {
    return await work();
  } finally {
    if (shown) progress.end();
    log(`${what}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
}

async function seededDatabase(
  label: string,
  codes: number,
  requests: number,
  events: number,
): Promise<BenchDatabase> {
  const db = await createDatabase(label);
  await migrate(db.url);
  await withClient(db.url, async (c) => {
    await seedUsers(c, SIZES.users);
    await seedCodes(c, codes, SIZES.users);
    await seedRequests(c, requests, SIZES.users);
    await seedEvents(c, events, SIZES.users);
    await c.query('VACUUM ANALYZE');
  });
  return db;
}

/**
 * Runs a child that prints one JSON line last. Its stderr lines that start
 * with `progress ` go to `onProgress`; the rest are kept for the error.
 */
function runJson<T>(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onProgress?: (detail: string) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let partial = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('progress ')) onProgress?.(line.slice('progress '.length));
        else err += `${line}\n`;
      }
    });
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      err += partial;
      if (code !== 0) return reject(new Error(`${args.join(' ')} exited ${code}: ${err}${out}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`no JSON from ${args.join(' ')}: ${out}${err}`));
      }
    });
  });
}

// ---- 1 and 3: request cost, round trips, growth --------------------------------

/**
 * The request-cost loop, REQUEST_COST_RUNS times, each in a fresh process
 * (fresh handler modules and pools); round trips are counted in the first run
 * only (they do not vary).
 */
async function requestCost(
  work: string,
  small: BenchDatabase,
  large: BenchDatabase,
  bundles: Record<string, string>,
): Promise<WorkerResult[]> {
  const unzip = async (copy: string) => {
    const files: Record<string, string> = {};
    for (const [key, fn] of [
      ['issue', 'issueVerificationCode'],
      ['verify', 'verifyVerificationCode'],
      ['list', 'staffApprovalList'],
      ['history', 'getUserVerificationEvents'],
    ]) {
      const b = await unzipBundle(
        path.join(work, 'package', `${fn}.zip`),
        path.join(work, 'copies', copy, fn as string),
        bundles[fn as string] as string,
      );
      files[key as string] = b.file;
    }
    return files as { issue: string; verify: string; list: string; history: string };
  };
  const input: WorkerInput = {
    iterations: SIZES.iterations,
    warmup: SIZES.warmup,
    countSamples: SIZES.countSamples,
    databases: { small: small.url, large: large.url },
    handlers: {
      small: await unzip('small'),
      large: await unzip('large'),
      count: await unzip('count'),
    },
  };
  const results: WorkerResult[] = [];
  for (let run = 1; run <= REQUEST_COST_RUNS; run += 1) {
    const file = path.join(work, `worker-input-${run}.json`);
    await writeFile(
      file,
      JSON.stringify({ ...input, countSamples: run === 1 ? input.countSamples : 0 }),
    );
    results.push(
      await runJson<WorkerResult>(
        process.execPath,
        [path.join(ROOT, 'node_modules', '.bin', 'tsx'), 'bench/requestWorker.ts', file],
        process.env,
        (detail) => progress.update(`run ${run} of ${REQUEST_COST_RUNS}, ${detail}`),
      ),
    );
  }
  return results;
}

/** Section 1 and the growth rows of section 3: medians of the runs, with each run's value. */
function reportRequests(runs: WorkerResult[]) {
  const get = (r: WorkerResult, key: string) => {
    const s = r.timings[key];
    if (!s) throw new Error(`no timings for ${key}`);
    return s;
  };
  /** One value per run. */
  const each = (f: (r: WorkerResult) => number) => runs.map(f);
  const n = runs.length;
  for (const endpoint of ['issue', 'verify'] as const) {
    const name = endpoint === 'issue' ? 'POST /verification/codes' : 'POST /verification/verify';
    const h = (r: WorkerResult) => get(r, `${endpoint} handler small`);
    const f = (r: WorkerResult) => get(r, `${endpoint} floor small`);
    rows.push({
      section: '1 request cost',
      figure: `${name} handler p50 / p95 (median of ${n} runs)`,
      value: `${ms(median(each((r) => h(r).p50)))} / ${ms(median(each((r) => h(r).p95)))}`,
      target: '',
    });
    rows.push({
      section: '1 request cost',
      figure: `${name} floor (pg) p50 / p95 (median of ${n} runs)`,
      value: `${ms(median(each((r) => f(r).p50)))} / ${ms(median(each((r) => f(r).p95)))}`,
      target: '',
    });
    for (const p of ['p50', 'p95'] as const) {
      const ratios = each((r) => h(r)[p] / f(r)[p]);
      rows.push({
        section: '1 request cost',
        figure: `${name} handler/floor ${p}: median of ${n} runs (each run)`,
        value: medianWithRuns(ratios, ratio),
        target: '≤ 1.5×',
        pass: median(ratios) <= 1.5,
      });
    }
  }
  const r = runs[0] as WorkerResult;
  for (const endpoint of ['issue', 'verify'] as const) {
    const name = endpoint === 'issue' ? 'POST /verification/codes' : 'POST /verification/verify';
    const rt = r.roundTrips[`${endpoint} handler`];
    const rf = r.roundTrips[`${endpoint} floor`];
    rows.push({
      section: '1 request cost',
      figure: `${name} round trips (handler; floor)`,
      value: `${rt?.max} (median ${rt?.median}); ${rf?.max}`,
      target: '≤ 4',
      pass: (rt?.max ?? 99) <= 4,
    });
  }
  for (const [endpoint, name] of [
    ['issue', 'POST /verification/codes'],
    ['verify', 'POST /verification/verify'],
  ] as const) {
    const plain = r.roundTrips[`${endpoint} handler`]?.max ?? 99;
    const rk = r.roundTrips[`${endpoint} keyed handler`];
    rows.push({
      section: '1 request cost',
      figure: `${name} with Idempotency-Key round trips`,
      value: `${rk?.max} (median ${rk?.median})`,
      target: `≤ ${plain + 1} (at most one more than without)`,
      pass: (rk?.max ?? 99) <= plain + 1,
    });
  }
  const rl = r.roundTrips['list handler'];
  rows.push({
    section: '1 request cost',
    figure: 'GET /staff-approval-requests round trips',
    value: `${rl?.max}`,
    target: '(info)',
  });
  for (const [endpoint, name] of [
    ['issue', 'POST /verification/codes'],
    ['verify', 'POST /verification/verify'],
    ['list', 'GET /staff-approval-requests pending page'],
    ['history', 'GET /users/{id}/verification/events first page'],
  ] as const) {
    const s = (r: WorkerResult) => get(r, `${endpoint} handler small`);
    const l = (r: WorkerResult) => get(r, `${endpoint} handler large`);
    const sizes =
      endpoint === 'list'
        ? `${SIZES.smallRequests} → ${SIZES.largeRequests} requests`
        : endpoint === 'history'
          ? `${SIZES.smallEvents} → ${SIZES.largeEvents} events`
          : `${SIZES.smallCodes} → ${SIZES.largeCodes} codes`;
    rows.push({
      section: '3 growth',
      figure: `${name} handler p50 small / large (${sizes}; median of ${n} runs)`,
      value: `${ms(median(each((r) => s(r).p50)))} / ${ms(median(each((r) => l(r).p50)))}`,
      target: '',
    });
    const p50s = each((r) => l(r).p50 / s(r).p50);
    rows.push({
      section: '3 growth',
      figure: `${name} large/small p50: median of ${n} runs (each run)`,
      value: medianWithRuns(p50s, ratio),
      target: '≤ 1.2×',
      pass: median(p50s) <= 1.2,
    });
    rows.push({
      section: '3 growth',
      figure: `${name} large/small p95: median of ${n} runs (each run)`,
      value: medianWithRuns(
        each((r) => l(r).p95 / s(r).p95),
        ratio,
      ),
      target: '(info)',
    });
    if (endpoint === 'issue' || endpoint === 'verify') {
      rows.push({
        section: '3 growth',
        figure: `${name} floor large/small p50: median of ${n} runs`,
        value: ratio(
          median(
            each(
              (r) => get(r, `${endpoint} floor large`).p50 / get(r, `${endpoint} floor small`).p50,
            ),
          ),
        ),
        target: '(info)',
      });
    }
  }
}

// ---- 2: cold start -------------------------------------------------------------

/**
 * The functions that run on `pg` alone (no Sequelize): their cold start is
 * held to the bare pg bundle's, the others' to the bare Sequelize bundle's.
 */
const PG_ONLY_FUNCTIONS: ReadonlySet<ApiFunction> = new Set([
  'issueVerificationCode',
  'verifyVerificationCode',
]);

async function coldStart(work: string, db: BenchDatabase, handlers: Record<string, string>) {
  const bundles: Bundle[] = [];
  for (const fn of API_FUNCTIONS) {
    bundles.push(
      await unzipBundle(
        path.join(work, 'package', `${fn}.zip`),
        path.join(work, 'cold', fn),
        handlers[fn] as string,
      ),
    );
  }
  const barePg = await buildFixture('bare-pg', work);
  const bareSequelize = await buildFixture('bare-sequelize', work);
  // The floor as a function of its own (bench/fixtures/floor.ts): pg, jose's
  // verifier and the same SQL, started for a send and for a verify.
  const floor = await buildFixture('floor', work);
  const floorOf: Partial<Record<ApiFunction, Bundle>> = {
    issueVerificationCode: { ...floor, name: 'floor send' },
    verifyVerificationCode: { ...floor, name: 'floor verify' },
  };
  const floors = new Map(Object.entries(floorOf).map(([fn, b]) => [b, fn as ApiFunction]));
  const all = [barePg, bareSequelize, ...floors.keys(), ...bundles];

  const staff = await tokenFor(1);
  const user = await tokenFor(20);
  // Another user for sends: a verify run marks user 20's email verified (a send would be 409).
  const sender = await tokenFor(21);
  // The floor's sends: a user of their own, so that neither side's sends count toward the other's.
  const floorSender = await tokenFor(22);
  const missing = '00000000-0000-4000-8000-000000000000';
  const eventFor = (fn: ApiFunction, run: number): EventInput => {
    switch (fn) {
      case 'health':
        return { method: 'GET', route: '/health' };
      case 'issueVerificationCode':
        return {
          method: 'POST',
          route: '/verification/codes',
          token: sender,
          body: { channel: 'email' },
        };
      case 'verifyVerificationCode':
        return {
          method: 'POST',
          route: '/verification/verify',
          token: user,
          body: { channel: 'email', code: KNOWN_CODE },
        };
      case 'getMyVerification':
        return { method: 'GET', route: '/users/me/verification', token: user };
      case 'getUserVerification':
        return {
          method: 'GET',
          route: '/users/{id}/verification',
          token: staff,
          pathParameters: { id: '20' },
        };
      case 'staffApprovalCreate':
        return {
          method: 'POST',
          route: '/staff-approval-requests',
          token: user,
          body: { requestType: `bench_cold_${run}` },
        };
      case 'staffApprovalList':
        return {
          method: 'GET',
          route: '/staff-approval-requests',
          token: staff,
          query: { status: 'pending' },
        };
      case 'staffApprovalGet':
        return {
          method: 'GET',
          route: '/staff-approval-requests/{id}',
          token: staff,
          pathParameters: { id: missing },
        };
      case 'staffApprovalApprove':
        return {
          method: 'POST',
          route: '/staff-approval-requests/{id}/approve',
          token: staff,
          pathParameters: { id: missing },
          body: {},
        };
      case 'staffApprovalReject':
        return {
          method: 'POST',
          route: '/staff-approval-requests/{id}/reject',
          token: staff,
          pathParameters: { id: missing },
          body: { note: 'bench' },
        };
      case 'staffApprovalCancel':
        return {
          method: 'POST',
          route: '/staff-approval-requests/{id}/cancel',
          token: user,
          pathParameters: { id: missing },
        };
    }
  };
  const env = { ...process.env, ...functionEnv(db.url) };
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const samples = new Map<string, { load: number[]; first: number[]; status: Set<number> }>();
  const eventsDir = path.join(work, 'events');
  await mkdir(eventsDir, { recursive: true });
  for (let run = 0; run < SIZES.coldRuns; run += 1) {
    // Each run visits every bundle once, in a rotated order.
    for (let k = 0; k < all.length; k += 1) {
      const b = all[(run + k) % all.length] as Bundle;
      let eventFile = path.join(eventsDir, 'bare.json');
      if (b === barePg || b === bareSequelize) {
        await writeFile(eventFile, '{}');
      } else {
        const fn = floors.get(b) ?? (b.name as ApiFunction);
        if (fn === 'verifyVerificationCode') await putKnownCode(admin, BENCH_PEPPER, 20);
        const input = eventFor(fn, run);
        if (b === floorOf.issueVerificationCode) input.token = floorSender;
        eventFile = path.join(eventsDir, `${b.name.replace(' ', '-')}.json`);
        await writeFile(eventFile, JSON.stringify(httpEvent(input)));
      }
      const r = await runJson<{
        loadMs: number;
        firstRequestMs?: number;
        statusCode?: number;
        error?: string;
      }>(
        COLD_NODE,
        [path.join(ROOT, 'bench', 'coldWorker.cjs'), b.file, b.exportName, eventFile],
        env,
      );
      if (r.error) throw new Error(`${b.name}: ${r.error}`);
      // A floor that refused its request did not do the work it stands for.
      if (floors.has(b) && (r.statusCode ?? 500) >= 300) {
        throw new Error(`${b.name}: HTTP ${r.statusCode}`);
      }
      const s = samples.get(b.name) ?? { load: [], first: [], status: new Set<number>() };
      s.load.push(r.loadMs);
      if (r.firstRequestMs !== undefined) s.first.push(r.firstRequestMs);
      if (r.statusCode !== undefined) s.status.add(r.statusCode);
      samples.set(b.name, s);
    }
  }
  await admin.end();

  const med = (name: string, key: 'load' | 'first') => median(samples.get(name)?.[key] ?? []);
  // `require` and the first request of each process, added up before the median.
  const medTotal = (name: string) => {
    const s = samples.get(name);
    return median(s ? s.load.map((load, i) => load + (s.first[i] ?? NaN)) : []);
  };
  const seqLoad = med('bare-sequelize', 'load');
  const seqFirst = med('bare-sequelize', 'first');
  const pgLoad = med('bare-pg', 'load');
  const pgFirst = med('bare-pg', 'first');
  const pgTotal = medTotal('bare-pg');
  rows.push({
    section: '2 cold start',
    figure: `bare pg: load / first request / zip`,
    value: `${ms(pgLoad)} / ${ms(pgFirst)} / ${fmtBytes(barePg.zipBytes)}`,
    target: '',
  });
  rows.push({
    section: '2 cold start',
    figure: `bare sequelize+pg: load / first request / zip`,
    value: `${ms(seqLoad)} / ${ms(seqFirst)} / ${fmtBytes(bareSequelize.zipBytes)}`,
    target: '',
  });
  rows.push({
    section: '2 cold start',
    figure: 'bare sequelize+pg / bare pg load',
    value: ratio(seqLoad / pgLoad),
    target: '(info)',
  });
  if (COLD_NODE !== process.execPath) {
    rows.push({
      section: '2 cold start',
      figure: 'Node.js of the cold starts (--node)',
      value: COLD_NODE,
      target: '(info)',
    });
  }
  for (const [b] of floors) {
    const total = medTotal(b.name);
    const statuses = [...(samples.get(b.name)?.status ?? [])].join(',');
    rows.push({
      section: '2 cold start',
      figure: `${b.name} (pg, jose's verifier and the same SQL, nothing else): load ${ms(med(b.name, 'load'))}, first request ${ms(med(b.name, 'first'))} (HTTP ${statuses}); require + first request / bare pg`,
      value: `${ratio(total / pgTotal)} (${ms(total)})`,
      target: '(info)',
    });
  }
  for (const b of bundles) {
    const load = med(b.name, 'load');
    const first = med(b.name, 'first');
    const statuses = [...(samples.get(b.name)?.status ?? [])].join(',');
    const measured = `load ${ms(load)}, first request ${ms(first)} (HTTP ${statuses}), zip ${fmtBytes(b.zipBytes)}`;
    if (PG_ONLY_FUNCTIONS.has(b.name as ApiFunction)) {
      // On pg alone: compared with the bare pg bundle, require and first request together.
      const total = medTotal(b.name);
      const value = `${ratio(total / pgTotal)} (${ms(total)} against ${ms(pgTotal)}; load ${ratio(load / pgLoad)}, first request ${ratio(first / pgFirst)})`;
      rows.push({
        section: '2 cold start',
        figure: `${b.name} (pg only): ${measured}; require + first request / bare pg`,
        value,
        target: '≤ 1.5×',
        pass: total / pgTotal <= 1.5,
      });
      rows.push({
        section: '2 cold start',
        figure: `${b.name} (pg only): require + first request / bare pg, hard cap`,
        value: ratio(total / pgTotal),
        target: '≤ 2×',
        pass: total / pgTotal <= 2,
      });
      const floorName = floorOf[b.name as ApiFunction]?.name;
      if (floorName !== undefined) {
        // What the function adds to the same work: its libraries and its own code.
        const floorTotal = medTotal(floorName);
        rows.push({
          section: '2 cold start',
          figure: `${b.name} (pg only): require + first request / the ${floorName}'s`,
          value: `${ratio(total / floorTotal)} (+${ms(total - floorTotal)})`,
          target: '(info)',
        });
      }
      continue;
    }
    rows.push({
      section: '2 cold start',
      figure: `${b.name}: ${measured}; load / bare sequelize`,
      value: `${ratio(load / seqLoad)} (first request ${ratio(first / seqFirst)})`,
      target: '≤ 1.25×',
      pass: load / seqLoad <= 1.25,
    });
  }
}

// ---- 5: throughput with more callers --------------------------------------------

/** The throughput part on a database of its own (users only), after the others. */
async function throughput(
  work: string,
  handlers: Record<string, string>,
): Promise<ThroughputResult> {
  const db = await createDatabase('throughput');
  try {
    progress.update('seeding users');
    await migrate(db.url);
    await withClient(db.url, async (c) => {
      await seedUsers(c, SIZES.users);
      await c.query('VACUUM ANALYZE');
    });
    const files = {
      send: (
        await unzipBundle(
          path.join(work, 'package', 'issueVerificationCode.zip'),
          path.join(work, 'throughput', 'issueVerificationCode'),
          handlers.issueVerificationCode as string,
        )
      ).file,
      create: (
        await unzipBundle(
          path.join(work, 'package', 'staffApprovalCreate.zip'),
          path.join(work, 'throughput', 'staffApprovalCreate'),
          handlers.staffApprovalCreate as string,
        )
      ).file,
    };
    // Users 1..10 are staff; every caller gets a block of its own above them.
    const firstUser = 11;
    const usersPerCaller = Math.floor((SIZES.users - firstUser) / usersNeeded(1, 2, LEVELS));
    return await measureThroughput({
      databaseUrl: db.url,
      files,
      endpoints: ['send', 'create'],
      levels: LEVELS,
      windowMs: SIZES.throughputWindowMs,
      windows: SIZES.throughputWindows,
      firstUser,
      usersPerCaller,
      warmup: SIZES.throughputWarmup,
      onProgress: (detail) => progress.update(detail),
    });
  } finally {
    await db.drop();
  }
}

const ENDPOINT_NAMES = {
  send: 'POST /verification/codes',
  create: 'POST /staff-approval-requests',
} as const;

function reportThroughput({ levels: results, roundTrips }: ThroughputResult) {
  const section = '5 throughput';
  const levels = `${LEVELS.join(' / ')} callers`;
  const at = (endpoint: string, variant: string) =>
    LEVELS.map((l) => {
      const r = results.find(
        (x) => x.endpoint === endpoint && x.variant === variant && x.callers === l,
      );
      if (!r) throw new Error(`no throughput for ${endpoint} ${variant} ${l}`);
      return r;
    });
  const rates = (rs: LevelResult[]) => new Map(rs.map((r) => [r.callers, r.rps]));
  const rps = (rs: LevelResult[]) => rs.map((r) => r.rps.toFixed(0)).join(' / ');
  const p50s = (rs: LevelResult[]) => `${rs.map((r) => r.p50Ms.toFixed(2)).join(' / ')} ms`;
  for (const endpoint of ['send', 'create'] as const) {
    const name = ENDPOINT_NAMES[endpoint];
    const handler = at(endpoint, 'handler');
    const floor = at(endpoint, 'floor');
    const verdict = compareScaling(rates(handler), rates(floor));
    rows.push({
      section,
      figure: `${name} requests/s at ${levels}: handler; floor`,
      value: `${rps(handler)}; ${rps(floor)}`,
      target: endpoint === 'create' ? '(info: the insert lock’s ceiling)' : '',
    });
    rows.push({
      section,
      figure: `${name} round trips (handler; floor)`,
      value: `${roundTrips[`${endpoint} handler`]}; ${roundTrips[`${endpoint} floor`]}`,
      target: '(info)',
    });
    rows.push({
      section,
      figure: `${name} latency p50 at ${levels}: handler; floor`,
      value: `${p50s(handler)}; ${p50s(floor)}`,
      target: '(info)',
    });
    if (endpoint === 'send') {
      for (const [i, level] of LEVELS.entries()) {
        const h = handler[i] as LevelResult;
        const f = floor[i] as LevelResult;
        const failed = h.failed + f.failed;
        const ratioAt = verdict.ratios.get(level) as number;
        rows.push({
          section,
          figure: `${name} handler/floor requests/s, ${level} caller${level === 1 ? '' : 's'} (failed requests of all sent)`,
          value: `${ratio(ratioAt)} (${failed} of ${h.ok + f.ok + failed}${
            (h.firstFailure ?? f.firstFailure) ? `; first: ${h.firstFailure ?? f.firstFailure}` : ''
          })`,
          target: '≥ 0.7×, none failed',
          pass: ratioAt >= 0.7 && failed === 0,
        });
      }
      rows.push({
        section,
        figure: `${name} gain from ${LEVELS[0]} to ${LEVELS.at(-1)} callers, handler / floor`,
        value: `${ratio(verdict.relativeGain)} (handler ${ratio(verdict.handlerGain)}, floor ${ratio(verdict.floorGain)})`,
        target: '≥ 0.8×',
        pass: verdict.relativeGain >= 0.8,
      });
    } else {
      const all = [...handler, ...floor];
      const failed = all.reduce((n, r) => n + r.failed, 0);
      const first = all.find((r) => r.firstFailure)?.firstFailure;
      rows.push({
        section,
        figure: `${name} handler/floor requests/s at ${levels}; gain ${LEVELS[0]} → ${LEVELS.at(-1)} handler, floor`,
        value: `${LEVELS.map((l) => ratio(verdict.ratios.get(l) as number)).join(' / ')}; ${ratio(verdict.handlerGain)}, ${ratio(verdict.floorGain)}`,
        target: '(info)',
      });
      rows.push({
        section,
        figure: `${name} failed requests of all sent`,
        value: `${failed} of ${all.reduce((n, r) => n + r.ok + r.failed, 0)}${first ? `; first: ${first}` : ''}`,
        target: 'none',
        pass: failed === 0,
      });
    }
  }
}

// ---- charts --------------------------------------------------------------------------

async function charts(
  requests: WorkerResult[],
  tp: ThroughputResult,
  live: { title: string; result: LiveMigrationResult }[],
): Promise<string[]> {
  const conditions = quick ? ' (--quick: development sizes)' : '';
  const count = (n: number) => n.toLocaleString('en-US');
  const samples = (key: string) => requests.flatMap((r) => r.samples[key] ?? []);
  const latency = latencyChart(
    (['issue', 'verify'] as const).flatMap((endpoint) =>
      (['handler', 'floor'] as const).map((variant) => ({
        endpoint: endpoint === 'issue' ? 'POST /verification/codes' : 'POST /verification/verify',
        variant,
        valuesMs: samples(`${endpoint} ${variant} small`),
      })),
    ),
    `every measured request of ${requests.length} runs of ${SIZES.iterations}, small database${conditions}`,
  );
  const throughputSpec = throughputChart(
    tp.levels.map((r) => ({
      endpoint: ENDPOINT_NAMES[r.endpoint],
      variant: r.variant,
      callers: r.callers,
      rps: r.rps,
    })),
    [
      `${SIZES.throughputWindowMs / 1000} s per variant and level in ${SIZES.throughputWindows} alternating windows;`,
      `each caller a process with its own pool, one request at a time${conditions}`,
    ],
  );
  const growth = growthChart(
    (
      [
        ['issue', 'send'],
        ['verify', 'verify'],
        ['list', 'pending list'],
        ['history', 'history'],
      ] as const
    ).flatMap(([key, endpoint]) =>
      (['small', 'large'] as const).map((size) => ({
        endpoint,
        size,
        p50Ms: median(requests.map((r) => r.timings[`${key} handler ${size}`]?.p50 ?? NaN)),
      })),
    ),
    [
      `small → large: codes ${count(SIZES.smallCodes)} → ${count(SIZES.largeCodes)}, staff requests ${count(SIZES.smallRequests)} → ${count(SIZES.largeRequests)},`,
      `events ${count(SIZES.smallEvents)} → ${count(SIZES.largeEvents)}; median of ${requests.length} runs${conditions}`,
    ],
  );
  const stalls = stallChart(
    live.map(({ title, result }) => ({
      title,
      statements: result.timeline,
      migrateEndMs: result.processMs,
      targetMs: 200,
    })),
    `every statement of the writer; dashed: the migrate process starts and ends${conditions}`,
  );
  return writeCharts(CHART_DIR, {
    latency,
    throughput: throughputSpec,
    growth,
    'migration-stalls': stalls,
  });
}

// ---- main ---------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const work = tmpRoot();
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const dbs: BenchDatabase[] = [];
  try {
    log(
      `sizes: ${JSON.stringify(SIZES)}${quick ? " (--quick: development sizes, not the issue's)" : ''}`,
    );
    // Packaging (a child process) and seeding (the server) overlap.
    const packaging = timed('serverless package', () => packageService(work), {
      progress: false,
    });
    const small = await timed('small database', () =>
      seededDatabase('small', SIZES.smallCodes, SIZES.smallRequests, SIZES.smallEvents),
    );
    dbs.push(small);
    const large = await timed('large database', () =>
      seededDatabase('large', SIZES.largeCodes, SIZES.largeRequests, SIZES.largeEvents),
    );
    dbs.push(large);
    progress.begin('serverless package (started beside the seeding)');
    const packageDir = await packaging;
    progress.end();
    const handlers = await handlersOf(packageDir);

    const requests = await timed(`request cost and growth (${REQUEST_COST_RUNS} runs)`, () =>
      requestCost(work, small, large, handlers),
    );
    reportRequests(requests);

    const plans = await timed('EXPLAIN on the large database', () =>
      explainHotQueries(large.url, 50450, (c, id) => putKnownCode(c, BENCH_PEPPER, id)),
    );
    for (const p of plans) {
      rows.push({
        section: '3 growth',
        figure: `EXPLAIN ${p.name}`,
        value: p.seqScans.length ? `Seq Scan on ${p.seqScans.join(', ')}` : 'index scans only',
        target: 'index',
        pass: p.usesIndex && p.seqScans.length === 0,
      });
    }

    await timed('cold start', () => coldStart(work, small, handlers));

    const tp = await timed(
      `throughput at ${LEVELS.join(', ')} callers (${SIZES.throughputWindowMs / 1000} s per variant and level)`,
      () => throughput(work, handlers),
    );
    reportThroughput(tp);

    const live = await timed('live database', async () => {
      const db = await createDatabase('live');
      dbs.push(db);
      await migrate(db.url, FIRST_MIGRATION);
      await withClient(db.url, async (c) => {
        await seedUsers(c, SIZES.liveUsers);
        await c.query('VACUUM ANALYZE users');
      });
      return db;
    });
    const m = await timed('migration 2 under load', () =>
      migrateUnderLoad(live.url, SIZES.liveUsers, { to: SECOND_MIGRATION }),
    );
    rows.push({
      section: '4 live migration',
      figure: `migration 2 on ${SIZES.liveUsers} users: runner duration (process wall time)`,
      value: `${ms(m.migrationMs)} (${ms(m.processMs)})`,
      target: '',
    });
    rows.push({
      section: '4 live migration',
      figure: `writer statements during the migration; p99`,
      value: `${m.writes}; ${ms(m.p99Ms)}`,
      target: '',
    });
    rows.push({
      section: '4 live migration',
      figure: 'writer longest stall',
      value: ms(m.longestStallMs),
      target: '< 200 ms',
      pass: m.longestStallMs < 200,
    });

    // Migration 3 builds its indexes CONCURRENTLY on a full verification_codes
    // while a writer inserts and updates codes.
    await timed('codes for migration 3', () =>
      withClient(live.url, async (c) => {
        await seedCodes(c, SIZES.liveCodes, SIZES.liveUsers);
        await c.query('VACUUM ANALYZE verification_codes');
      }),
    );
    const m3 = await timed('migration 3 under load', () =>
      migrateUnderLoad(live.url, SIZES.liveUsers, { table: 'codes' }),
    );
    rows.push({
      section: '4 live migration',
      figure: `migration 3 on ${SIZES.liveCodes} codes: runner duration (process wall time)`,
      value: `${ms(m3.migrationMs)} (${ms(m3.processMs)})`,
      target: '',
    });
    rows.push({
      section: '4 live migration',
      figure: 'code writer statements during migration 3; p99',
      value: `${m3.writes}; ${ms(m3.p99Ms)}`,
      target: '',
    });
    rows.push({
      section: '4 live migration',
      figure: 'code writer longest stall (migration 3)',
      value: ms(m3.longestStallMs),
      target: '< 200 ms',
      pass: m3.longestStallMs < 200,
    });

    const chartFiles = await timed('charts', () =>
      charts(requests, tp, [
        { title: `migration 2 on ${SIZES.liveUsers.toLocaleString('en-US')} users`, result: m },
        { title: `migration 3 on ${SIZES.liveCodes.toLocaleString('en-US')} codes`, result: m3 },
      ]),
    );

    printPlans(plans);
    printTable();
    console.log(`\nCharts: ${chartFiles.map((f) => path.relative(ROOT, f)).join(', ')}`);
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `\nTotal ${seconds.toFixed(0)} s${quick ? ' (--quick)' : ''}; target < 600 s: ${seconds < 600 ? 'PASS' : 'FAIL'}`,
    );
  } finally {
    for (const db of dbs) await db.drop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

function printPlans(plans: Plan[]) {
  console.log('\n## EXPLAIN (ANALYZE, BUFFERS) on the large database\n');
  for (const p of plans) console.log(`### ${p.name}\n\n${p.text}\n`);
}

function printTable() {
  const head = ['section', 'figure', 'value', 'target', 'result'];
  const body = rows.map((r) => [
    r.section,
    r.figure,
    r.value,
    r.target,
    r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL',
  ]);
  console.log('\n## Results\n');
  console.log(`| ${head.join(' | ')} |`);
  console.log(`| ${head.map(() => '---').join(' | ')} |`);
  for (const r of body) console.log(`| ${r.join(' | ')} |`);
  const failed = rows.filter((r) => r.pass === false).length;
  console.log(
    `\n${rows.filter((r) => r.pass !== undefined).length - failed} targets met, ${failed} missed`,
  );
}

main().catch((err: Error) => {
  console.error(err.stack ?? String(err));
  process.exit(1);
});
