import { SignJWT } from 'jose';
import type { Database } from '../../lib/db';
import { ApiCall, expectErrorShape } from '../helpers/api';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { buildUser, unique } from '../helpers/factories';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens';

/** The security baseline over HTTP, through serverless-offline. */

let stack: ApiStack;
let db: Database;
let api: ApiCall;

beforeAll(async () => {
  stack = await startApiStack({
    VERIFICATION_CODE_PEPPER: 'e2e-security-pepper-0123456789',
    VERIFICATION_SEND_COOLDOWN_SECONDS: '0',
    VERIFICATION_MAX_SENDS_PER_DESTINATION_PER_HOUR: '2',
    VERIFICATION_MAX_ATTEMPTS: '3',
    VERIFICATION_MAX_FAILED_ATTEMPTS_PER_DAY: '4',
  });
  ({ db, api } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('tokens', () => {
  it('answers 401 to a well-signed token without exp', async () => {
    const user = await buildUser(db.models);
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(String(user.id))
      .setIssuedAt()
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const res = await api('GET', '/users/me/verification', { token: noExp });
    expectErrorShape(res, 401, 'unauthorized');
    const ok = await api('GET', '/users/me/verification', { token: await tokenFor(user.id) });
    expect(ok.status).toBe(200);
  });
});

describe('answers', () => {
  it('carry Cache-Control: no-store, successes and errors alike', async () => {
    const user = await buildUser(db.models);
    const ok = await api('GET', '/users/me/verification', { token: await tokenFor(user.id) });
    const refused = await api('GET', '/users/me/verification');
    const health = await api('GET', '/health');
    for (const res of [ok, refused, health]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });
});

describe('verification codes', () => {
  it('count an email destination case-insensitively across users', async () => {
    const local = `carol-${unique()}`;
    const lower = await buildUser(db.models, { email: `${local}@example.com` });
    const upper = await buildUser(db.models, {
      email: `${local[0]?.toUpperCase()}${local.slice(1)}@example.com`,
    });
    const send = async (id: number) =>
      api('POST', '/verification/codes', { token: await tokenFor(id), body: { channel: 'email' } });
    expect((await send(lower.id)).status).toBe(201);
    expect((await send(lower.id)).status).toBe(201);
    const res = await send(upper.id);
    expectErrorShape(res, 429, 'rate_limited');
    expect(res.body).toMatchObject({ error: { reason: 'destination_hourly_limit' } });
  });

  it('lock send and verify for a channel after the daily cap of wrong codes', async () => {
    const user = await buildUser(db.models);
    const token = await tokenFor(user.id);
    const send = () => api('POST', '/verification/codes', { token, body: { channel: 'email' } });
    const verify = (code: string) =>
      api('POST', '/verification/verify', { token, body: { channel: 'email', code } });
    // Two codes, two wrong tries on each (one of the two guesses may be right: 1 in 10^6).
    const statuses: number[] = [];
    for (let i = 0; i < 2; i += 1) {
      expect((await send()).status).toBe(201);
      statuses.push((await verify('000000')).status, (await verify('999999')).status);
    }
    expect(statuses).toEqual([422, 422, 422, 422]);
    for (const res of [await verify('123456'), await send()]) {
      expectErrorShape(res, 429, 'too_many_attempts');
      expect(res.body).toMatchObject({ error: { reason: 'daily_failed_attempts' } });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(23 * 3600);
    }
    // The other channel is not affected.
    const phone = await api('POST', '/verification/codes', { token, body: { channel: 'phone' } });
    expect(phone.status).toBe(201);
  });
});
