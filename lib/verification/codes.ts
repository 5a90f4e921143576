import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';
import type { Channel } from '../../models/verification';

/** A numeric code of `length` digits from the CSPRNG (leading zeros count). */
export function generateCode(length: number): string {
  return String(randomInt(0, 10 ** length)).padStart(length, '0');
}

export interface CodeBinding {
  /** The verification_codes row id. */
  id: string;
  userId: number;
  channel: Channel;
  destination: string;
}

/**
 * HMAC-SHA256 of the code, bound to its row, user, channel and destination, so a
 * hash copied to another row (or a guessed code for another user) never matches.
 */
export function hashCode(pepper: string, binding: CodeBinding, code: string): string {
  const message = ['v1', binding.id, binding.userId, binding.channel, binding.destination, code];
  return createHmac('sha256', pepper).update(message.join('\n')).digest('hex');
}

/** Constant-time comparison of a submitted code with the stored hash. */
export function codeMatches(
  pepper: string,
  binding: CodeBinding,
  code: string,
  storedHash: string,
): boolean {
  const expected = Buffer.from(storedHash, 'utf8');
  const actual = Buffer.from(hashCode(pepper, binding, code), 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function isWellFormedCode(code: string, length: number): boolean {
  return code.length === length && /^[0-9]+$/.test(code);
}

export interface SendLimits {
  sendCooldownSeconds: number;
  maxSendsPerHour: number;
  maxSendsPerDestinationPerHour: number;
}

export type LimitReason = 'cooldown' | 'hourly_limit' | 'destination_hourly_limit';

export const HOUR_MS = 60 * 60 * 1000;

/**
 * When the next send is allowed, given the send times (epoch ms, ascending, all
 * within the last hour) for the user and channel and for the destination. The
 * hourly caps are sliding windows: a send counts until an hour after it was made.
 * Returns the latest of the times at which each limit frees up, and which limit
 * that is; `at <= now` means a send is allowed now.
 */
export function nextSendAllowedAt(
  now: number,
  userTimes: readonly number[],
  destinationTimes: readonly number[],
  limits: SendLimits,
): { at: number; reason: LimitReason | undefined } {
  let at = now;
  let reason: LimitReason | undefined;
  const consider = (candidate: number, why: LimitReason) => {
    if (candidate > at) {
      at = candidate;
      reason = why;
    }
  };
  const last = userTimes[userTimes.length - 1];
  if (last !== undefined) consider(last + limits.sendCooldownSeconds * 1000, 'cooldown');
  // With n sends in the window and a cap of m, the (n - m + 1)-th oldest must age out.
  const userExcess = userTimes.length - limits.maxSendsPerHour;
  if (userExcess >= 0) consider((userTimes[userExcess] as number) + HOUR_MS, 'hourly_limit');
  const destExcess = destinationTimes.length - limits.maxSendsPerDestinationPerHour;
  if (destExcess >= 0) {
    consider((destinationTimes[destExcess] as number) + HOUR_MS, 'destination_hourly_limit');
  }
  return { at, reason };
}

/** A sliding window before a send: how many sends it holds and the oldest (epoch ms; null when empty). */
export interface WindowBefore {
  count: number;
  oldest: number | null;
}

/**
 * `nextSendAllowedAt(now, [...userTimes, now], [...destinationTimes, now])`
 * right after an allowed send made at `now`, from each window's count and
 * oldest send alone. A send is allowed only below each cap (n < m), so after
 * it a window holds at most m sends, and only when it holds exactly m does
 * its oldest decide anything: the rest of the times are never read.
 */
export function nextSendAfterSend(
  now: number,
  user: WindowBefore,
  destination: WindowBefore,
  limits: SendLimits,
): number {
  let at = Math.max(now, now + limits.sendCooldownSeconds * 1000);
  const freedAt = (w: WindowBefore, cap: number) =>
    w.count + 1 >= cap ? (w.count === 0 || w.oldest === null ? now : w.oldest) + HOUR_MS : now;
  at = Math.max(at, freedAt(user, limits.maxSendsPerHour));
  at = Math.max(at, freedAt(destination, limits.maxSendsPerDestinationPerHour));
  return at;
}

/** Whole seconds until `at`, at least 1 (a Retry-After of 0 invites a busy loop). */
export function retryAfterSeconds(now: number, at: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}

export const DAY_MS = 24 * HOUR_MS;

/** A code that took wrong tries: when it stops counting toward the daily cap, and how many. */
export interface FailedAttempts {
  /** ms epoch: the code's expiry plus 24 hours (no try on it is later than its expiry). */
  until: number;
  attempts: number;
}

/**
 * When the daily cap of wrong codes (for one user and channel) lifts, or
 * undefined when it does not hold now: the moment enough of the oldest
 * failures have aged out of the last 24 hours to leave fewer than `max`.
 */
export function failedAttemptsLockedUntil(
  failures: readonly FailedAttempts[],
  max: number,
): number | undefined {
  let total = failures.reduce((sum, f) => sum + f.attempts, 0);
  if (total < max) return undefined;
  for (const f of [...failures].sort((a, b) => a.until - b.until)) {
    total -= f.attempts;
    if (total < max) return f.until;
  }
  return undefined;
}

/**
 * The address as limits compare it and codes are bound to it: emails
 * lowercased (`Carol@Example.com` is `carol@example.com`); phones as stored
 * (E.164).
 */
export function normalizedDestination(channel: 'phone' | 'email', address: string): string {
  return channel === 'email' ? address.trim().toLowerCase() : address;
}
