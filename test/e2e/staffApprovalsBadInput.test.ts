import { randomUUID } from 'node:crypto';
import type { Database } from '../../lib/db';
import { ApiCall, ApiResponse, expectErrorShape } from '../helpers/api';
import { buildUser } from '../helpers/factories';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { tokenFor } from '../helpers/tokens';

/**
 * A corpus of bad requests over HTTP: every one answers a 4xx in the SPEC's
 * error shape with the expected code, never a 5xx or a stack trace.
 */

// HTTP through serverless-offline is slow on a loaded machine: generous bounds, no hangs.
jest.setTimeout(180_000);

let stack: ApiStack;
let db: Database;
let api: ApiCall;

interface Case {
  name: string;
  method: string;
  path: string;
  token?: 'user' | 'staff' | 'none' | 'bad' | 'expired' | 'unknown';
  body?: unknown;
  rawBody?: string;
  status: number;
  code: string;
}

const BASE = '/staff-approval-requests';
const enc = encodeURIComponent;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

const badIds = [
  '1',
  '0',
  '-1',
  'abc',
  'null',
  'undefined',
  '00000000-0000-0000-0000-00000000000',
  '00000000-0000-0000-0000-0000000000000',
  'gggggggg-gggg-gggg-gggg-gggggggggggg',
  '{00000000-0000-0000-0000-000000000000}',
  enc("' OR 1=1 --"),
  enc('1; DROP TABLE users'),
  enc('é'),
  enc('💥'),
  '%00',
  'x'.repeat(300),
];

const injections = [
  "' OR '1'='1",
  'Robert"); DROP TABLE staff_approval_requests;--',
  '$1',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '${jndi:ldap://x}',
  '\u0000',
  '💥💥💥',
  'ÄÖÜ',
  'a'.repeat(65),
];

