import { QueryTypes } from 'sequelize';
import type { Database } from '../../lib/db';
import type { PgDatabase } from '../../lib/pgDatabase';
import { AppError, HttpError, toHttpError } from '../../lib/errors';
import { abuseSettings } from '../../lib/verification/abuseSettings';
import { issueCode, SendRequest, verifyCode } from '../../lib/verification/service';
import { verificationSettings } from '../../lib/verification/settings';
import type { Channel, VerificationStatus } from '../../models';
import { buildUser, unique } from '../helpers/factories';
import { countStatements } from '../helpers/statements';
import { openServiceDatabase, RecordingSender } from '../helpers/serviceHarness';
import type { TestDatabase } from '../helpers/testDatabase';

// Abuse resistance at the service level, against real PostgreSQL: phone numbers,
// country permissions and budgets, the per-address limit, and the order of a
// send's answers. Each test uses its own users, numbers and addresses.

const PEPPER = 'abuse-test-pepper-0123456789';
const START = Date.parse('2026-11-30T08:00:00.000Z');

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

/** A clock, a sender and settings from an environment (the pepper added). */
function harness(env: Record<string, string> = {}, start = START) {
  let clock = start;
  const sender = new RecordingSender();
  const settings = {
    ...verificationSettings({ VERIFICATION_CODE_PEPPER: PEPPER, ...env }),
    abuse: abuseSettings(env),
  };
  const deps = { sql: pgDb.sql, now: () => new Date(clock), sender, settings };
  return {
    deps,
    sender,
    advance(seconds: number) {
      clock += seconds * 1000;
    },
    send: (userId: number, channel: Channel = 'phone', request: SendRequest = {}) =>
      issueCode(deps, userId, channel, request),
  };
}

async function failure(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return toHttpError(err);
    throw err;
  }
  throw new Error('expected an AppError');
}

async function codeRows(userId: number) {
  return db.sequelize.query<{
    destination: string;
    destination_country: string | null;
    source_ip: string | null;
  }>(
    'SELECT destination, destination_country, host(source_ip) AS source_ip FROM verification_codes WHERE user_id = $1 ORDER BY created_at',
    { bind: [userId], type: QueryTypes.SELECT },
  );
}

const user = (phone: string | null, verificationStatus?: VerificationStatus) =>
  buildUser(db.models, { phone, verificationStatus });

/** A distinct valid number of a country for each call. */
let serial = 1000;
const usNumber = () => `+1 (212) 555-${String((serial += 1) % 10000).padStart(4, '0')}`;
const frNumber = () =>
  `+33 6 12 34 ${String((serial += 1) % 100).padStart(2, '0')} ${String(serial % 97).padStart(2, '0')}`;
const usE164 = (formatted: string) => formatted.replace(/[^\d+]/g, '');

/** A documentation-range address no other test uses. */
let hostCounter = 0;
const ipv4 = () => `198.51.100.${(hostCounter += 1)}`;

describe('phone numbers', () => {
  it('stores and sends the E.164 form with its country, and verifies against the formatted number', async () => {
    const h = harness();
    const formatted = usNumber();
    const u = await user(formatted);
    const issued = await h.send(u.id, 'phone', { sourceIp: '203.0.113.7' });
    expect(h.sender.messages).toEqual([
      expect.objectContaining({ channel: 'phone', destination: usE164(formatted) }),
    ]);
    expect(issued.destination).toBe(`+*******${usE164(formatted).slice(-4)}`);
    expect(await codeRows(u.id)).toEqual([
      { destination: usE164(formatted), destination_country: 'US', source_ip: '203.0.113.7' },
    ]);
    const code = h.sender.messages[0]?.code as string;
    await expect(verifyCode(h.deps, u.id, 'phone', code)).resolves.toMatchObject({
      verified: true,
    });
  });

  it('stores no country for an email code', async () => {
    const h = harness();
    const u = await user(null);
    await h.send(u.id, 'email');
    expect(await codeRows(u.id)).toEqual([
      { destination: u.email, destination_country: null, source_ip: null },
    ]);
  });

  it('counts the per-destination limit on E.164 forms: two spellings are one destination', async () => {
    const h = harness({ VERIFICATION_MAX_SENDS_PER_DESTINATION_PER_HOUR: '1' });
    const formatted = usNumber();
    const a = await user(formatted);
    const b = await user(usE164(formatted));
    await h.send(a.id);
    expect(await failure(h.send(b.id))).toMatchObject({
      status: 429,
      code: 'rate_limited',
      details: { reason: 'destination_hourly_limit' },
    });
  });

  it('reads a number without + in VERIFICATION_DEFAULT_COUNTRY, and refuses it when that is unset', async () => {
    const national = `212555${String((serial += 1) % 10000).padStart(4, '0')}`;
    const u = await user(national);
    const unset = harness();
    expect(await failure(unset.send(u.id))).toMatchObject({
      status: 422,
      code: 'invalid_destination',
    });
    expect(unset.sender.messages).toEqual([]);
    const us = harness({ VERIFICATION_DEFAULT_COUNTRY: 'US' });
    await us.send(u.id);
    expect(us.sender.messages[0]?.destination).toBe(`+1${national}`);
  });

  it.each(['+15555550100', '+1 555 000 1234', '+861234567890', '+44 12'])(
    'answers 422 invalid_destination for %s: no code row, nothing counted, nothing delivered',
    async (phone) => {
      const h = harness({ VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: '1' });
      const ip = ipv4();
      const u = await user(`${phone}`.replace('+44 12', `+44 12${unique().slice(-2)}`));
      expect(await failure(h.send(u.id, 'phone', { sourceIp: ip }))).toMatchObject({
        status: 422,
        code: 'invalid_destination',
      });
      expect(await codeRows(u.id)).toEqual([]);
      expect(h.sender.messages).toEqual([]);
      // Nothing counted: the user and the address may still send (email here).
      await h.send(u.id, 'email', { sourceIp: ip });
      expect(h.sender.messages).toHaveLength(1);
    },
  );
});

