import {
  codeMatches,
  generateCode,
  hashCode,
  HOUR_MS,
  isWellFormedCode,
  nextSendAfterSend,
  nextSendAllowedAt,
  retryAfterSeconds,
} from '../../lib/verification/codes';

const binding = { id: 'a1', userId: 7, channel: 'email' as const, destination: 'j@example.com' };
const limits = { sendCooldownSeconds: 30, maxSendsPerHour: 5, maxSendsPerDestinationPerHour: 10 };
const NOW = 10 * HOUR_MS;

describe('codes', () => {
  it('generates digits of the configured length, leading zeros included', () => {
    for (const length of [4, 6, 10]) {
      const codes = Array.from({ length: 300 }, () => generateCode(length));
      expect(codes.every((c) => new RegExp(`^\\d{${length}}$`).test(c))).toBe(true);
    }
    // With 4 digits, about 10% of codes start with 0; 1000 draws without one is ~1e-46.
    expect(Array.from({ length: 1000 }, () => generateCode(4)).some((c) => c[0] === '0')).toBe(
      true,
    );
  });

  it('hashes with the pepper, bound to the row, user, channel and destination', () => {
    const h = hashCode('pepper-0123456789', binding, '123456');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(codeMatches('pepper-0123456789', binding, '123456', h)).toBe(true);
    expect(codeMatches('pepper-0123456789', binding, '123457', h)).toBe(false);
    expect(codeMatches('other-pepper-0123456789', binding, '123456', h)).toBe(false);
    for (const changed of [
      { id: 'a2' },
      { userId: 8 },
      { channel: 'phone' as const },
      { destination: 'k@example.com' },
    ]) {
      expect(codeMatches('pepper-0123456789', { ...binding, ...changed }, '123456', h)).toBe(false);
    }
    expect(codeMatches('pepper-0123456789', binding, '123456', 'short')).toBe(false);
  });

  it('accepts only ASCII digits of the exact length', () => {
    expect(isWellFormedCode('012345', 6)).toBe(true);
    for (const bad of ['12345', '1234567', '12345a', '١٢٣٤٥٦', '12 345', '']) {
      expect(isWellFormedCode(bad, 6)).toBe(false);
    }
  });
});

describe('nextSendAllowedAt', () => {
  it('allows a first send now', () => {
    expect(nextSendAllowedAt(NOW, [], [], limits)).toEqual({ at: NOW, reason: undefined });
  });

  it('waits out the cooldown after the last send', () => {
    expect(nextSendAllowedAt(NOW, [NOW - 10_000], [NOW - 10_000], limits)).toEqual({
      at: NOW + 20_000,
      reason: 'cooldown',
    });
    expect(nextSendAllowedAt(NOW, [NOW - 30_000], [], limits).at).toBe(NOW);
  });

  it('frees the hourly cap when the oldest counted send is an hour old', () => {
    const times = [50, 40, 30, 20, 10].map((m) => NOW - m * 60_000);
    expect(nextSendAllowedAt(NOW, times, [], limits)).toEqual({
      at: NOW + 10 * 60_000,
      reason: 'hourly_limit',
    });
    // Over the cap (a lowered setting): enough sends must age out to get below it.
    const seven = [55, 50, 40, 30, 20, 10, 5].map((m) => NOW - m * 60_000);
    expect(nextSendAllowedAt(NOW, seven, [], limits).at).toBe(NOW + 20 * 60_000);
  });

  it('frees the destination cap likewise, and reports the latest limit', () => {
    const dest = Array.from({ length: 10 }, (_, i) => NOW - (59 - i) * 60_000);
    expect(nextSendAllowedAt(NOW, [NOW - 5_000], dest, limits)).toEqual({
      at: NOW + 60_000,
      reason: 'destination_hourly_limit',
    });
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    expect(retryAfterSeconds(0, 1)).toBe(1);
    expect(retryAfterSeconds(0, 1000)).toBe(1);
    expect(retryAfterSeconds(0, 1001)).toBe(2);
    expect(retryAfterSeconds(5, 5)).toBe(1);
  });
});

describe('nextSendAfterSend', () => {
  /** Ascending send times within the last hour before NOW, `count` of them. */
  const window = (count: number, seed: number) =>
    Array.from(
      { length: count },
      (_, i) => NOW - HOUR_MS + 1 + ((seed * 7919 + i * 104729) % 3_000_000),
    ).sort((a, b) => a - b);

  it('agrees with nextSendAllowedAt over the whole window, for every allowed send', () => {
    const cases = [
      { sendCooldownSeconds: 0, maxSendsPerHour: 1, maxSendsPerDestinationPerHour: 1 },
      { sendCooldownSeconds: 30, maxSendsPerHour: 5, maxSendsPerDestinationPerHour: 10 },
      { sendCooldownSeconds: 600, maxSendsPerHour: 3, maxSendsPerDestinationPerHour: 2 },
    ];
    let compared = 0;
    for (const l of cases) {
      // Allowed sends only: below each cap before the send.
      for (let u = 0; u < l.maxSendsPerHour; u += 1) {
        for (let d = 0; d < l.maxSendsPerDestinationPerHour; d += 1) {
          const userTimes = window(u, u + 1);
          const destinationTimes = window(d, d + 17);
          const whole = nextSendAllowedAt(NOW, [...userTimes, NOW], [...destinationTimes, NOW], l);
          const ends = (times: number[]) => ({ count: times.length, oldest: times[0] ?? null });
          expect(nextSendAfterSend(NOW, ends(userTimes), ends(destinationTimes), l)).toBe(whole.at);
          compared += 1;
        }
      }
    }
    expect(compared).toBe(1 + 50 + 6);
  });

  it('is the oldest send plus an hour once the send fills the window, else the cooldown', () => {
    const l = { sendCooldownSeconds: 30, maxSendsPerHour: 3, maxSendsPerDestinationPerHour: 10 };
    const oldest = NOW - 50 * 60_000;
    expect(nextSendAfterSend(NOW, { count: 2, oldest }, { count: 0, oldest: null }, l)).toBe(
      oldest + HOUR_MS,
    );
    expect(nextSendAfterSend(NOW, { count: 1, oldest }, { count: 0, oldest: null }, l)).toBe(
      NOW + 30_000,
    );
  });
});
