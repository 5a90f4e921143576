import { QueryTypes } from 'sequelize';
import type { Database } from '../../lib/db';
import type { User } from '../../models';
import { ApiCall, expectErrorShape } from '../helpers/api';
import { buildUser, unique } from '../helpers/factories';
import type { OfflineServer } from '../helpers/offline';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { tokenFor } from '../helpers/tokens';
import { type Delivered, WebhookCapture } from '../helpers/webhookCapture';

let stack: ApiStack;
let db: Database;
let offline: OfflineServer;
let api: ApiCall;
const webhook = new WebhookCapture();
/** Every address and code used here: none may appear in the function logs. */
const secrets = new Set<string>();

beforeAll(async () => {
  const webhookUrl = await webhook.start();
  stack = await startApiStack({
    VERIFICATION_CODE_PEPPER: 'e2e-test-pepper-0123456789abcdef',
    CODE_DELIVERY: 'webhook',
    CODE_WEBHOOK_URL: webhookUrl,
    CORS_ALLOWED_ORIGINS: 'https://app.example',
  });
  ({ db, api, server: offline } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await webhook.stop();
});

async function newUser(overrides: Parameters<typeof buildUser>[1] = {}) {
  const user = await buildUser(db.models, {
    email: `e2e-${unique()}@example.com`,
    ...overrides,
  });
  if (user.email) secrets.add(user.email);
  if (user.phone) secrets.add(user.phone);
  return { user, token: await tokenFor(user.id) };
}

async function send(token: string, channel: string) {
  return api('POST', '/verification/codes', { token, body: { channel } });
}

async function sendAndCapture(user: User, token: string, channel: 'email' | 'phone') {
  const res = await send(token, channel);
  expect(res.status).toBe(201);
  const code = webhook.codeFor((channel === 'email' ? user.email : user.phone) as string);
  secrets.add(code);
  return code;
}

const verify = (token: string, channel: string, code: string) =>
  api('POST', '/verification/verify', { token, body: { channel, code } });

async function codeRow(userId: number, channel: string) {
  const [row] = await db.sequelize.query<{ id: string; attempts: number }>(
    `SELECT id, attempts FROM verification_codes WHERE user_id = $1 AND channel = $2
     ORDER BY created_at DESC LIMIT 1`,
    { bind: [userId, channel], type: QueryTypes.SELECT },
  );
  return row;
}

describe('whole flows over HTTP', () => {
  it('email: send, a wrong try, the right code, then the status and 409 on resend', async () => {
    const { user, token } = await newUser();
    const sent = await send(token, 'email');
    expect(sent.status).toBe(201);
    expect(sent.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      channel: 'email',
      destination: 'e***@example.com',
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      resendAvailableAt: expect.stringMatching(/Z$/),
      locale: 'en',
    });
    const delivered = webhook.delivered.at(-1) as Delivered;
    expect(delivered).toMatchObject({ channel: 'email', destination: user.email });
    expect(delivered.expiresAt).toBe(sent.body.expiresAt);
    const code = delivered.code;
    secrets.add(code);
    expect(code).toMatch(/^\d{6}$/);

    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = await verify(token, 'email', wrongCode);
    expectErrorShape(wrong, 422, 'invalid_code');
    expect(wrong.body).toMatchObject({ error: { attemptsRemaining: 4 } });

    const ok = await verify(token, 'email', code);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      verified: true,
      verification: {
        userId: user.id,
        status: 'email_verified',
        isPhoneVerified: false,
        isEmailVerified: true,
        isFullyVerified: false,
      },
    });
    const me = await api('GET', '/users/me/verification', { token });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ userId: user.id, status: 'email_verified' });
    expectErrorShape(await send(token, 'email'), 409, 'already_verified');
    expectErrorShape(await verify(token, 'email', code), 404, 'no_active_code');
  });

  it('phone after email makes the user fully verified; status by id for self, staff and others', async () => {
    const { user, token } = await newUser({ phone: `+4477${Date.now() % 100000000}` });
    const emailCode = await sendAndCapture(user, token, 'email');
    expect((await verify(token, 'email', emailCode)).status).toBe(200);
    const phoneSent = await send(token, 'phone');
    expect(phoneSent.body).toMatchObject({
      destination: `+${'*'.repeat((user.phone as string).length - 5)}${(user.phone as string).slice(-4)}`,
    });
    const phoneCode = webhook.codeFor(user.phone as string);
    secrets.add(phoneCode);
    const done = await verify(token, 'phone', phoneCode);
    expect(done.body).toMatchObject({
      verification: { status: 'verified', isFullyVerified: true },
    });

    const self = await api('GET', `/users/${user.id}/verification`, { token });
    expect(self.status).toBe(200);
    expect(self.body).toMatchObject({ userId: user.id, status: 'verified' });

    const other = await newUser();
    expectErrorShape(
      await api('GET', `/users/${user.id}/verification`, { token: other.token }),
      404,
      'not_found',
    );
    const staff = await newUser({ role: 'staff' });
    const byStaff = await api('GET', `/users/${user.id}/verification`, { token: staff.token });
    expect(byStaff.status).toBe(200);
    expect(byStaff.body).toMatchObject({ userId: user.id, isFullyVerified: true });
    expectErrorShape(
      await api('GET', '/users/2147483000/verification', { token: staff.token }),
      404,
      'not_found',
    );
    expectErrorShape(
      await api('GET', '/users/abc/verification', { token: staff.token }),
      400,
      'invalid_request',
    );
  });

  it('writes the message in the body locale, else by Accept-Language, and answers which', async () => {
    const byHeader = await newUser();
    const sent = await api('POST', '/verification/codes', {
      token: byHeader.token,
      body: { channel: 'email' },
      headers: { 'Accept-Language': 'ja, de-DE;q=0.9, en;q=0.5' },
    });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ locale: 'de' });
    const german = webhook.delivered.at(-1) as Delivered;
    secrets.add(german.code);
    expect(german).toMatchObject({
      destination: byHeader.user.email,
      locale: 'de',
      subject: 'Ihr Bestätigungscode für verification-service',
    });
    expect(german.text).toContain(
      `Ihr Bestätigungscode für verification-service lautet ${german.code}.`,
    );
    expect(german.text).toContain('10 Minuten');

    const byBody = await newUser({ phone: `+4477${Date.now() % 100000000}` });
    const phone = await api('POST', '/verification/codes', {
      token: byBody.token,
      body: { channel: 'phone', locale: 'pt-BR' },
      headers: { 'Accept-Language': 'fr' },
    });
    expect(phone.body).toMatchObject({ locale: 'pt' });
    const sms = webhook.delivered.at(-1) as Delivered;
    secrets.add(sms.code);
    expect(sms).not.toHaveProperty('subject');
    expect(sms.text).toBe(
      `${sms.code} é o seu código de verificação para verification-service. Expira em 10 minutos.`,
    );
  });

  it('routes /users/me/verification to the caller, not to /users/{id}', async () => {
    const { user, token } = await newUser();
    const me = await api('GET', '/users/me/verification', { token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      userId: user.id,
      status: 'unverified',
      isPhoneVerified: false,
      isEmailVerified: false,
      isFullyVerified: false,
    });
    expectErrorShape(await api('GET', '/users/me/verification'), 401, 'unauthorized');
  });
});

