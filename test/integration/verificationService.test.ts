import { QueryTypes } from 'sequelize';
import type { Database } from '../../lib/db';
import type { PgDatabase } from '../../lib/pgDatabase';
import { AppError, HttpError, toHttpError } from '../../lib/errors';
import {
  getVerification,
  issueCode,
  VerificationDeps,
  verifyCode,
} from '../../lib/verification/service';
import { verificationSettings, VerificationSettings } from '../../lib/verification/settings';
import type { Channel, User } from '../../models';
import { buildUser, unique } from '../helpers/factories';
import { recordStatements } from '../helpers/statements';
import { openServiceDatabase, RecordingSender } from '../helpers/serviceHarness';
import type { TestDatabase } from '../helpers/testDatabase';

const PEPPER = 'integration-test-pepper-0123456789';
const START = Date.parse('2026-11-26T20:00:00.000Z');

let testDb: TestDatabase;
let db: Database;
let pgDb: PgDatabase;

beforeAll(async () => {
  ({ testDb, db, pg: pgDb } = await openServiceDatabase());
});

afterAll(async () => {
  await db?.sequelize.close();
  await pgDb?.pool.end();
  await testDb?.drop();
});

interface Harness {
  deps: VerificationDeps;
  sender: RecordingSender;
  /** Moves the fake clock forward. */
  advance(seconds: number): void;
  at(): Date;
}

function harness(overrides: Partial<VerificationSettings> = {}): Harness {
  let clock = START;
  const sender = new RecordingSender();
  const settings = {
    ...verificationSettings({ VERIFICATION_CODE_PEPPER: PEPPER }),
    ...overrides,
  };
  return {
    deps: { sql: pgDb.sql, now: () => new Date(clock), sender, settings },
    sender,
    advance: (seconds) => {
      clock += seconds * 1000;
    },
    at: () => new Date(clock),
  };
}

/** The answer for the AppError a call fails with. */
async function failure(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return toHttpError(err);
    throw err;
  }
  throw new Error('expected an AppError');
}

async function codeRows(userId: number, channel?: Channel) {
  return db.sequelize.query<{
    id: string;
    destination: string;
    code_hash: string;
    attempts: number;
    max_attempts: number;
    consumed_at: Date | null;
    superseded_at: Date | null;
    expires_at: Date;
    created_at: Date;
  }>(
    `SELECT * FROM verification_codes WHERE user_id = $1 ${channel ? 'AND channel = $2' : ''}
     ORDER BY created_at, id`,
    { bind: channel ? [userId, channel] : [userId], type: QueryTypes.SELECT },
  );
}

async function statusOf(user: User) {
  await user.reload();
  return user.verificationStatus;
}

/** A code that is not `code` (same length). */
function wrong(code: string): string {
  return code.replace(/^./, (d) => String((Number(d) + 1) % 10));
}

