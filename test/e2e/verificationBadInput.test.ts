import { SignJWT } from 'jose';
import type { Database } from '../../lib/db';
import { ApiCall, expectErrorShape } from '../helpers/api';
import { buildUser } from '../helpers/factories';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens';

// This instance also exercises the issuer, audience and custom user-id claim settings.
const ISSUER = 'https://issuer.test/pool';
const AUDIENCE = 'verification-web';
const CLAIM = 'custom:user_id';

let stack: ApiStack;
let db: Database;
let api: ApiCall;
let token: string;
let staffToken: string;

/** A token as the configured issuer would sign it. */
function signed(claims: Record<string, unknown>, opts: { secret?: string; exp?: string } = {}) {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '10m')
    .sign(new TextEncoder().encode(opts.secret ?? TEST_JWT_SECRET));
}

beforeAll(async () => {
  stack = await startApiStack({
    AUTH_ISSUER: ISSUER,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_USER_ID_CLAIM: CLAIM,
    VERIFICATION_CODE_PEPPER: 'e2e-bad-input-pepper-0123456789',
    // Every request here is refused before delivery; nothing listens on port 1.
    CODE_DELIVERY: 'webhook',
    CODE_WEBHOOK_URL: 'http://127.0.0.1:1/never',
  });
  ({ db, api } = stack);
  const user = await buildUser(db.models);
  const staff = await buildUser(db.models, { role: 'staff' });
  token = await signed({ [CLAIM]: String(user.id) });
  staffToken = await signed({ [CLAIM]: String(staff.id) });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  rawBody?: string;
  token?: string | null;
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const ENDPOINTS = ['/verification/codes', '/verification/verify'];

/** Bodies that are not a valid request for either POST endpoint. */
const BAD_BODIES: { name: string; body?: unknown; rawBody?: string }[] = [
  { name: 'no body' },
  { name: 'empty string', rawBody: '' },
  { name: 'not JSON', rawBody: 'channel=email' },
  { name: 'truncated JSON', rawBody: '{"channel":"email"' },
  { name: 'trailing garbage', rawBody: '{"channel":"email"}x' },
  { name: 'single quotes', rawBody: "{'channel':'email'}" },
  { name: 'JSON null', rawBody: 'null' },
  { name: 'JSON number', rawBody: '42' },
  { name: 'JSON string', rawBody: '"email"' },
  { name: 'JSON true', rawBody: 'true' },
  { name: 'array', body: [{ channel: 'email' }] },
  { name: 'empty array', body: [] },
  { name: 'empty object', body: {} },
  { name: 'channel null', body: { channel: null } },
  { name: 'channel number', body: { channel: 1 } },
  { name: 'channel array', body: { channel: ['email'] } },
  { name: 'channel object', body: { channel: { $ne: null } } },
  { name: 'channel bool', body: { channel: true } },
  { name: 'channel upper case', body: { channel: 'EMAIL' } },
  { name: 'channel padded', body: { channel: ' email' } },
  { name: 'channel sms', body: { channel: 'sms' } },
  { name: 'channel empty', body: { channel: '' } },
  { name: 'channel unicode', body: { channel: 'еmail' } },
  { name: 'channel NUL', body: { channel: 'email\u0000' } },
  { name: 'channel SQL', body: { channel: "email' OR '1'='1" } },
  { name: 'channel SQL 2', body: { channel: 'email; DROP TABLE users; --' } },
  { name: 'channel huge', body: { channel: 'e'.repeat(10000) } },
  { name: 'unknown field', body: { channel: 'email', extra: 1 } },
  { name: 'proto field', rawBody: '{"channel":"email","__proto__":{"admin":true}}' },
  { name: 'constructor field', body: { channel: 'email', constructor: { prototype: {} } } },
  { name: 'userId smuggled', body: { channel: 'email', userId: 1 } },
  { name: 'huge body', rawBody: JSON.stringify({ channel: 'email', pad: 'x'.repeat(40000) }) },
  { name: 'deep nesting', rawBody: `${'['.repeat(5000)}${']'.repeat(5000)}` },
  { name: 'emoji key', body: { '📧': 'email' } },
  { name: 'BOM prefix', rawBody: '\uFEFF{"channel":"email"}' },
  { name: 'locale with underscore', body: { channel: 'email', locale: 'pt_BR' } },
  { name: 'locale empty', body: { channel: 'email', locale: '' } },
  { name: 'locale number', body: { channel: 'email', locale: 7 } },
  { name: 'locale null', body: { channel: 'email', locale: null } },
  { name: 'locale list', body: { channel: 'email', locale: ['es'] } },
  { name: 'locale a header value', body: { channel: 'email', locale: 'es, en;q=0.5' } },
  { name: 'locale path', body: { channel: 'email', locale: '../../etc/passwd' } },
  { name: 'locale huge', body: { channel: 'email', locale: `en-${'a'.repeat(5000)}` } },
];

/** Verify bodies with a valid channel and a bad code (all 400). */
const BAD_CODES: unknown[] = [
  null,
  123456,
  12345.6,
  '',
  '12345',
  '1234567',
  '12345a',
  'abcdef',
  ' 123456',
  '123456 ',
  '12 3456',
  '１２３４５６',
  '١٢٣٤٥٦',
  '+12345',
  '-12345',
  '1e5000',
  '0x1234',
  ['123456'],
  { code: '123456' },
  true,
  "' OR 1=1 --",
  '9'.repeat(11),
  '1'.repeat(1000),
];

const JUNK_IDS = [
  '1e3',
  '-1',
  '0',
  '0x10',
  '99999999999',
  '2147483648',
  '%00',
  '1.0',
  '1.5',
  '01',
  '+1',
  'abc',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '1%20',
  '%201',
  '1;DROP%20TABLE%20users',
  "1'%20OR%20'1'='1",
  '%E2%82%AC',
  '%F0%9F%98%80',
  'me2',
  'ME',
  '1,2',
  '[1]',
  '%7B%7D',
  '9'.repeat(300),
];

/** Idempotency-Key values that are not 1 to 255 visible ASCII characters. */
const BAD_IDEMPOTENCY_KEYS: { name: string; key: string }[] = [
  { name: 'empty', key: '' },
  { name: '256 characters', key: 'x'.repeat(256) },
  { name: '4000 characters', key: 'x'.repeat(4000) },
  { name: 'a tab', key: 'key\there' },
  { name: 'a space inside', key: 'my key' },
  { name: 'Latin-1 letter', key: 'café' },
  { name: 'non-breaking space', key: 'a\u00a0b' },
];

function buildCases(badTokens: { name: string; token: string | null; header?: string }[]): Case[] {
  const cases: Case[] = [];
  for (const path of ENDPOINTS) {
    for (const k of BAD_IDEMPOTENCY_KEYS) {
      cases.push({
        name: `${path} Idempotency-Key ${k.name}`,
        method: 'POST',
        path,
        body: path === ENDPOINTS[0] ? { channel: 'email' } : { channel: 'email', code: '123456' },
        headers: { 'Idempotency-Key': k.key },
        status: 400,
        code: 'invalid_request',
      });
    }
  }
  for (const path of ENDPOINTS) {
    for (const b of BAD_BODIES) {
      cases.push({
        method: 'POST',
        path,
        body: b.body,
        rawBody: b.rawBody,
        name: `${path} ${b.name}`,
        status: 400,
        code: 'invalid_request',
      });
    }
  }
  for (const code of BAD_CODES) {
    for (const channel of ['email', 'phone']) {
      cases.push({
        name: `verify code ${JSON.stringify(code).slice(0, 40)} ${channel}`,
        method: 'POST',
        path: '/verification/verify',
        body: { channel, code },
        status: 400,
        code: 'invalid_request',
      });
    }
  }
  cases.push({
    name: 'verify without code',
    method: 'POST',
    path: '/verification/verify',
    body: { channel: 'email' },
    status: 400,
    code: 'invalid_request',
  });
  for (const id of JUNK_IDS) {
    cases.push({
      name: `junk id ${id.slice(0, 40)}`,
      method: 'GET',
      path: `/users/${id}/verification`,
      token: staffToken,
      status: 400,
      code: 'invalid_request',
    });
  }
  for (const id of ['2147483647', '1234567']) {
    cases.push({
      name: `unknown id ${id}`,
      method: 'GET',
      path: `/users/${id}/verification`,
      token: staffToken,
      status: 404,
      code: 'not_found',
    });
  }
  // Bad tokens, on every endpoint, with an otherwise valid request.
  const valid: Omit<Case, 'name' | 'status' | 'code'>[] = [
    { method: 'POST', path: '/verification/codes', body: { channel: 'email' } },
    { method: 'POST', path: '/verification/verify', body: { channel: 'email', code: '123456' } },
    { method: 'GET', path: '/users/me/verification' },
    { method: 'GET', path: '/users/1/verification' },
  ];
  for (const v of valid) {
    for (const t of badTokens) {
      cases.push({
        ...v,
        name: `${v.method} ${v.path} ${t.name}`,
        token: t.token,
        headers: t.header ? { Authorization: t.header } : undefined,
        status: 401,
        code: 'unauthorized',
      });
    }
  }
  return cases;
}

async function badTokens() {
  const bad: { name: string; token: string | null; header?: string }[] = [
    { name: 'no token', token: null },
    { name: 'garbage token', token: 'not.a.jwt' },
    { name: 'empty bearer', token: null, header: 'Bearer ' },
    { name: 'basic auth', token: null, header: 'Basic dXNlcjpwYXNz' },
    { name: 'two tokens', token: null, header: `Bearer ${token} ${token}` },
    {
      name: 'wrong secret',
      token: await signed({ [CLAIM]: '1' }, { secret: 'another-secret-another-secret-0123456789' }),
    },
    { name: 'expired', token: await signed({ [CLAIM]: '1' }, { exp: '-1m' }) },
    { name: 'wrong issuer', token: await signed({ [CLAIM]: '1', iss: 'https://evil.example' }) },
    { name: 'wrong audience', token: await signed({ [CLAIM]: '1', aud: 'other-app' }) },
    { name: 'id only in sub', token: await signed({ sub: '1' }) },
    { name: 'unknown user', token: await signed({ [CLAIM]: '2147483000' }) },
    { name: 'non-integer id', token: await signed({ [CLAIM]: '1.5' }) },
    { name: 'id with letters', token: await signed({ [CLAIM]: '1abc' }) },
    { name: 'negative id', token: await signed({ [CLAIM]: '-1' }) },
    { name: 'huge id', token: await signed({ [CLAIM]: '99999999999999999999' }) },
    { name: 'id array', token: await signed({ [CLAIM]: [1] }) },
    {
      name: 'alg none',
      token: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, [CLAIM]: '1' })).toString('base64url')}.`,
    },
    { name: 'test helper token (no iss/aud)', token: await tokenFor(1, { claim: CLAIM }) },
  ];
  return bad;
}

/** Runs `fn` over `items`, `limit` at a time. */
async function inBatches<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) {
    out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  }
  return out;
}

describe('a corpus of malformed requests', () => {
  it('never answers 5xx and always answers the SPEC error shape with the expected status', async () => {
    const cases = buildCases(await badTokens());
    expect(cases.length).toBeGreaterThanOrEqual(200);
    // One at a time: serverless-offline starts a worker (a cold start) per
    // concurrent request, which makes a parallel corpus slower, not faster.
    const results = await inBatches(cases, 1, async (c) => {
      const res = await api(c.method, c.path, {
        token: c.token === null ? undefined : (c.token ?? token),
        body: c.body,
        rawBody: c.rawBody,
        headers: c.headers,
      });
      return { c, res };
    });
    const mismatches = results
      .filter(
        ({ c, res }) =>
          res.status !== c.status ||
          (res.body as { error?: { code?: string } } | undefined)?.error?.code !== c.code,
      )
      .map(
        ({ c, res }) =>
          `${c.name}: expected ${c.status} ${c.code}, got ${res.status} ${res.text.slice(0, 200)}`,
      );
    expect(mismatches).toEqual([]);
    for (const { res, c } of results) {
      expect(res.status).toBeLessThan(500);
      expectErrorShape(res, c.status, c.code);
    }
    // Nothing was sent or written by any of them.
    expect(await db.models.VerificationCode.count()).toBe(0);
  }, 300_000);

  it('says in words what is wrong with a malformed locale', async () => {
    const res = await api('POST', '/verification/codes', {
      token,
      body: { channel: 'email', locale: 'en_US' },
    });
    expectErrorShape(res, 400, 'invalid_request');
    expect((res.body as { error: { message: string } }).error.message).toBe(
      'locale must be a BCP 47 language tag, such as "es" or "pt-BR"',
    );
  });

  it('answers 422 for phone numbers the main app stored that are no valid number, storing nothing', async () => {
    // users.phone is written by the main app too: a send must refuse junk there
    // (no default country is configured here, so a number without + is junk).
    const stored = [
      ' ',
      '+',
      '++12015550123',
      '+1 555 555 0100',
      '2015550123',
      'tel:+12015550123',
      "+1' OR '1'='1",
      '+1201555012\u0000',
      '+800 1234 5678',
      '+0 201 555 0123',
      '+1201555012345678901234',
      'phone',
    ];
    const answers: string[] = [];
    for (const phone of stored) {
      const user = await buildUser(db.models, { phone });
      const res = await api('POST', '/verification/codes', {
        token: await signed({ [CLAIM]: String(user.id) }),
        body: { channel: 'phone' },
      });
      answers.push(
        `${JSON.stringify(phone)}: ${res.status} ${(res.body as { error?: { code?: string } } | undefined)?.error?.code}`,
      );
    }
    expect(answers).toEqual(stored.map((p) => `${JSON.stringify(p)}: 422 invalid_destination`));
    expect(await db.models.VerificationCode.count()).toBe(0);
  });

  it('accepts the valid token of this configuration (issuer, audience, custom claim)', async () => {
    const res = await api('GET', '/users/me/verification', { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'unverified' });
  });
});
