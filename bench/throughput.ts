/**
 * Throughput with more callers: 1, 4 and 16 simulated containers (processes of
 * bench/throughputCaller.ts, each with its own bundle copies, pool, floor
 * connection and users) send requests one after another against the same
 * PostgreSQL, through the bundled handler and through the floor in short
 * alternating windows (handler, floor, floor, handler, ...), so that the load
 * of the machine, which drifts and comes in bursts, weighs on both alike.
 */
import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './lib/bundles';
import { startRoundTripProxy } from './lib/roundTripProxy';
import { alternation, blockKey, requestsPerSecond, userBlocks } from './lib/scaling';
import { percentile } from './lib/stats';
import type { CallerDone, CallerMessage, CallerReply, Endpoint, Variant } from './throughputCaller';

export interface ThroughputOptions {
  databaseUrl: string;
  /** Unzipped handler files of issueVerificationCode and staffApprovalCreate. */
  files: Record<Endpoint, string>;
  endpoints: readonly Endpoint[];
  levels: readonly number[];
  /** Measured time per variant and level, in `windows` alternating windows. */
  windowMs: number;
  windows: number;
  firstUser: number;
  usersPerCaller: number;
  /** Unmeasured requests of each caller before each window. */
  warmup: number;
  onProgress?: (detail: string) => void;
}

export interface ThroughputResult {
  levels: LevelResult[];
  /** Round trips of one request ("send handler", "create floor", ...): the most seen. */
  roundTrips: Record<string, number>;
}

export interface LevelResult {
  endpoint: Endpoint;
  variant: Variant;
  callers: number;
  /** Requests per second: successes inside the windows over their total time. */
  rps: number;
  ok: number;
  failed: number;
  firstFailure?: string;
  p50Ms: number;
  p95Ms: number;
}

const VARIANTS: readonly Variant[] = ['handler', 'floor'];
/** From `go` to the start of counting: every caller has started by then. */
const START_LEAD_MS = 50;

/** A caller process and a way to wait for its next answer. */
class Caller {
  private readonly waiting: ((reply: CallerReply) => void)[] = [];
  private failure: Error | undefined;
  private stderr = '';

  constructor(
    readonly index: number,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (reply: CallerReply) => this.waiting.shift()?.(reply));
    child.stderr?.on('data', (d) => (this.stderr += d));
    child.on('exit', (code) => {
      if (code !== 0) this.failure = new Error(`caller ${index} exited ${code}: ${this.stderr}`);
      for (const w of this.waiting.splice(0)) w({ type: 'ready' });
    });
  }

  async ask<R extends CallerReply>(message: CallerMessage, expect: R['type']): Promise<R> {
    if (this.failure) throw this.failure;
    const reply = new Promise<CallerReply>((resolve) => this.waiting.push(resolve));
    this.child.send(message);
    const r = await reply;
    if (this.failure) throw this.failure;
    if (r.type !== expect) throw new Error(`caller ${this.index}: ${r.type}, not ${expect}`);
    return r as R;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.send({ type: 'exit' } satisfies CallerMessage);
    });
  }
}

