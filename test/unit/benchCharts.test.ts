import {
  growthChart,
  latencyChart,
  quantileCurve,
  stallChart,
  throughputChart,
} from '../../bench/lib/charts';

/** The inline data of a spec (or of one layer). */
const valuesOf = (spec: unknown): Record<string, unknown>[] =>
  (spec as { data: { values: Record<string, unknown>[] } }).data.values;

describe('bench charts', () => {
  it('draws a distribution as the latency at each percentile (nearest rank)', () => {
    const curve = quantileCurve([5, 1, 4, 2, 3], 25);
    expect(curve).toEqual([
      { percentile: 0, ms: 1 },
      { percentile: 25, ms: 2 },
      { percentile: 50, ms: 3 },
      { percentile: 75, ms: 4 },
      { percentile: 100, ms: 5 },
    ]);
    expect(quantileCurve([])).toEqual([]);
    expect(quantileCurve([1, 2, 3])).toHaveLength(201);
  });

  it('puts each endpoint in a panel, handler and floor in colour, in the order given', () => {
    const spec = latencyChart(
      [
        { endpoint: 'POST /verification/codes', variant: 'handler', valuesMs: [2, 3] },
        { endpoint: 'POST /verification/codes', variant: 'floor', valuesMs: [1, 2] },
        { endpoint: 'POST /verification/verify', variant: 'handler', valuesMs: [2] },
      ],
      'subtitle',
    ) as unknown as { facet: unknown };
    const values = valuesOf(spec);
    expect(values).toHaveLength(3 * 201);
    expect(values[0]).toEqual({
      endpoint: 'POST /verification/codes',
      variant: 'handler',
      percentile: 0,
      ms: 2,
    });
    expect(spec.facet).toMatchObject({
      column: {
        field: 'endpoint',
        sort: ['POST /verification/codes', 'POST /verification/verify'],
      },
    });
  });

  it('plots requests per second against callers with exactly the measured levels on the axis', () => {
    const points = [1, 4, 16].flatMap((callers) => [
      { endpoint: 'send', variant: 'handler', callers, rps: 100 * callers },
      { endpoint: 'send', variant: 'floor', callers, rps: 120 * callers },
    ]);
    const spec = throughputChart(points, 's') as { spec: { encoding: { x: unknown } } };
    expect(valuesOf(spec)).toHaveLength(6);
    expect(spec.spec.encoding.x).toMatchObject({
      field: 'callers',
      scale: { type: 'log', base: 2, domain: [1, 16] },
      axis: { values: [1, 4, 16] },
    });
  });

  it('groups the small and large p50 of each endpoint', () => {
    const spec = growthChart(
      [
        { endpoint: 'send', size: 'small', p50Ms: 1.9 },
        { endpoint: 'send', size: 'large', p50Ms: 2 },
        { endpoint: 'history', size: 'small', p50Ms: 1.2 },
        { endpoint: 'history', size: 'large', p50Ms: 1.3 },
      ],
      's',
    ) as { encoding: { x: { sort: string[] }; xOffset: { field: string } } };
    expect(spec.encoding.x.sort).toEqual(['send', 'history']);
    expect(spec.encoding.xOffset.field).toBe('size');
  });

  it('draws one panel per migration with the writer, the migrate process and the target', () => {
    const spec = stallChart(
      [
        {
          title: 'migration 2',
          statements: [
            { atMs: -10, ms: 1 },
            { atMs: 5, ms: 12 },
          ],
          migrateEndMs: 700,
          targetMs: 200,
        },
        { title: 'migration 3', statements: [], migrateEndMs: 900, targetMs: 200 },
      ],
      's',
    ) as { vconcat: { title: string; layer: unknown[] }[] };
    expect(spec.vconcat.map((p) => p.title)).toEqual(['migration 2', 'migration 3']);
    const [writer, window, target] = (spec.vconcat[0] as { layer: unknown[] }).layer;
    expect(valuesOf(writer)).toEqual([
      { atMs: -10, ms: 1 },
      { atMs: 5, ms: 12 },
    ]);
    expect(valuesOf(window).map((v) => v.atMs)).toEqual([0, 700]);
    expect(valuesOf(target)[0]).toMatchObject({ ms: 200 });
  });
});
