/**
 * Request cost and growth, side by side in one process: the bundled handlers
 * (loaded from the unzipped packages) and the floor, against a small and a large
 * database, interleaved request by request so that machine noise lands on all
 * of them alike. A third copy of the handlers talks to PostgreSQL through the
 * round-trip counting proxy (timings are never taken through the proxy).
 *   tsx bench/requestWorker.ts <input.json>   (prints one JSON result line)
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { BENCH_FLOOR_SETTINGS, Floor } from './floor';
import { BENCH_PEPPER, functionEnv, httpEvent, lambdaContext, tokenFor } from './lib/events';
import { KNOWN_CODE, putKnownCode } from './lib/databases';
import { startRoundTripProxy } from './lib/roundTripProxy';
import { elapsedMs, summarize, Summary } from './lib/stats';

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<{ statusCode?: number; body?: string }>;

export interface WorkerInput {
  iterations: number;
  warmup: number;
  countSamples: number;
  databases: { small: string; large: string };
  /** Unzipped handler files per copy: small, large, count. */
  handlers: Record<
    'small' | 'large' | 'count',
    { issue: string; verify: string; list: string; history: string }
  >;
}

export interface RoundTrips {
  median: number;
  max: number;
  /** Requests that opened a new connection (excluded from the median and max). */
  reconnects: number;
}

export interface WorkerResult {
  timings: Record<string, Summary>;
  /** Round trips (only when countSamples > 0). */
  roundTrips: Record<string, RoundTrips>;
  /** Every measured latency of the send and verify on the small database, for the charts. */
  samples: Record<string, number[]>;
}

/** The latencies kept whole in WorkerResult.samples. */
const SAMPLED = [
  'issue handler small',
  'issue floor small',
  'verify handler small',
  'verify floor small',
] as const;

interface Target {
  issue(userId: number, token: string): Promise<number>;
  verify(userId: number, token: string): Promise<number>;
  list?(token: string): Promise<number>;
  /** The first page of a user's verification events (handlers only). */
  history?(token: string, userId: number): Promise<number>;
  /** The send and the verify with an Idempotency-Key (handlers only). */
  issueKeyed?(token: string, key: string): Promise<number>;
  verifyKeyed?(token: string, key: string): Promise<number>;
}

function loadHandler(file: string): Handler {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { handler: Handler }).handler;
}

const keyHeader = (key?: string): Record<string, string> => (key ? { 'idempotency-key': key } : {});
const issueEvent = (token: string, key?: string) =>
  httpEvent({
    method: 'POST',
    route: '/verification/codes',
    token,
    body: { channel: 'email' },
    headers: keyHeader(key),
  });
const verifyEvent = (token: string, key?: string) =>
  httpEvent({
    method: 'POST',
    route: '/verification/verify',
    token,
    body: { channel: 'email', code: KNOWN_CODE },
    headers: keyHeader(key),
  });
const historyEvent = (token: string, userId: number) =>
  httpEvent({
    method: 'GET',
    route: '/users/{id}/verification/events',
    token,
    pathParameters: { id: String(userId) },
  });
const listEvent = (token: string) =>
  httpEvent({
    method: 'GET',
    route: '/staff-approval-requests',
    token,
    query: { status: 'pending' },
  });

function expectStatus(what: string, expected: number, got: { statusCode?: number; body?: string }) {
  if (got.statusCode !== expected) {
    throw new Error(`${what}: expected ${expected}, got ${got.statusCode} ${got.body ?? ''}`);
  }
}