describe('issueCode', () => {
  it('stores only a hash, answers the masked destination and times, and delivers the code', async () => {
    const h = harness();
    const user = await buildUser(db.models, { email: `jane-${unique()}@example.com` });
    const issued = await issueCode(h.deps, user.id, 'email');

    expect(issued).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      channel: 'email',
      destination: `j***@example.com`,
      expiresAt: new Date(START + 600_000).toISOString(),
      resendAvailableAt: new Date(START + 30_000).toISOString(),
      locale: 'en',
    });
    const sent = h.sender.last();
    expect(sent).toMatchObject({
      id: issued.id,
      channel: 'email',
      destination: user.email,
      ttlMinutes: 10,
      locale: 'en',
    });
    expect(sent.code).toMatch(/^\d{6}$/);
    expect(sent.expiresAt.toISOString()).toBe(issued.expiresAt);

    const [row] = await codeRows(user.id);
    expect(row).toMatchObject({
      id: issued.id,
      destination: user.email,
      attempts: 0,
      max_attempts: 5,
      consumed_at: null,
      superseded_at: null,
    });
    expect(row?.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.code_hash).not.toContain(sent.code);
  });

  it('writes in the body locale, else by Accept-Language, else in the default', async () => {
    const h = harness();
    h.deps.settings = {
      ...h.deps.settings,
      sendCooldownSeconds: 0,
      delivery: {
        ...h.deps.settings.delivery,
        messages: { ...h.deps.settings.delivery.messages, defaultLocale: 'de' },
      },
    };
    const user = await buildUser(db.models, { email: `loc-${unique()}@example.com` });
    const send = async (request: { locale?: string; acceptLanguage?: string }) => {
      const issued = await issueCode(h.deps, user.id, 'email', request);
      expect(h.sender.last().locale).toBe(issued.locale);
      return issued.locale;
    };
    expect(await send({ locale: 'pt-BR', acceptLanguage: 'fr' })).toBe('pt');
    expect(await send({ acceptLanguage: 'ja, es;q=0.8, fr;q=0.5' })).toBe('es');
    expect(await send({ locale: 'ja', acceptLanguage: 'fr' })).toBe('de');
    expect(await send({})).toBe('de');
  });

  it('masks a phone to its last four digits', async () => {
    const h = harness();
    const user = await buildUser(db.models, { phone: '+12015550123', email: null });
    const issued = await issueCode(h.deps, user.id, 'phone');
    expect(issued.destination).toBe('+*******0123');
    expect(h.sender.last()).toMatchObject({ channel: 'phone', destination: '+12015550123' });
  });

  it('answers 409 already_verified, 422 no_destination and 401 for an unknown user', async () => {
    const h = harness();
    const verified = await buildUser(db.models, { verificationStatus: 'email_verified' });
    expect(await failure(issueCode(h.deps, verified.id, 'email'))).toMatchObject({
      status: 409,
      code: 'already_verified',
    });
    const noPhone = await buildUser(db.models, { phone: null });
    expect(await failure(issueCode(h.deps, noPhone.id, 'phone'))).toMatchObject({
      status: 422,
      code: 'no_destination',
    });
    expect(await failure(issueCode(h.deps, 2147483000, 'email'))).toMatchObject({
      status: 401,
      code: 'unauthorized',
    });
    expect(h.sender.messages).toHaveLength(0);
  });

  it('enforces the cooldown with a Retry-After to the second it ends', async () => {
    const h = harness();
    const user = await buildUser(db.models);
    await issueCode(h.deps, user.id, 'email');
    h.advance(10);
    const err = await failure(issueCode(h.deps, user.id, 'email'));
    expect(err).toMatchObject({
      status: 429,
      code: 'rate_limited',
      details: { reason: 'cooldown', retryAfterSeconds: 20 },
      headers: { 'Retry-After': '20' },
    });
    // The other channel has its own cooldown.
    await issueCode(h.deps, user.id, 'phone');
    h.advance(20);
    await issueCode(h.deps, user.id, 'email');
    expect(await codeRows(user.id, 'email')).toHaveLength(2);
  });

  it('caps sends per user and channel over a sliding hour', async () => {
    const h = harness();
    const user = await buildUser(db.models);
    for (let i = 0; i < 5; i += 1) {
      await issueCode(h.deps, user.id, 'phone');
      h.advance(30);
    }
    // 5 sends at 0, 30, ..., 120 s; now 150 s: the first ages out at 3600 s.
    const err = await failure(issueCode(h.deps, user.id, 'phone'));
    expect(err).toMatchObject({
      status: 429,
      code: 'rate_limited',
      details: { reason: 'hourly_limit', retryAfterSeconds: 3450 },
      headers: { 'Retry-After': '3450' },
    });
    h.advance(3449);
    expect((await failure(issueCode(h.deps, user.id, 'phone'))).headers).toEqual({
      'Retry-After': '1',
    });
    h.advance(1);
    const issued = await issueCode(h.deps, user.id, 'phone');
    // The next one frees up when the send made at 30 s ages out.
    expect(issued.resendAvailableAt).toBe(new Date(START + 30_000 + 3_600_000).toISOString());
  });

  it('caps sends per destination across users', async () => {
    const h = harness({ sendCooldownSeconds: 0, maxSendsPerDestinationPerHour: 3 });
    const shared = `shared-${unique()}@example.com`;
    const first = await buildUser(db.models, { email: shared });
    await issueCode(h.deps, first.id, 'email');
    h.advance(60);
    await issueCode(h.deps, first.id, 'email');
    // The address moves to another account, which sends the third and last.
    await db.sequelize.query(`UPDATE users SET email = $2 WHERE id = $1`, {
      bind: [first.id, `moved-${unique()}@example.com`],
    });
    const second = await buildUser(db.models, { email: shared });
    h.advance(60);
    await issueCode(h.deps, second.id, 'email');
    h.advance(60);
    const err = await failure(issueCode(h.deps, second.id, 'email'));
    expect(err).toMatchObject({
      status: 429,
      code: 'rate_limited',
      details: { reason: 'destination_hourly_limit', retryAfterSeconds: 3600 - 180 },
    });
    // The old account's new address is not affected.
    await issueCode(h.deps, first.id, 'email');
  });

  it('counts an email destination case-insensitively (Carol@ is carol@)', async () => {
    const h = harness({ sendCooldownSeconds: 0, maxSendsPerDestinationPerHour: 2 });
    const local = `carol-${unique()}`;
    const lower = await buildUser(db.models, { email: `${local}@example.com` });
    // users.email is unique as written: another account may hold the other case.
    const upper = await buildUser(db.models, { email: `${local.toUpperCase()}@Example.COM` });
    await issueCode(h.deps, lower.id, 'email');
    h.advance(60);
    const sent = await issueCode(h.deps, upper.id, 'email');
    // The message goes to the address as the user wrote it; the row keeps it lowercased.
    expect(h.sender.last().destination).toBe(`${local.toUpperCase()}@Example.COM`);
    expect(sent.destination).toBe('C***@Example.COM');
    h.advance(60);
    const err = await failure(issueCode(h.deps, upper.id, 'email'));
    expect(err).toMatchObject({
      status: 429,
      code: 'rate_limited',
      details: { reason: 'destination_hourly_limit' },
    });
    // The code sent to the mixed-case address verifies.
    h.advance(1);
    const code = h.sender.messages[1]?.code as string;
    await expect(verifyCode(h.deps, upper.id, 'email', code)).resolves.toMatchObject({
      verified: true,
    });
  });

  it('after VERIFICATION_MAX_FAILED_ATTEMPTS_PER_DAY wrong codes, locks send and verify for 24 h', async () => {
    const h = harness({ sendCooldownSeconds: 0, maxAttempts: 2, maxFailedAttemptsPerDay: 3 });
    const user = await buildUser(db.models);
    const wrong = (code: string) => (code === '000000' ? '000001' : '000000');
    await issueCode(h.deps, user.id, 'email');
    const first = h.sender.last().code;
    await failure(verifyCode(h.deps, user.id, 'email', wrong(first)));
    await failure(verifyCode(h.deps, user.id, 'email', wrong(first)));
    h.advance(60);
    await issueCode(h.deps, user.id, 'email');
    const second = h.sender.last().code;
    const third = await failure(verifyCode(h.deps, user.id, 'email', wrong(second)));
    expect(third).toMatchObject({ status: 422, code: 'invalid_code' });
    h.advance(60);
    // Locked: even the right code, and any new send; the phone is not affected.
    const lockedUntil = START + 600_000 + 24 * 3_600_000;
    const seconds = Math.ceil((lockedUntil - h.at().getTime()) / 1000);
    for (const attempt of [
      verifyCode(h.deps, user.id, 'email', second),
      issueCode(h.deps, user.id, 'email'),
    ]) {
      expect(await failure(attempt)).toMatchObject({
        status: 429,
        code: 'too_many_attempts',
        details: { reason: 'daily_failed_attempts', retryAfterSeconds: seconds },
        headers: { 'Retry-After': String(seconds) },
      });
    }
    await issueCode(h.deps, user.id, 'phone');
    // The two tries on the first code age out 24 h after it expired: one left, under the cap.
    h.advance(seconds - 1);
    expect(await failure(issueCode(h.deps, user.id, 'email'))).toMatchObject({ status: 429 });
    h.advance(1);
    await issueCode(h.deps, user.id, 'email');
  });

  it('supersedes the older active code', async () => {
    const h = harness();
    const user = await buildUser(db.models);
    const first = await issueCode(h.deps, user.id, 'email');
    const firstCode = h.sender.last().code;
    h.advance(30);
    const second = await issueCode(h.deps, user.id, 'email');
    const secondCode = h.sender.last().code;
    const rows = await codeRows(user.id, 'email');
    expect(rows.map((r) => [r.id, r.superseded_at?.getTime() ?? null])).toEqual([
      [first.id, START + 30_000],
      [second.id, null],
    ]);
    if (firstCode !== secondCode) {
      expect(await failure(verifyCode(h.deps, user.id, 'email', firstCode))).toMatchObject({
        status: 422,
        code: 'invalid_code',
      });
    }
    await expect(verifyCode(h.deps, user.id, 'email', secondCode)).resolves.toMatchObject({
      verified: true,
    });
  });

  it('leaves no usable code when delivery fails, keeps the older one superseded, and counts the send', async () => {
    const h = harness();
    const user = await buildUser(db.models);
    await issueCode(h.deps, user.id, 'email');
    const olderCode = h.sender.last().code;
    h.advance(30);
    h.sender.failing = true;
    expect(await failure(issueCode(h.deps, user.id, 'email'))).toMatchObject({
      status: 502,
      code: 'delivery_failed',
    });
    const rows = await codeRows(user.id, 'email');
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.superseded_at !== null)).toBe(true);
    const failedCode = h.sender.last().code;
    for (const code of [olderCode, failedCode]) {
      expect(await failure(verifyCode(h.deps, user.id, 'email', code))).toMatchObject({
        status: 404,
        code: 'no_active_code',
      });
    }
    // The failed send started a cooldown like any other.
    h.sender.failing = false;
    h.advance(10);
    expect(await failure(issueCode(h.deps, user.id, 'email'))).toMatchObject({
      status: 429,
      details: { reason: 'cooldown', retryAfterSeconds: 20 },
    });
  });

  it('lets only one of many simultaneous sends through', async () => {
    const h = harness();
    const user = await buildUser(db.models);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => issueCode(h.deps, user.id, 'email')),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.map((r) => (r.status === 'rejected' ? r.reason : null));
    expect(ok).toHaveLength(1);
    for (const err of refused.filter(Boolean)) {
      expect(err).toMatchObject({ status: 429, code: 'rate_limited' });
    }
    expect(await codeRows(user.id, 'email')).toHaveLength(1);
  });

  it('without a cooldown, lets simultaneous sends all through, each superseding the last', async () => {
    const h = harness({ sendCooldownSeconds: 0, maxSendsPerHour: 100 });
    // A clock that moves on at every reading, like a real one: a send that waits
    // for the user's lock must not judge the cooldown by a time read before the
    // send that held the lock wrote its own.
    let reads = 0;
    const deps = { ...h.deps, now: () => new Date(START + ++reads) };
    const user = await buildUser(db.models);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => issueCode(deps, user.id, 'email')),
    );
    expect(results.map((r) => (r.status === 'rejected' ? r.reason : 'sent'))).toEqual(
      Array(10).fill('sent'),
    );
    const rows = await codeRows(user.id, 'email');
    expect(rows).toHaveLength(10);
    expect(rows.filter((r) => r.superseded_at === null)).toHaveLength(1);
  });

  it('never exceeds the hourly cap under concurrency without a cooldown', async () => {
    const h = harness({ sendCooldownSeconds: 0, maxSendsPerHour: 3 });
    const user = await buildUser(db.models);
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => issueCode(h.deps, user.id, 'phone')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const rows = await codeRows(user.id, 'phone');
    expect(rows).toHaveLength(3);
    expect(rows.filter((r) => r.superseded_at === null)).toHaveLength(1);
  });
});