describe('country permissions', () => {
  it('answers 422 destination_not_allowed with the country; nothing stored, counted or delivered', async () => {
    const h = harness({ VERIFICATION_PHONE_COUNTRIES: 'US,CA' });
    const u = await user(frNumber());
    const err = await failure(h.send(u.id));
    expect(err).toMatchObject({
      status: 422,
      code: 'destination_not_allowed',
      details: { country: 'FR' },
    });
    expect(await codeRows(u.id)).toEqual([]);
    expect(h.sender.messages).toEqual([]);
    // Email is not a phone send: allowed.
    await h.send(u.id, 'email');
    // A listed country is allowed.
    const us = await user(usNumber());
    await h.send(us.id);
    expect(h.sender.messages).toHaveLength(2);
  });
});

describe('the order of a send’s answers', () => {
  it('409 already_verified, then 422 no_destination, invalid_destination, destination_not_allowed', async () => {
    const h = harness({ VERIFICATION_PHONE_COUNTRIES: 'GB' });
    const verifiedInvalid = await user('+15555550190', 'phone_verified');
    expect((await failure(h.send(verifiedInvalid.id))).code).toBe('already_verified');
    const none = await user(null);
    expect((await failure(h.send(none.id))).code).toBe('no_destination');
    // Invalid and of a country not listed: invalid first.
    const invalid = await user('+15555550101');
    expect((await failure(h.send(invalid.id))).code).toBe('invalid_destination');
  });

  it('destination_not_allowed comes before rate_limited', async () => {
    const open = harness();
    const u = await user(usNumber());
    await open.send(u.id); // the cooldown now applies
    const closed = harness({ VERIFICATION_PHONE_COUNTRIES: 'GB' });
    expect((await failure(closed.send(u.id))).code).toBe('destination_not_allowed');
    expect((await failure(open.send(u.id))).code).toBe('rate_limited');
  });

  it('rate_limited (user, then address) comes before country_rate_limited', async () => {
    const env = {
      VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'FR:1',
      VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: '1',
    };
    const h = harness(env);
    const ip = ipv4();
    const first = await user(frNumber());
    await h.send(first.id, 'phone', { sourceIp: ip });
    // Same user: cooldown (user limit) although address and country are over too.
    expect((await failure(h.send(first.id, 'phone', { sourceIp: ip }))).details).toMatchObject({
      reason: 'cooldown',
    });
    // Another user, same address: the address limit, although the country is over too.
    const second = await user(frNumber());
    const byIp = await failure(h.send(second.id, 'phone', { sourceIp: ip }));
    expect(byIp).toMatchObject({ status: 429, code: 'rate_limited', details: { reason: 'ip' } });
    expect(byIp.headers['Retry-After']).toBe('3600');
    // Another address: now the country budget.
    const byCountry = await failure(h.send(second.id, 'phone', { sourceIp: ipv4() }));
    expect(byCountry).toMatchObject({
      status: 429,
      code: 'country_rate_limited',
      details: { country: 'FR' },
    });
    expect(byCountry.headers['Retry-After']).toBe('3600');
    expect(h.sender.messages).toHaveLength(1);
  });
});

