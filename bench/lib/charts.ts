/**
 * The benchmark's charts as Vega-Lite specifications, built from the figures
 * of a run (pure functions; bench/lib/svg.ts renders them).
 */
// vega-lite's types are reached by their file: the project resolves modules the
// CommonJS way, which does not read the package's `exports`.
import type { TopLevelSpec } from 'vega-lite/build/index';
import { percentile } from './stats';

const WIDTH = 300;
const HEIGHT = 220;
const VARIANT_COLORS = { domain: ['handler', 'floor'], range: ['#d95f02', '#1b9e77'] };

/** A chart's subtitle: one line, or several. */
export type Subtitle = string | string[];

/** Distinct values in their first order, for sorting panels and bars as given. */
const inOrder = (values: readonly string[]) => [...new Set(values)];

export interface LatencySeries {
  /** Facet: the endpoint, e.g. "POST /verification/codes". */
  endpoint: string;
  /** Colour: "handler" or "floor". */
  variant: string;
  valuesMs: readonly number[];
}

/**
 * Each series as its distribution function: the latency at each percentile
 * from 0 to 100 in steps of `step` (nearest rank, as the table's p50 and p95).
 */
export function quantileCurve(
  valuesMs: readonly number[],
  step = 0.5,
): { percentile: number; ms: number }[] {
  if (valuesMs.length === 0) return [];
  const points: { percentile: number; ms: number }[] = [];
  for (let i = 0; i * step <= 100; i += 1) {
    const p = Math.min(100, i * step);
    points.push({ percentile: p, ms: percentile(valuesMs, p) });
  }
  return points;
}

/** Latency distributions of handler and floor, one panel per endpoint. */
export function latencyChart(series: readonly LatencySeries[], subtitle: Subtitle): TopLevelSpec {
  const values = series.flatMap((s) =>
    quantileCurve(s.valuesMs).map((p) => ({ endpoint: s.endpoint, variant: s.variant, ...p })),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Latency of one request: handler and floor', subtitle, anchor: 'start' },
    data: { values },
    facet: {
      column: {
        field: 'endpoint',
        type: 'nominal',
        title: null,
        sort: inOrder(series.map((s) => s.endpoint)),
      },
    },
    spec: {
      width: WIDTH,
      height: HEIGHT,
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: {
          field: 'ms',
          type: 'quantitative',
          scale: { type: 'log' },
          title: 'latency (ms, log scale)',
        },
        y: { field: 'percentile', type: 'quantitative', title: 'requests at or below (%)' },
        color: { field: 'variant', type: 'nominal', scale: VARIANT_COLORS, title: null },
      },
    },
  };
}

export interface ThroughputPoint {
  endpoint: string;
  variant: string;
  callers: number;
  rps: number;
}

/** Requests per second against the number of callers, handler and floor, one panel per endpoint. */
export function throughputChart(
  points: readonly ThroughputPoint[],
  subtitle: Subtitle,
): TopLevelSpec {
  const callers = [...new Set(points.map((p) => p.callers))].sort((a, b) => a - b);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Throughput against concurrent callers', subtitle, anchor: 'start' },
    data: { values: points.map((p) => ({ ...p })) },
    facet: {
      column: {
        field: 'endpoint',
        type: 'nominal',
        title: null,
        sort: inOrder(points.map((p) => p.endpoint)),
      },
    },
    spec: {
      width: WIDTH,
      height: HEIGHT,
      layer: [{ mark: { type: 'line' } }, { mark: { type: 'point', filled: true, size: 50 } }],
      encoding: {
        x: {
          field: 'callers',
          type: 'quantitative',
          scale: { type: 'log', base: 2, domain: [callers[0] ?? 1, callers.at(-1) ?? 1] },
          axis: { values: callers, format: 'd' },
          title: 'callers (processes, each its own pool)',
        },
        y: { field: 'rps', type: 'quantitative', title: 'requests per second' },
        color: { field: 'variant', type: 'nominal', scale: VARIANT_COLORS, title: null },
      },
    },
  };
}

export interface GrowthPoint {
  endpoint: string;
  /** "small" or "large" (with the row counts in the subtitle). */
  size: string;
  p50Ms: number;
}

/** The handler's p50 on the small and the large database, per endpoint. */
export function growthChart(points: readonly GrowthPoint[], subtitle: Subtitle): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Handler p50 as the tables grow', subtitle, anchor: 'start' },
    width: 2 * WIDTH,
    height: HEIGHT,
    data: { values: points.map((p) => ({ ...p })) },
    mark: { type: 'bar' },
    encoding: {
      x: {
        field: 'endpoint',
        type: 'nominal',
        title: null,
        sort: inOrder(points.map((p) => p.endpoint)),
        axis: { labelAngle: 0 },
      },
      xOffset: { field: 'size', type: 'nominal', sort: ['small', 'large'] },
      y: { field: 'p50Ms', type: 'quantitative', title: 'p50 (ms)' },
      color: {
        field: 'size',
        type: 'nominal',
        sort: ['small', 'large'],
        scale: { range: ['#7570b3', '#e7298a'] },
        title: 'database',
      },
    },
  };
}

export interface StallSeries {
  /** e.g. "migration 2 on 1000000 users". */
  title: string;
  /** The writer's statements: start (ms from the start of the migrate process) and duration. */
  statements: readonly { atMs: number; ms: number }[];
  /** When the migrate process ended (ms from its start). */
  migrateEndMs: number;
  /** The longest stall allowed, drawn as a line. */
  targetMs: number;
}

/**
 * The live writer's statement times around each migration (log scale, so the
 * usual milliseconds and the target both show), with the migrate process's
 * start and end.
 */
export function stallChart(series: readonly StallSeries[], subtitle: Subtitle): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: "The writer's statements during a live migration", subtitle, anchor: 'start' },
    vconcat: series.map((s) => ({
      title: s.title,
      width: 2 * WIDTH,
      height: HEIGHT,
      layer: [
        {
          data: { values: s.statements.map((p) => ({ ...p })) },
          mark: { type: 'line', strokeWidth: 1, color: '#1b9e77' },
          encoding: {
            x: {
              field: 'atMs',
              type: 'quantitative',
              title: 'ms from the start of the migrate process',
            },
            y: {
              field: 'ms',
              type: 'quantitative',
              scale: { type: 'log' },
              title: 'statement time (ms, log scale)',
            },
          },
        },
        {
          data: {
            values: [
              { atMs: 0, label: 'migrate starts' },
              { atMs: s.migrateEndMs, label: 'migrate ends' },
            ],
          },
          layer: [
            {
              mark: { type: 'rule', strokeDash: [4, 3], color: '#666' },
              encoding: { x: { field: 'atMs', type: 'quantitative' } },
            },
            {
              mark: { type: 'text', align: 'left', baseline: 'top', dx: 3, y: 2, color: '#666' },
              encoding: { x: { field: 'atMs', type: 'quantitative' }, text: { field: 'label' } },
            },
          ],
        },
        {
          data: { values: [{ ms: s.targetMs, label: `target: under ${s.targetMs} ms` }] },
          layer: [
            {
              mark: { type: 'rule', color: '#d95f02' },
              encoding: { y: { field: 'ms', type: 'quantitative' } },
            },
            {
              mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#d95f02' },
              encoding: {
                y: { field: 'ms', type: 'quantitative' },
                x: { datum: 0, type: 'quantitative' },
                text: { field: 'label' },
              },
            },
          ],
        },
      ],
    })),
  };
}
