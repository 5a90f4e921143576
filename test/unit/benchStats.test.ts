import { median, medianWithRuns, ratio } from '../../bench/lib/stats';

describe('bench: median of runs', () => {
  it('takes the middle run and shows every run in order', () => {
    const runs = [1.4, 1.19, 1.22];
    expect(median(runs)).toBe(1.22);
    expect(medianWithRuns(runs, ratio)).toBe('1.22× (1.40×, 1.19×, 1.22×)');
  });

  it('lets one wild run show without deciding', () => {
    expect(median([1.2, 3.5, 1.3])).toBe(1.3);
  });
});