describe('verifyCode', () => {
  async function sentCode(h: Harness, channel: Channel = 'email', user?: User) {
    const u = user ?? (await buildUser(db.models));
    await issueCode(h.deps, u.id, channel);
    return { user: u, code: h.sender.last().code };
  }

  it('verifies, consumes the code and moves the status; phone and email make verified', async () => {
    const h = harness();
    const { user, code } = await sentCode(h, 'email');
    await expect(verifyCode(h.deps, user.id, 'email', code)).resolves.toEqual({
      verified: true,
      verification: {
        userId: user.id,
        status: 'email_verified',
        isPhoneVerified: false,
        isEmailVerified: true,
        isFullyVerified: false,
      },
    });
    expect((await codeRows(user.id, 'email'))[0]?.consumed_at?.getTime()).toBe(START);
    expect(await statusOf(user)).toBe('email_verified');
    expect(await failure(verifyCode(h.deps, user.id, 'email', code))).toMatchObject({
      status: 404,
      code: 'no_active_code',
    });

    const phone = await sentCode(h, 'phone', user);
    const done = await verifyCode(h.deps, user.id, 'phone', phone.code);
    expect(done.verification).toMatchObject({ status: 'verified', isFullyVerified: true });
    await expect(getVerification(h.deps, user.id)).resolves.toMatchObject({ status: 'verified' });
    await expect(getVerification(h.deps, 2147483000)).resolves.toBeUndefined();
  });

  it('answers 400 for a malformed code without using an attempt', async () => {
    const h = harness();
    const { user } = await sentCode(h);
    for (const bad of ['', '12345', '1234567', '12345a', ' 123456', '１２３４５６', '-12345']) {
      expect(await failure(verifyCode(h.deps, user.id, 'email', bad))).toMatchObject({
        status: 400,
        code: 'invalid_request',
      });
    }
    expect((await codeRows(user.id))[0]?.attempts).toBe(0);
  });

  it('answers 404 without a code, 410 once expired, and 404 for another channel', async () => {
    const h = harness();
    const user = await buildUser(db.models);
    expect(await failure(verifyCode(h.deps, user.id, 'email', '123456'))).toMatchObject({
      status: 404,
      code: 'no_active_code',
    });
    const { code } = await sentCode(h, 'email', user);
    expect(await failure(verifyCode(h.deps, user.id, 'phone', code))).toMatchObject({
      status: 404,
    });
    h.advance(600);
    expect(await failure(verifyCode(h.deps, user.id, 'email', code))).toMatchObject({
      status: 410,
      code: 'code_expired',
    });
    expect(await failure(verifyCode(h.deps, 2147483000, 'email', code))).toMatchObject({
      status: 401,
    });
  });

  it('still accepts a code one second before it expires', async () => {
    const h = harness();
    const { user, code } = await sentCode(h);
    h.advance(599);
    await expect(verifyCode(h.deps, user.id, 'email', code)).resolves.toMatchObject({
      verified: true,
    });
  });

  it('counts wrong tries; the last one and every later try answer 429', async () => {
    const h = harness();
    const { user, code } = await sentCode(h);
    for (const remaining of [4, 3, 2, 1]) {
      const err = await failure(verifyCode(h.deps, user.id, 'email', wrong(code)));
      expect(err).toMatchObject({
        status: 422,
        code: 'invalid_code',
        details: { attemptsRemaining: remaining },
      });
    }
    expect(await failure(verifyCode(h.deps, user.id, 'email', wrong(code)))).toMatchObject({
      status: 429,
      code: 'too_many_attempts',
    });
    for (const later of [code, wrong(code)]) {
      expect(await failure(verifyCode(h.deps, user.id, 'email', later))).toMatchObject({
        status: 429,
        code: 'too_many_attempts',
      });
    }
    expect((await codeRows(user.id))[0]?.attempts).toBe(5);
    expect(await statusOf(user)).toBe('unverified');
  });

  it('answers 410 before 429 for a code both expired and out of attempts', async () => {
    const h = harness({ maxAttempts: 1 });
    const { user, code } = await sentCode(h);
    await failure(verifyCode(h.deps, user.id, 'email', wrong(code)));
    h.advance(601);
    expect(await failure(verifyCode(h.deps, user.id, 'email', code))).toMatchObject({
      status: 410,
    });
  });

  it('binds the code to the destination it was sent to', async () => {
    const h = harness();
    const { user, code } = await sentCode(h);
    await db.sequelize.query(`UPDATE users SET email = $2 WHERE id = $1`, {
      bind: [user.id, `changed-${unique()}@example.com`],
    });
    expect(await failure(verifyCode(h.deps, user.id, 'email', code))).toMatchObject({
      status: 404,
      code: 'no_active_code',
    });
    expect(await statusOf(user)).toBe('unverified');
  });

  it('of 20 simultaneous correct submissions exactly one succeeds', async () => {
    const h = harness();
    const { user, code } = await sentCode(h);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => verifyCode(h.deps, user.id, 'email', code)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toMatchObject({ status: 404, code: 'no_active_code' });
      }
    }
    expect(await statusOf(user)).toBe('email_verified');
  });

  it('of 20 simultaneous wrong submissions never counts more than the allowed attempts', async () => {
    const h = harness();
    const { user, code } = await sentCode(h);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () => verifyCode(h.deps, user.id, 'email', wrong(code))),
    );
    const errors = results.map((r) => (r.status === 'rejected' ? r.reason : r.value));
    const by = (status: number) => errors.filter((e) => e.status === status).length;
    expect(by(422)).toBe(4);
    expect(by(429)).toBe(16);
    const [row] = await codeRows(user.id);
    expect(row).toMatchObject({ attempts: 5, max_attempts: 5, consumed_at: null });
  });

  it('verifying phone and email at the same moment ends verified', async () => {
    const h = harness();
    const { user, code: emailCode } = await sentCode(h, 'email');
    const { code: phoneCode } = await sentCode(h, 'phone', user);
    await Promise.all([
      verifyCode(h.deps, user.id, 'email', emailCode),
      verifyCode(h.deps, user.id, 'phone', phoneCode),
    ]);
    expect(await statusOf(user)).toBe('verified');
  });
});

describe('database round trips', () => {
  it('issue takes 3 (BEGIN with the lock, write, COMMIT) and verify 2', async () => {
    const h = harness();
    const user = await buildUser(db.models);
    const issued = await recordStatements(() => issueCode(h.deps, user.id, 'email'));
    expect(issued).toHaveLength(3);
    expect(issued[0]).toMatch(/^BEGIN;\s+SELECT .* FOR NO KEY UPDATE$/s);
    expect(issued[2]).toMatch(/^COMMIT/);
    const verified = await recordStatements(() =>
      verifyCode(h.deps, user.id, 'email', h.sender.last().code),
    );
    expect(verified).toHaveLength(2);
  });

  it('a refused send takes one more: the times its Retry-After is computed from', async () => {
    const h = harness({ sendCooldownSeconds: 60 });
    const user = await buildUser(db.models);
    await issueCode(h.deps, user.id, 'email');
    let err: unknown;
    const statements = await recordStatements(async () => {
      err = await issueCode(h.deps, user.id, 'email').catch((e: unknown) => e);
    });
    expect(err).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 60 });
    expect(statements).toHaveLength(4);
    expect(statements[2]).toMatch(/AS user_times/);
    expect(statements[3]).toMatch(/^ROLLBACK/);
  });
});