describe('every error of the verification endpoints over HTTP', () => {
  it('429 rate_limited with Retry-After on a resend within the cooldown', async () => {
    const { user, token } = await newUser();
    await sendAndCapture(user, token, 'email');
    const again = await send(token, 'email');
    expectErrorShape(again, 429, 'rate_limited');
    const retryAfter = Number(again.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(again.body).toMatchObject({
      error: { reason: 'cooldown', retryAfterSeconds: retryAfter },
    });
  });

  it('422 no_destination, 404 no_active_code, 400 for a malformed code, 401 without a token', async () => {
    const { token } = await newUser({ phone: null });
    expectErrorShape(await send(token, 'phone'), 422, 'no_destination');
    expectErrorShape(await verify(token, 'phone', '123456'), 404, 'no_active_code');
    expectErrorShape(await verify(token, 'phone', '12345'), 400, 'invalid_request');
    expectErrorShape(await send(token, 'fax'), 400, 'invalid_request');
    expectErrorShape(
      await api('POST', '/verification/codes', { body: { channel: 'email' } }),
      401,
      'unauthorized',
    );
  });

  it('410 code_expired', async () => {
    const { user, token } = await newUser();
    const code = await sendAndCapture(user, token, 'email');
    await db.sequelize.query(
      `UPDATE verification_codes SET expires_at = now() - interval '1 second' WHERE user_id = $1`,
      { bind: [user.id] },
    );
    expectErrorShape(await verify(token, 'email', code), 410, 'code_expired');
  });

  it('429 too_many_attempts on the last wrong try and on any later try', async () => {
    const { user, token } = await newUser();
    const code = await sendAndCapture(user, token, 'email');
    const wrongCode = code === '999999' ? '888888' : '999999';
    for (let i = 0; i < 4; i += 1) {
      expectErrorShape(await verify(token, 'email', wrongCode), 422, 'invalid_code');
    }
    expectErrorShape(await verify(token, 'email', wrongCode), 429, 'too_many_attempts');
    expectErrorShape(await verify(token, 'email', code), 429, 'too_many_attempts');
  });

  it('502 delivery_failed leaves no usable code', async () => {
    const { user, token } = await newUser();
    webhook.failing = true;
    try {
      expectErrorShape(await send(token, 'email'), 502, 'delivery_failed');
    } finally {
      webhook.failing = false;
    }
    const code = webhook.codeFor(user.email as string);
    secrets.add(code);
    expectErrorShape(await verify(token, 'email', code), 404, 'no_active_code');
  });

  it('404 no_active_code after the address changed', async () => {
    const { user, token } = await newUser();
    const code = await sendAndCapture(user, token, 'email');
    await db.sequelize.query(`UPDATE users SET email = $2 WHERE id = $1`, {
      bind: [user.id, `changed-${unique()}@example.com`],
    });
    expectErrorShape(await verify(token, 'email', code), 404, 'no_active_code');
  });
});

describe('concurrency over HTTP', () => {
  // serverless-offline starts one worker (a cold start, then its own database
  // connection) per concurrent request. Warm 20 of them first, with requests
  // that read the database, so the tests below measure the service rather than
  // the emulator's start-up on a loaded machine.
  beforeAll(async () => {
    const { token } = await newUser();
    const warm = await Promise.all(
      Array.from({ length: 20 }, () => verify(token, 'email', '000000')),
    );
    for (const r of warm) expectErrorShape(r, 404, 'no_active_code');
  }, 300_000);

  it('of 20 simultaneous correct submissions exactly one gets 200, the rest 404', async () => {
    const { user, token } = await newUser();
    const code = await sendAndCapture(user, token, 'email');
    const results = await Promise.all(
      Array.from({ length: 20 }, () => verify(token, 'email', code)),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) {
      expectErrorShape(r, 404, 'no_active_code');
    }
    // serverless-offline cold-starts a worker per concurrent request: allow for a loaded machine.
  }, 180_000);

  it('20 simultaneous wrong submissions never count more than the allowed attempts', async () => {
    const { user, token } = await newUser();
    const code = await sendAndCapture(user, token, 'email');
    const wrongCode = code === '123123' ? '321321' : '123123';
    const results = await Promise.all(
      Array.from({ length: 20 }, () => verify(token, 'email', wrongCode)),
    );
    expect(results.filter((r) => r.status === 422)).toHaveLength(4);
    expect(results.filter((r) => r.status === 429)).toHaveLength(16);
    expect((await codeRow(user.id, 'email'))?.attempts).toBe(5);
  }, 180_000);
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin', async () => {
    const res = await fetch(`${offline.baseUrl}/verification/codes`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,content-type',
      },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });
});

describe('logs', () => {
  it('are JSON with a request id, and never hold a code or a full address (webhook delivery)', async () => {
    const output = offline.output();
    expect(secrets.size).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(output.includes(secret) ? secret : null).toBeNull();
    }
    const lines = output
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('{') && l.includes('verification code sent'));
    expect(lines.length).toBeGreaterThan(0);
    const entry = JSON.parse(lines[0] as string);
    expect(entry).toMatchObject({
      level: 'INFO',
      requestId: expect.any(String),
      destination: expect.stringContaining('***'),
    });
  });
});