const startCaller = (index: number) =>
  new Caller(
    index,
    fork(path.join(ROOT, 'bench', 'throughputCaller.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    }),
  );

export async function measureThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  o.onProgress?.('round trips of one request');
  const roundTrips = await countRoundTrips(o);
  const most = Math.max(...o.levels);
  const callers: Caller[] = [];
  try {
    for (let i = 0; i < most; i += 1) callers.push(startCaller(i));
    o.onProgress?.(`starting ${most} caller processes`);
    await Promise.all(
      callers.map((c) =>
        c.ask({ type: 'init', databaseUrl: o.databaseUrl, files: o.files }, 'ready'),
      ),
    );

    const blocks = userBlocks(o.firstUser, o.usersPerCaller, VARIANTS, o.levels);
    const results: LevelResult[] = [];
    for (const endpoint of o.endpoints) {
      for (const level of o.levels) {
        const done = new Map<Variant, { windowMs: number; callers: CallerDone[] }[]>();
        const order = alternation<Variant>('handler', 'floor', o.windows);
        const each = o.windowMs / o.windows;
        for (const [w, variant] of order.entries()) {
          o.onProgress?.(
            `${endpoint}, ${level} caller${level === 1 ? '' : 's'}: window ${w + 1} of ${order.length} (${variant})`,
          );
          const active = callers.slice(0, level);
          await Promise.all(
            active.map((c) =>
              c.ask(
                {
                  type: 'prepare',
                  variant,
                  endpoint,
                  slot: `${variant[0]}${level}_${c.index}`,
                  firstUser: blocks.get(blockKey(variant, level, c.index)) as number,
                  users: o.usersPerCaller,
                  warmup: o.warmup,
                },
                'prepared',
              ),
            ),
          );
          // Every caller starts on `go`; counting starts a moment later, when all run.
          const startEpochMs = Date.now() + START_LEAD_MS;
          const untilEpochMs = startEpochMs + each;
          const counts = await Promise.all(
            active.map((c) =>
              c.ask<CallerDone>({ type: 'go', startEpochMs, untilEpochMs }, 'done'),
            ),
          );
          done.set(variant, [...(done.get(variant) ?? []), { windowMs: each, callers: counts }]);
        }
        for (const variant of VARIANTS) {
          const windows = done.get(variant) ?? [];
          const all = windows.flatMap((w) => w.callers);
          const latencies = all.flatMap((d) => d.latenciesMs);
          const failure = all.find((d) => d.firstFailure)?.firstFailure;
          results.push({
            endpoint,
            variant,
            callers: level,
            rps: requestsPerSecond(
              windows.map((w) => ({
                ok: w.callers.reduce((n, d) => n + d.ok, 0),
                windowMs: w.windowMs,
              })),
            ),
            ok: all.reduce((n, d) => n + d.ok, 0),
            failed: all.reduce((n, d) => n + d.failed, 0),
            ...(failure ? { firstFailure: failure } : {}),
            p50Ms: percentile(latencies, 50),
            p95Ms: percentile(latencies, 95),
          });
        }
      }
    }
    return { levels: results, roundTrips };
  } finally {
    await Promise.all(callers.map((c) => c.stop()));
  }
}

/**
 * Round trips of one request of each endpoint and variant, counted by the
 * proxy (bench/lib/roundTripProxy.ts) in front of a caller of its own; requests
 * that opened a connection are not counted. The users are the first 20 of
 * the first block: a few more sends and requests for them change nothing.
 */
async function countRoundTrips(o: ThroughputOptions): Promise<Record<string, number>> {
  const url = new URL(o.databaseUrl);
  const proxy = await startRoundTripProxy({ host: url.hostname, port: Number(url.port || 5432) });
  const via = new URL(url);
  via.host = `127.0.0.1:${proxy.port}`;
  const caller = startCaller(-1);
  const counts: Record<string, number> = {};
  try {
    await caller.ask({ type: 'init', databaseUrl: via.toString(), files: o.files }, 'ready');
    let firstUser = o.firstUser;
    for (const endpoint of o.endpoints) {
      for (const variant of VARIANTS) {
        await caller.ask(
          {
            type: 'prepare',
            variant,
            endpoint,
            slot: `count_${variant}`,
            firstUser,
            users: 5,
            warmup: 2,
          },
          'prepared',
        );
        for (let k = 0; k < 5; k += 1) {
          proxy.reset();
          const did = await caller.ask<{ type: 'did'; statusCode?: number }>(
            { type: 'one' },
            'did',
          );
          if (did.statusCode !== 201) {
            throw new Error(`round trips: ${variant} ${endpoint} answered ${did.statusCode}`);
          }
          const key = `${endpoint} ${variant}`;
          if (proxy.connections === 0) counts[key] = Math.max(counts[key] ?? 0, proxy.roundTrips);
        }
        firstUser += 5;
      }
    }
    return counts;
  } finally {
    await caller.stop();
    await proxy.close();
  }
}