/** Loads one copy of the handlers with DATABASE_URL = url (they read it on the first request). */
async function handlerTarget(
  url: string,
  files: { issue: string; verify: string; list: string; history: string },
): Promise<Target> {
  Object.assign(process.env, functionEnv(url));
  const issue = loadHandler(files.issue);
  const verify = loadHandler(files.verify);
  const list = loadHandler(files.list);
  const history = loadHandler(files.history);
  const target: Target = {
    async issue(_userId, token) {
      const r = await issue(issueEvent(token), lambdaContext('issueVerificationCode'));
      expectStatus('handler issue', 201, r);
      return 0;
    },
    async verify(_userId, token) {
      const r = await verify(verifyEvent(token), lambdaContext('verifyVerificationCode'));
      expectStatus('handler verify', 200, r);
      return 0;
    },
    async list(token) {
      const r = await list(listEvent(token), lambdaContext('staffApprovalList'));
      expectStatus('handler list', 200, r);
      return 0;
    },
    async history(token, userId) {
      const r = await history(historyEvent(token, userId), lambdaContext('userEvents'));
      expectStatus('handler history', 200, r);
      return 0;
    },
    async issueKeyed(token, key) {
      const r = await issue(issueEvent(token, key), lambdaContext('issueVerificationCode'));
      expectStatus('handler issue with a key', 201, r);
      return 0;
    },
    async verifyKeyed(token, key) {
      const r = await verify(verifyEvent(token, key), lambdaContext('verifyVerificationCode'));
      expectStatus('handler verify with a key', 200, r);
      return 0;
    },
  };
  // A first request (401, no token) builds each container's context (settings,
  // pool, token verifier) now, while DATABASE_URL still names this database.
  const anonymous = httpEvent({ method: 'POST', route: '/verification/codes', body: {} });
  for (const [name, h] of [
    ['issue', issue],
    ['verify', verify],
    ['list', list],
    ['history', history],
  ] as const) {
    expectStatus(`handler ${name} context`, 401, await h(anonymous, lambdaContext(name)));
  }
  return target;
}

async function floorTarget(url: string): Promise<Target> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const floor = new Floor(client, BENCH_FLOOR_SETTINGS);
  return {
    async issue(_userId, token) {
      expectStatus('floor issue', 201, await floor.issue(issueEvent(token)));
      return 0;
    },
    async verify(_userId, token) {
      expectStatus('floor verify', 200, await floor.verify(verifyEvent(token)));
      return 0;
    },
  };
}