function corpus(): (Case & { group: string })[] {
  const cases: (Case & { group: string })[] = [];
  let group = '';
  const add = (c: Case) => cases.push({ ...c, group });

  // Authentication, on every route.
  group = 'missing or bad tokens';
  const routes: [string, string][] = [
    ['POST', BASE],
    ['GET', BASE],
    ['GET', `${BASE}/${randomUUID()}`],
    ['POST', `${BASE}/${randomUUID()}/approve`],
    ['POST', `${BASE}/${randomUUID()}/reject`],
    ['POST', `${BASE}/${randomUUID()}/cancel`],
  ];
  for (const [method, path] of routes) {
    for (const token of ['none', 'bad', 'expired', 'unknown'] as const) {
      add({
        name: `${method} ${path} ${token} token`,
        method,
        path,
        token,
        status: 401,
        code: 'unauthorized',
      });
    }
  }

  // Malformed ids.
  group = 'malformed ids';
  for (const id of badIds) {
    add({
      name: `get ${id}`,
      method: 'GET',
      path: `${BASE}/${id}`,
      token: 'user',
      status: 400,
      code: 'invalid_request',
    });
    add({
      name: `approve ${id}`,
      method: 'POST',
      path: `${BASE}/${id}/approve`,
      token: 'staff',
      status: 400,
      code: 'invalid_request',
    });
    add({
      name: `reject ${id}`,
      method: 'POST',
      path: `${BASE}/${id}/reject`,
      token: 'staff',
      body: { note: 'x' },
      status: 400,
      code: 'invalid_request',
    });
    add({
      name: `cancel ${id}`,
      method: 'POST',
      path: `${BASE}/${id}/cancel`,
      token: 'user',
      status: 400,
      code: 'invalid_request',
    });
    add({
      name: `approve ${id} as user`,
      method: 'POST',
      path: `${BASE}/${id}/approve`,
      token: 'user',
      status: 403,
      code: 'forbidden',
    });
  }

  // Bad create bodies.
  group = 'bad create bodies';
  const badCreate: unknown[] = [
    {},
    { requestType: null },
    { requestType: 5 },
    { requestType: '' },
    { requestType: 'ab' },
    { requestType: 'Abc' },
    { requestType: '1abc' },
    { requestType: 'has space' },
    { requestType: 'has-dash' },
    { requestType: 'a'.repeat(65) },
    { requestType: 'good_type', details: [] },
    { requestType: 'good_type', details: 'x' },
    { requestType: 'good_type', details: null },
    { requestType: 'good_type', details: 5 },
    { requestType: 'good_type', details: { big: 'x'.repeat(5000) } },
    {
      requestType: 'good_type',
      details: { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } },
    },
    { requestType: 'good_type', details: { nul: 'a\u0000b' } },
    { requestType: 'good_type', details: { 'k\u0000': 1 } },
    { requestType: 'good_type', details: { lone: '\ud800' } },
    { requestType: 'good_type', userId: 'me' },
    { requestType: 'good_type', userId: 0 },
    { requestType: 'good_type', userId: -5 },
    { requestType: 'good_type', userId: 1.5 },
    { requestType: 'good_type', userId: 2147483648 },
    { requestType: 'good_type', userId: null },
    { requestType: 'good_type', extra: 1 },
    { requestType: 'manual_verification' },
    { requestType: 'manual_verification', details: { channel: 'PHONE' } },
    { requestType: 'manual_verification', details: { channel: null } },
    ...injections.map((s) => ({ requestType: s })),
  ];
  for (const body of badCreate) {
    add({
      name: `create ${JSON.stringify(body).slice(0, 60)}`,
      method: 'POST',
      path: BASE,
      token: 'user',
      body,
      status: 400,
      code: 'invalid_request',
    });
  }
  const rawBodies = [
    '',
    'not json',
    '{',
    '[]',
    'null',
    '"string"',
    '42',
    '{"requestType":"abc",}',
    '\u0000',
    'x'.repeat(20000),
  ];
  for (const rawBody of rawBodies) {
    add({
      name: `create raw ${rawBody.slice(0, 20)}`,
      method: 'POST',
      path: BASE,
      token: 'user',
      rawBody,
      status: 400,
      code: 'invalid_request',
    });
  }
  // A lone surrogate written as a JSON escape, as a client might send it.
  add({
    name: 'create escaped lone surrogate',
    method: 'POST',
    path: BASE,
    token: 'user',
    rawBody: '{"requestType":"good_type","details":{"s":"\\udc00"}}',
    status: 400,
    code: 'invalid_request',
  });
  add({
    name: 'create escaped NUL',
    method: 'POST',
    path: BASE,
    token: 'user',
    rawBody: '{"requestType":"good_type","details":{"s":"\\u0000"}}',
    status: 400,
    code: 'invalid_request',
  });

  // Bad approve / reject / cancel bodies (on an unknown id: the body is checked first).
  group = 'bad decision and cancel bodies';
  const someId = randomUUID();
  const badApprove: unknown[] = [
    { note: 5 },
    { note: null },
    { note: 'x'.repeat(2001) },
    { note: 'a\u0000' },
    { other: 1 },
    { note: 'ok', x: 1 },
  ];
  for (const body of badApprove) {
    add({
      name: `approve body ${JSON.stringify(body).slice(0, 40)}`,
      method: 'POST',
      path: `${BASE}/${someId}/approve`,
      token: 'staff',
      body,
      status: 400,
      code: 'invalid_request',
    });
  }
  for (const rawBody of ['nope', '[]', '"x"', '{"note":']) {
    add({
      name: `approve raw ${rawBody}`,
      method: 'POST',
      path: `${BASE}/${someId}/approve`,
      token: 'staff',
      rawBody,
      status: 400,
      code: 'invalid_request',
    });
  }
  const badReject: unknown[] = [
    {},
    { note: '' },
    { note: ' \n\t ' },
    { note: 1 },
    { note: null },
    { note: ['x'] },
    { note: 'x'.repeat(2001) },
    { note: 'x', extra: true },
  ];
  for (const body of badReject) {
    add({
      name: `reject body ${JSON.stringify(body).slice(0, 40)}`,
      method: 'POST',
      path: `${BASE}/${someId}/reject`,
      token: 'staff',
      body,
      status: 400,
      code: 'invalid_request',
    });
  }
  add({
    name: 'reject no body',
    method: 'POST',
    path: `${BASE}/${someId}/reject`,
    token: 'staff',
    status: 400,
    code: 'invalid_request',
  });
  for (const body of [{ note: 'x' }, { reason: 'x' }, [], 'x']) {
    add({
      name: `cancel body ${JSON.stringify(body)}`,
      method: 'POST',
      path: `${BASE}/${someId}/cancel`,
      token: 'user',
      body,
      status: 400,
      code: 'invalid_request',
    });
  }

  // Bad query strings.
  group = 'bad query strings and cursors';
  const badQueries = [
    'limit=0',
    'limit=-1',
    'limit=101',
    'limit=1000000000000000000000',
    'limit=1.5',
    'limit=1e2',
    'limit=abc',
    'limit=',
    'limit=%20',
    'limit=0x10',
    'status=done',
    'status=PENDING',
    'status=',
    `status=${enc("pending' OR '1'='1")}`,
    'status=pending&status=approved',
    'userId=abc',
    'userId=0',
    'userId=-1',
    'userId=1.5',
    'userId=99999999999',
    `userId=${enc('1 OR 1=1')}`,
    'sort=created_at',
    'offset=10',
    'cursor=',
    'cursor=!!!',
    `cursor=${'A'.repeat(600)}`,
    `cursor=${b64({})}`,
    `cursor=${b64([])}`,
    `cursor=${b64(null)}`,
    `cursor=${b64({ v: 2, t: '2026-01-01T00:00:00.000000Z', i: randomUUID(), f: 'x' })}`,
    `cursor=${b64({ v: 1, t: '2026-13-01T00:00:00.000000Z', i: randomUUID(), f: 'x' })}`,
    `cursor=${b64({ v: 1, t: "'; DROP TABLE users; --", i: randomUUID(), f: 'x' })}`,
    `cursor=${b64({ v: 1, t: '2026-01-01T00:00:00.000000Z', i: "1' OR '1'='1", f: 'x' })}`,
    `cursor=${b64({ v: 1, t: '2026-01-01T00:00:00.000000Z', i: randomUUID(), f: 'not-these-filters' })}`,
    `cursor=${b64({ v: 1, t: '2026-01-01T00:00:00.000000Z', i: randomUUID(), f: 'x', extra: 1 })}`,
    `cursor=${enc('💥')}`,
    `cursor=${enc("' OR 1=1 --")}`,
  ];
  for (const q of badQueries) {
    add({
      name: `list ?${q.slice(0, 60)}`,
      method: 'GET',
      path: `${BASE}?${q}`,
      token: 'staff',
      status: 400,
      code: 'invalid_request',
    });
  }
  for (const q of ['limit=500', 'status=nope', 'cursor=zzz']) {
    add({
      name: `list as user ?${q}`,
      method: 'GET',
      path: `${BASE}?${q}`,
      token: 'user',
      status: 400,
      code: 'invalid_request',
    });
  }
  return cases;
}