describe('country budgets: a pumping run', () => {
  it('50 users to one country: exactly the budget delivered, the rest 429 with Retry-After; other countries and email unaffected', async () => {
    // A day after the other tests: their sends to the US are outside this window.
    const h = harness(
      { VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:20,*:5' },
      START + 86_400_000,
    );
    const outcomes: (string | number)[] = [];
    const retryAfter = new Set<string>();
    for (let i = 0; i < 50; i += 1) {
      const u = await user(usNumber());
      try {
        await h.send(u.id, 'phone', { sourceIp: ipv4() });
        outcomes.push(201);
      } catch (err) {
        const answer = toHttpError(err as AppError);
        outcomes.push(answer.code);
        retryAfter.add(answer.headers['Retry-After'] as string);
      }
      h.advance(10);
    }
    expect(outcomes.slice(0, 21)).toEqual([...Array(20).fill(201), 'country_rate_limited']);
    expect(outcomes.slice(20)).toEqual(Array(30).fill('country_rate_limited'));
    expect(h.sender.messages).toHaveLength(20);
    // Retry-After: until the oldest counted send leaves the window.
    expect([...retryAfter].map(Number).every((s) => s >= 1 && s <= 3600 - 200)).toBe(true);

    // Another country has its own budget (`*`: 5), and email has none.
    const fr = await user(frNumber());
    await h.send(fr.id);
    await h.send(fr.id, 'email');
    expect(h.sender.messages).toHaveLength(22);

    // When the oldest send leaves the window, one more may go.
    const late = await user(usNumber());
    const wait = await failure(h.send(late.id));
    const seconds = Number(wait.headers['Retry-After']);
    h.advance(seconds - 1);
    expect((await failure(h.send(late.id))).code).toBe('country_rate_limited');
    h.advance(1);
    await h.send(late.id);
    expect(h.sender.messages).toHaveLength(23);
  });
});

describe('budgets under concurrency', () => {
  it('simultaneous sends by different users never exceed a country budget or an address limit', async () => {
    const day = START + 2 * 86_400_000;
    const country = harness({ VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:5' }, day);
    const users = await Promise.all(Array.from({ length: 20 }, () => user(usNumber())));
    const byCountry = await Promise.allSettled(users.map((u) => country.send(u.id)));
    expect(byCountry.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(country.sender.messages).toHaveLength(5);

    const address = harness({ VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: '4' }, day);
    const ip = ipv4();
    const others = await Promise.all(Array.from({ length: 20 }, () => user(null)));
    const byAddress = await Promise.allSettled(
      others.map((u) => address.send(u.id, 'email', { sourceIp: ip })),
    );
    expect(byAddress.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    for (const r of byAddress) {
      if (r.status === 'rejected') expect((r.reason as AppError).code).toBe('rate_limited');
    }
  });
});

describe('database round trips', () => {
  it('a phone send takes 3 without budgets, 4 when a country budget or address limit applies', async () => {
    const day = START + 3 * 86_400_000;
    const plain = harness({}, day);
    const a = await user(usNumber());
    expect(await countStatements(() => plain.send(a.id, 'phone', { sourceIp: ipv4() }))).toBe(3);
    const budgeted = harness({ VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:100' }, day);
    const b = await user(usNumber());
    expect(await countStatements(() => budgeted.send(b.id))).toBe(4);
  });
});

describe('per source address', () => {
  it('counts sends from one address across users and channels; other addresses unaffected', async () => {
    const h = harness({ VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: '3' });
    const ip = ipv4();
    for (let i = 0; i < 3; i += 1) {
      const u = await user(usNumber());
      await h.send(u.id, i === 1 ? 'email' : 'phone', { sourceIp: ip });
      h.advance(60);
    }
    const u = await user(usNumber());
    const err = await failure(h.send(u.id, 'email', { sourceIp: ip }));
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', details: { reason: 'ip' } });
    expect(err.headers['Retry-After']).toBe(String(3600 - 180));
    await h.send(u.id, 'email', { sourceIp: ipv4() });
    expect(h.sender.messages).toHaveLength(4);
  });

  it('counts an IPv6 address by its /64', async () => {
    const h = harness({ VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: '2' });
    const prefix = `2001:db8:${(hostCounter += 1).toString(16)}:1`;
    const a = await user(usNumber());
    const b = await user(usNumber());
    const c = await user(usNumber());
    await h.send(a.id, 'phone', { sourceIp: `${prefix}::1` });
    await h.send(b.id, 'phone', { sourceIp: `${prefix}:aaaa:bbbb:cccc:dddd` });
    const err = await failure(h.send(c.id, 'phone', { sourceIp: `${prefix}::ffff` }));
    expect(err.details).toMatchObject({ reason: 'ip' });
    // The next /64 is another client.
    await h.send(c.id, 'phone', { sourceIp: `2001:db8:${hostCounter.toString(16)}:2::1` });
    expect(await codeRows(a.id)).toEqual([expect.objectContaining({ source_ip: `${prefix}::1` })]);
  });

  it('has no limit when unset, and stores no address it cannot read', async () => {
    const h = harness();
    const ip = ipv4();
    for (let i = 0; i < 5; i += 1) {
      const u = await user(null);
      await h.send(u.id, 'email', { sourceIp: ip });
    }
    const u = await user(null);
    await h.send(u.id, 'email', { sourceIp: 'not-an-address' });
    expect(await codeRows(u.id)).toEqual([expect.objectContaining({ source_ip: null })]);
  });
});
