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
    STAFF_APPROVAL_MAX_PENDING_PER_USER: '2',
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

describe('staff approval requests', () => {
  it('approving a manual verification after the phone changed is 409 destination_changed', async () => {
    const user = await buildUser(db.models);
    const staff = await buildUser(db.models, { role: 'staff' });
    const staffToken = await tokenFor(staff.id);
    const phone = user.phone as string;
    const filed = await api<{ id: string; details: Record<string, unknown> }>(
      'POST',
      '/staff-approval-requests',
      {
        token: await tokenFor(user.id),
        body: { requestType: 'manual_verification', details: { channel: 'phone' } },
      },
    );
    expect(filed.status).toBe(201);
    expect(filed.body.details.destination).toBe(
      `+${'*'.repeat(phone.length - 5)}${phone.slice(-4)}`,
    );
    const seen = await api<{ details: Record<string, unknown> }>(
      'GET',
      `/staff-approval-requests/${filed.body.id}`,
      { token: staffToken },
    );
    expect(seen.body.details.destination).toBe(phone);

    await db.sequelize.query('UPDATE users SET phone = $2 WHERE id = $1', {
      bind: [user.id, `+1999${String(user.id).padStart(7, '0')}`],
    });
    const approved = await api('POST', `/staff-approval-requests/${filed.body.id}/approve`, {
      token: staffToken,
      body: {},
    });
    expectErrorShape(approved, 409, 'destination_changed');
    const after = await api('GET', `/users/${user.id}/verification`, { token: staffToken });
    expect(after.body).toMatchObject({ status: 'unverified', isPhoneVerified: false });
  });

  it('refuses a client-supplied details.destination with 400', async () => {
    const user = await buildUser(db.models);
    const res = await api('POST', '/staff-approval-requests', {
      token: await tokenFor(user.id),
      body: {
        requestType: 'manual_verification',
        details: { channel: 'phone', destination: '+15555550000' },
      },
    });
    expectErrorShape(res, 400, 'invalid_request');
  });

  it('caps pending requests per user (STAFF_APPROVAL_MAX_PENDING_PER_USER)', async () => {
    const user = await buildUser(db.models);
    const token = await tokenFor(user.id);
    const file = (requestType: string) =>
      api('POST', '/staff-approval-requests', { token, body: { requestType } });
    expect((await file('first_kind')).status).toBe(201);
    expect((await file('second_kind')).status).toBe(201);
    expectErrorShape(await file('third_kind'), 409, 'too_many_pending');
  });
});
