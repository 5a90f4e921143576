/**
 * One caller of the throughput part: a simulated container. A process of its
 * own, so it has its own copy of the send and staff-create bundles (and so its
 * own Sequelize pool: the bundles keep their pool on globalThis, one per
 * process) and its own floor connection. It sends one request at a time, as a
 * Lambda container does, and answers its parent over the IPC channel:
 *   init    → ready     (bundles loaded, floor connected)
 *   prepare → prepared  (the variant, endpoint and users of the next window; the
 *                        first time for these users: tokens signed, a few
 *                        unmeasured requests made)
 *   go      → done      (requests from now until the window's end; counted: those
 *                        that complete inside the window, when every caller runs)
 *   one     → did       (a single request, for the round-trip count)
 * Started with `node --import tsx bench/throughputCaller.ts` by bench/throughput.ts.
 */
import pg from 'pg';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { BENCH_FLOOR_SETTINGS, Floor } from './floor';
import { functionEnv, httpEvent, lambdaContext, tokenFor } from './lib/events';
import { elapsedMs } from './lib/stats';

type Handler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<{ statusCode?: number; body?: string }>;

export type Endpoint = 'send' | 'create';
export type Variant = 'handler' | 'floor';

export type CallerMessage =
  | { type: 'init'; databaseUrl: string; files: Record<Endpoint, string> }
  | {
      type: 'prepare';
      variant: Variant;
      endpoint: Endpoint;
      /** A name for the request types of this caller's staff requests (lowercase). */
      slot: string;
      firstUser: number;
      users: number;
      warmup: number;
    }
  | { type: 'go'; startEpochMs: number; untilEpochMs: number }
  | { type: 'one' }
  | { type: 'exit' };

/** What a caller did in one window: successes that completed inside it, every failure. */
export interface CallerDone {
  type: 'done';
  ok: number;
  failed: number;
  latenciesMs: number[];
  firstFailure?: string;
}

export type CallerReply =
  { type: 'ready' } | { type: 'prepared' } | { type: 'did'; statusCode?: number } | CallerDone;

interface Reply {
  statusCode?: number;
  body?: string;
}

let floor: Floor | undefined;
const handlers: Partial<Record<Endpoint, Handler>> = {};
let call: ((user: number, n: number) => Promise<Reply>) | undefined;
let next: () => number = () => 0;
let counter = 0;
/** Per block of users: their tokens and where the last window left off. */
const blocks = new Map<number, { tokens: string[]; cursor: number }>();
/** Variant, endpoint and block already warmed up. */
const warmed = new Set<string>();

const answer = (reply: CallerReply) => process.send?.(reply);

function loadHandler(file: string): Handler {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { handler: Handler }).handler;
}

async function init(m: Extract<CallerMessage, { type: 'init' }>): Promise<void> {
  // The bundles read their settings on the first request.
  Object.assign(process.env, functionEnv(m.databaseUrl));
  handlers.send = loadHandler(m.files.send);
  handlers.create = loadHandler(m.files.create);
  const client = new pg.Client({ connectionString: m.databaseUrl });
  client.on('error', (err) => {
    console.error(`floor connection: ${err.message}`);
    process.exit(1);
  });
  await client.connect();
  floor = new Floor(client, BENCH_FLOOR_SETTINGS);
}

async function prepare(m: Extract<CallerMessage, { type: 'prepare' }>): Promise<void> {
  let block = blocks.get(m.firstUser);
  if (!block) {
    const tokens: string[] = [];
    for (let i = 0; i < m.users; i += 1) tokens.push(await tokenFor(m.firstUser + i));
    block = { tokens, cursor: 0 };
    blocks.set(m.firstUser, block);
  }
  const b = block;
  next = () => b.cursor++ % b.tokens.length;
  const event = (i: number, n: number): APIGatewayProxyEventV2 =>
    m.endpoint === 'send'
      ? httpEvent({
          method: 'POST',
          route: '/verification/codes',
          token: b.tokens[i],
          body: { channel: 'email' },
        })
      : httpEvent({
          method: 'POST',
          route: '/staff-approval-requests',
          token: b.tokens[i],
          // A new type each time: one pending request per user and type.
          body: { requestType: `tp_${m.slot}_${n}`, details: { reason: 'throughput' } },
        });
  if (m.variant === 'handler') {
    const h = handlers[m.endpoint] as Handler;
    const name = m.endpoint === 'send' ? 'issueVerificationCode' : 'staffApprovalCreate';
    call = (i, n) => h(event(i, n), lambdaContext(name));
  } else {
    const f = floor as Floor;
    call = m.endpoint === 'send' ? (i, n) => f.issue(event(i, n)) : (i, n) => f.create(event(i, n));
  }
  const key = `${m.variant} ${m.endpoint} ${m.firstUser}`;
  for (let k = 0; !warmed.has(key) && k < m.warmup; k += 1) {
    const r = await (call as NonNullable<typeof call>)(next(), (counter += 1));
    if (r.statusCode !== 201) {
      throw new Error(`warm-up ${m.variant} ${m.endpoint}: ${r.statusCode} ${r.body ?? ''}`);
    }
  }
  warmed.add(key);
}

async function go(startEpochMs: number, untilEpochMs: number): Promise<CallerDone> {
  const run = call as NonNullable<typeof call>;
  const latenciesMs: number[] = [];
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  while (Date.now() < untilEpochMs) {
    const t = process.hrtime.bigint();
    let failure: string | undefined;
    try {
      const r = await run(next(), (counter += 1));
      if (r.statusCode !== 201) failure = `HTTP ${r.statusCode} ${r.body ?? ''}`;
    } catch (err) {
      failure = String(err);
    }
    const done = Date.now();
    if (failure !== undefined) {
      // A failure anywhere counts.
      failed += 1;
      firstFailure ??= failure;
    } else if (done >= startEpochMs && done <= untilEpochMs) {
      // Successes count inside the window only: before its start or after its
      // end, some callers may not be running yet, or any longer.
      ok += 1;
      latenciesMs.push(elapsedMs(t));
    }
  }
  return { type: 'done', ok, failed, latenciesMs, ...(firstFailure ? { firstFailure } : {}) };
}

process.on('message', (m: CallerMessage) => {
  const work = async () => {
    switch (m.type) {
      case 'init':
        await init(m);
        return answer({ type: 'ready' });
      case 'prepare':
        await prepare(m);
        return answer({ type: 'prepared' });
      case 'go':
        return answer(await go(m.startEpochMs, m.untilEpochMs));
      case 'one': {
        const r = await (call as NonNullable<typeof call>)(next(), (counter += 1));
        return answer({ type: 'did', statusCode: r.statusCode });
      }
      case 'exit':
        process.exit(0);
    }
  };
  work().catch((err: Error) => {
    console.error(err.stack ?? String(err));
    process.exit(1);
  });
});