let tokens: Record<string, string | undefined>;

beforeAll(async () => {
  stack = await startApiStack({
    // Races open many connections at once; on a loaded machine the 3 s default
    // would turn a slow connect into a 503 and hide the answer under test.
    DATABASE_CONNECT_TIMEOUT_MS: '15000',
  });
  ({ db, api } = stack);
  const user = await buildUser(db.models);
  const staff = await buildUser(db.models, { role: 'staff' });
  tokens = {
    none: undefined,
    user: await tokenFor(user.id),
    staff: await tokenFor(staff.id),
    bad: await tokenFor(user.id, { secret: 'another-secret-that-is-at-least-32-characters' }),
    expired: await tokenFor(user.id, { expiresIn: '-1m' }),
    unknown: await tokenFor(2_000_000_000),
  };
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const cases = corpus();
const groups = [...new Set(cases.map((c) => c.group))];

it('has at least 150 bad requests', () => {
  expect(cases.length).toBeGreaterThanOrEqual(150);
});

// One request at a time: serverless-offline answers a sequence faster than a burst.
describe.each(groups)('%s', (group) => {
  it('each answers its 4xx in the SPEC error shape, never a 5xx', async () => {
    const results: { c: Case; res: ApiResponse }[] = [];
    for (const c of cases.filter((x) => x.group === group)) {
      const res = await api(c.method, c.path, {
        token: tokens[c.token ?? 'none'],
        body: c.body,
        rawBody: c.rawBody,
      });
      results.push({ c, res });
    }
    const wrong = results
      .filter(({ c, res }) => {
        const code = (res.body as { error?: { code?: string } } | undefined)?.error?.code;
        return res.status !== c.status || code !== c.code;
      })
      .map(
        ({ c, res }) =>
          `${c.name}: expected ${c.status} ${c.code}, got ${res.status} ${res.text.slice(0, 200)}`,
      );
    expect(wrong).toEqual([]);
    for (const { res } of results) {
      expect(res.status).toBeLessThan(500);
      expectErrorShape(res, res.status, (res.body as { error: { code: string } }).error.code);
    }
  });
});

// The messages are for the person who reads them: they name the path
// parameter, query parameter or field, and say what is wrong in words.
it.each([
  [
    'POST',
    `${BASE}/abc/approve`,
    undefined,
    'The path parameter id must be a uuid (such as 3f2c6b0e-8d4a-4c1e-9b7a-5d2f1e0c9a84)',
  ],
  [
    'GET',
    `${BASE}?limit=-1`,
    undefined,
    'The query parameter limit must be a whole number from 1 to 100',
  ],
  [
    'GET',
    `${BASE}?status=pending&status=approved`,
    undefined,
    'The query parameter status was given more than once: give it once, as one of "pending", "approved", "rejected", "cancelled"',
  ],
  ['POST', `${BASE}/${randomUUID()}/reject`, {}, 'note is required'],
])('%s %s answers a message written for a person', async (method, path, body, message) => {
  const res = await api(method, path, { token: tokens.staff, body });
  expectErrorShape(res, 400, 'invalid_request');
  expect((res.body as { error: { message: string } }).error.message).toBe(message);
});

it('created nothing', async () => {
  const [rows] = await db.sequelize.query('SELECT count(*)::int AS n FROM staff_approval_requests');
  expect(rows).toEqual([{ n: 0 }]);
});