async function main(): Promise<void> {
  const input = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as WorkerInput;
  const admins = {
    small: new pg.Client({ connectionString: input.databases.small }),
    large: new pg.Client({ connectionString: input.databases.large }),
  };
  await admins.small.connect();
  await admins.large.connect();

  const putCode = (admin: pg.Client, userId: number) => putKnownCode(admin, BENCH_PEPPER, userId);

  // Users per role: distinct ranges, so that no two variants share a user's history.
  const USERS = 100;
  const variants = [
    {
      label: 'handler small',
      db: 'small' as const,
      target: await handlerTarget(input.databases.small, input.handlers.small),
      base: 50001,
    },
    {
      label: 'floor small',
      db: 'small' as const,
      target: await floorTarget(input.databases.small),
      base: 50201,
    },
    {
      label: 'handler large',
      db: 'large' as const,
      target: await handlerTarget(input.databases.large, input.handlers.large),
      base: 50401,
    },
    {
      label: 'floor large',
      db: 'large' as const,
      target: await floorTarget(input.databases.large),
      base: 50601,
    },
  ];
  const tokens = new Map<number, string>();
  for (const v of variants) {
    for (let i = 0; i < USERS; i += 1) {
      for (const id of [v.base + i, v.base + 100 + i]) tokens.set(id, await tokenFor(id));
    }
  }
  const staffToken = await tokenFor(1);

  const samples: Record<string, number[]> = {};
  const record = (key: string, value: number) => (samples[key] ??= []).push(value);

  const total = input.warmup + input.iterations;
  for (let i = 0; i < total; i += 1) {
    const measured = i >= input.warmup;
    // Read by bench/run.ts for its progress line.
    if (i % 10 === 0) process.stderr.write(`progress iteration ${i} of ${total}\n`);
    // Rotate the order so that no variant always runs first (or right after another).
    for (let k = 0; k < variants.length; k += 1) {
      const v = variants[(i + k) % variants.length] as (typeof variants)[number];
      const issueUser = v.base + (i % USERS);
      const verifyUser = v.base + 100 + (i % USERS);
      let t = process.hrtime.bigint();
      await v.target.issue(issueUser, tokens.get(issueUser) as string);
      if (measured) record(`issue ${v.label}`, elapsedMs(t));

      await putCode(admins[v.db], verifyUser);
      t = process.hrtime.bigint();
      await v.target.verify(verifyUser, tokens.get(verifyUser) as string);
      if (measured) record(`verify ${v.label}`, elapsedMs(t));

      if (v.target.list) {
        t = process.hrtime.bigint();
        await v.target.list(staffToken);
        if (measured) record(`list ${v.label}`, elapsedMs(t));
      }
      if (v.target.history) {
        // A seeded user's history (users 11.. hold the seeded events).
        t = process.hrtime.bigint();
        await v.target.history(staffToken, 11 + (i % 1000));
        if (measured) record(`history ${v.label}`, elapsedMs(t));
      }
    }
  }

  const result: WorkerResult = { timings: {}, roundTrips: {}, samples: {} };
  for (const [key, values] of Object.entries(samples)) result.timings[key] = summarize(values);
  for (const key of SAMPLED) result.samples[key] = samples[key] ?? [];
  if (input.countSamples > 0) {
    process.stderr.write('progress round trips\n');
    result.roundTrips = await countRoundTrips(input, admins.small, tokens, staffToken);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

/** Round trips, through the counting proxy, on the small database. */
async function countRoundTrips(
  input: WorkerInput,
  admin: pg.Client,
  tokens: Map<number, string>,
  staffToken: string,
): Promise<Record<string, RoundTrips>> {
  const putCode = (userId: number) => putKnownCode(admin, BENCH_PEPPER, userId);
  const small = new URL(input.databases.small);
  const proxy = await startRoundTripProxy({
    host: small.hostname,
    port: Number(small.port || 5432),
  });
  const viaProxy = new URL(small);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  const counted = [
    {
      label: 'handler',
      target: await handlerTarget(viaProxy.toString(), input.handlers.count),
      base: 50801,
    },
    { label: 'floor', target: await floorTarget(viaProxy.toString()), base: 50901 },
  ];
  const trips: Record<string, number[]> = {};
  const reconnects: Record<string, number> = {};
  const count = async (key: string, work: () => Promise<unknown>) => {
    proxy.reset();
    await work();
    if (proxy.connections > 0) reconnects[key] = (reconnects[key] ?? 0) + 1;
    else (trips[key] ??= []).push(proxy.roundTrips);
  };
  for (let i = 0; i < input.countSamples; i += 1) {
    for (const v of counted) {
      const user = v.base + (i % 50);
      const verifyUser = v.base + 50 + (i % 50);
      const token = tokens.get(user) ?? (await tokenFor(user));
      const verifyToken = tokens.get(verifyUser) ?? (await tokenFor(verifyUser));
      await count(`issue ${v.label}`, () => v.target.issue(user, token));
      await putCode(verifyUser);
      await count(`verify ${v.label}`, () => v.target.verify(verifyUser, verifyToken));
      if (v.target.list) await count(`list ${v.label}`, () => v.target.list!(staffToken));
      // The same with an Idempotency-Key (new keys: each request runs).
      if (v.target.issueKeyed && v.target.verifyKeyed) {
        // Users 51101..51200: no other variant uses them.
        const keyedUser = 51101 + (i % 50);
        const keyedVerifyUser = 51151 + (i % 50);
        const keyedToken = tokens.get(keyedUser) ?? (await tokenFor(keyedUser));
        const keyedVerifyToken = tokens.get(keyedVerifyUser) ?? (await tokenFor(keyedVerifyUser));
        await count(`issue keyed ${v.label}`, () =>
          v.target.issueKeyed!(keyedToken, `bench-send-${i}`),
        );
        await putCode(keyedVerifyUser);
        await count(`verify keyed ${v.label}`, () =>
          v.target.verifyKeyed!(keyedVerifyToken, `bench-verify-${i}`),
        );
      }
    }
  }

  const roundTrips: Record<string, RoundTrips> = {};
  for (const key of new Set([...Object.keys(trips), ...Object.keys(reconnects)])) {
    const values = trips[key] ?? [];
    const sorted = [...values].sort((a, b) => a - b);
    roundTrips[key] = {
      median: sorted[Math.floor(sorted.length / 2)] ?? NaN,
      max: sorted[sorted.length - 1] ?? NaN,
      reconnects: reconnects[key] ?? 0,
    };
  }
  return roundTrips;
}

main().catch((err: Error) => {
  console.error(err.stack ?? String(err));
  process.exit(1);
});
