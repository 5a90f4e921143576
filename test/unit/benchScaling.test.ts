import {
  alternation,
  blockKey,
  compareScaling,
  requestsPerSecond,
  userBlocks,
  usersNeeded,
} from '../../bench/lib/scaling';

describe('bench: throughput arithmetic', () => {
  it('divides the successes of all windows by their total time', () => {
    expect(
      requestsPerSecond([
        { ok: 500, windowMs: 1000 },
        { ok: 700, windowMs: 1000 },
        { ok: 0, windowMs: 500 },
      ]),
    ).toBeCloseTo(480);
    expect(requestsPerSecond([])).toBeNaN();
  });

  it('compares the handler with the floor at each level and in its gain', () => {
    const v = compareScaling(
      new Map([
        [1, 400],
        [4, 800],
        [16, 880],
      ]),
      new Map([
        [16, 1100],
        [1, 500],
        [4, 1000],
      ]),
    );
    expect(v.ratios.get(1)).toBeCloseTo(0.8);
    expect(v.ratios.get(16)).toBeCloseTo(0.8);
    expect(v.handlerGain).toBeCloseTo(2.2);
    expect(v.floorGain).toBeCloseTo(2.2);
    expect(v.relativeGain).toBeCloseTo(1);
  });

  it('shows a handler that stops scaling (a hidden lock) as a low relative gain', () => {
    const flat = new Map([
      [1, 400],
      [16, 400],
    ]);
    const scaling = new Map([
      [1, 500],
      [16, 1000],
    ]);
    expect(compareScaling(flat, scaling).relativeGain).toBeCloseTo(0.5);
  });

  it('refuses when no level was measured for both', () => {
    expect(() => compareScaling(new Map([[1, 1]]), new Map([[4, 1]]))).toThrow(/no level/);
  });

  it('alternates the windows a, b, b, a, with as many of each', () => {
    expect(alternation('h', 'f', 2)).toEqual(['h', 'f', 'f', 'h']);
    const order = alternation('h', 'f', 5);
    expect(order.join('')).toBe('hffhhffhhf');
    expect(order.filter((v) => v === 'h')).toHaveLength(5);
  });

  it('gives every caller of every variant and level a block of users of its own', () => {
    const levels = [1, 4, 16];
    const blocks = userBlocks(11, 100, ['handler', 'floor'], levels);
    expect(blocks.size).toBe(42);
    expect(usersNeeded(100, 2, levels)).toBe(4200);
    const starts = [...blocks.values()].sort((a, b) => a - b);
    expect(starts[0]).toBe(11);
    expect(starts.at(-1)).toBe(11 + 4100);
    for (let i = 1; i < starts.length; i += 1) {
      expect((starts[i] as number) - (starts[i - 1] as number)).toBe(100);
    }
    expect(blocks.get(blockKey('floor', 16, 15))).toBe(11 + 4100);
  });
});
