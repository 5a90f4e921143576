import { onceAsync } from '../../lib/once';

describe('onceAsync', () => {
  it('builds once and shares the value between concurrent and later callers', async () => {
    let builds = 0;
    const get = onceAsync(async () => ({ n: ++builds }));
    const [a, b] = await Promise.all([get(), get()]);
    expect(a).toBe(b);
    expect(await get()).toBe(a);
    expect(builds).toBe(1);
  });

  it('does not keep a failed build: the next call tries again', async () => {
    let builds = 0;
    const get = onceAsync(async () => {
      builds += 1;
      if (builds === 1) throw new Error('secret store unreachable');
      return 'ready';
    });
    await expect(get()).rejects.toThrow('secret store unreachable');
    await expect(get()).resolves.toBe('ready');
    expect(builds).toBe(2);
  });
});
