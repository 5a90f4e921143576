/**
 * Arithmetic of the throughput part, kept apart from the processes that
 * measure it (and unit-tested).
 */

/** The successes of all callers in one measured window, and its length. */
export interface WindowCount {
  ok: number;
  windowMs: number;
}

/**
 * Requests per second over a variant's windows: every success that completed
 * inside a window (when all callers ran) over the windows' total time.
 */
export function requestsPerSecond(windows: readonly WindowCount[]): number {
  const ms = windows.reduce((sum, w) => sum + w.windowMs, 0);
  return ms > 0 ? (windows.reduce((sum, w) => sum + w.ok, 0) * 1000) / ms : NaN;
}

/** Requests per second at each number of callers. */
export type Rates = ReadonlyMap<number, number>;

export interface ScalingVerdict {
  /** Handler requests per second over the floor's, at each level. */
  ratios: Map<number, number>;
  /** Throughput at the most callers over throughput at the fewest. */
  handlerGain: number;
  floorGain: number;
  /** handlerGain / floorGain: below 1 when the handler scales worse than the floor. */
  relativeGain: number;
}

/** Compares the handler with the floor level by level, and their gains from the fewest to the most callers. */
export function compareScaling(handler: Rates, floor: Rates): ScalingVerdict {
  const levels = [...handler.keys()].filter((l) => floor.has(l)).sort((a, b) => a - b);
  const first = levels[0];
  const last = levels[levels.length - 1];
  if (first === undefined || last === undefined) throw new Error('no level measured for both');
  const at = (rates: Rates, level: number) => rates.get(level) as number;
  const ratios = new Map(levels.map((l) => [l, at(handler, l) / at(floor, l)] as const));
  const handlerGain = at(handler, last) / at(handler, first);
  const floorGain = at(floor, last) / at(floor, first);
  return { ratios, handlerGain, floorGain, relativeGain: handlerGain / floorGain };
}

/**
 * The order of `perVariant` windows of each of two variants: a, b, b, a,
 * repeated (a, b, b, a, a, b, b, a, ...), so that a load drifting during the
 * level weighs on both alike, and a burst of load lands on both in turn.
 */
export function alternation<T>(a: T, b: T, perVariant: number): T[] {
  const order: T[] = [];
  for (let i = 0; i < 2 * perVariant; i += 1) order.push(i % 4 === 0 || i % 4 === 3 ? a : b);
  return order;
}

/**
 * The user ids of each caller: consecutive blocks of `perCaller` from `first`,
 * one block per (variant, level, caller), so no two callers share a user.
 */
export function userBlocks(
  first: number,
  perCaller: number,
  variants: readonly string[],
  levels: readonly number[],
): Map<string, number> {
  const blocks = new Map<string, number>();
  let next = first;
  for (const v of variants) {
    for (const level of levels) {
      for (let i = 0; i < level; i += 1) {
        blocks.set(blockKey(v, level, i), next);
        next += perCaller;
      }
    }
  }
  return blocks;
}

export const blockKey = (variant: string, level: number, caller: number) =>
  `${variant}/${level}/${caller}`;

/** How many users `userBlocks` needs. */
export const usersNeeded = (perCaller: number, variants: number, levels: readonly number[]) =>
  perCaller * variants * levels.reduce((a, b) => a + b, 0);
