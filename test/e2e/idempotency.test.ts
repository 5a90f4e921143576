import { QueryTypes } from 'sequelize';
import type { Database } from '../../lib/db';
import { ApiCall, ApiResponse, expectErrorShape } from '../helpers/api';
import { ApiStack, startApiStackWithWebhook } from '../helpers/apiStack';
import { buildUser, unique } from '../helpers/factories';
import { tokenFor } from '../helpers/tokens';
import type { WebhookCapture } from '../helpers/webhookCapture';

// Idempotency-Key over HTTP, through serverless-offline: the header, the
// replay marker, the 400s for bad keys, and one key under concurrency. Every
// delivery reaches the webhook receiver below, so a second delivery would show.

let stack: ApiStack & { webhook: WebhookCapture };
let db: Database;
let api: ApiCall;
let webhook: WebhookCapture;

beforeAll(async () => {
  stack = await startApiStackWithWebhook({
    VERIFICATION_CODE_PEPPER: 'e2e-idempotency-pepper-0123456789abcdef',
  });
  ({ db, api, webhook } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function newUser(role: 'user' | 'staff' = 'user') {
  const user = await buildUser(db.models, { email: `e2e-idem-${unique()}@example.com`, role });
  return { user, token: await tokenFor(user.id) };
}

const withKey = (key: string) => ({ 'Idempotency-Key': key });
const deliveriesTo = (email: string) => webhook.to(email);
const replayed = (res: ApiResponse) => res.headers.get('idempotent-replayed');

const codeRows = async (userId: number) =>
  db.sequelize.query<{ attempts: number; consumed: boolean }>(
    `SELECT attempts, consumed_at IS NOT NULL AS consumed FROM verification_codes
     WHERE user_id = $1 ORDER BY created_at`,
    { bind: [userId], type: QueryTypes.SELECT },
  );

describe('Idempotency-Key on POST /verification/codes', () => {
  it('replays the 201 with Idempotent-Replayed: true, without a second code or delivery', async () => {
    const { user, token } = await newUser();
    const first = await api('POST', '/verification/codes', {
      token,
      body: { channel: 'email' },
      headers: withKey('send-1'),
    });
    expect(first.status).toBe(201);
    expect(replayed(first)).toBeNull();

    // Another spelling of the same JSON is the same request.
    const again = await api('POST', '/verification/codes', {
      token,
      rawBody: '{ "channel" : "email" }',
      headers: withKey('send-1'),
    });
    expect(again.status).toBe(201);
    expect(replayed(again)).toBe('true');
    expect(again.text).toBe(first.text);
    expect(again.headers.get('cache-control')).toBe('no-store');

    expect(deliveriesTo(user.email as string)).toHaveLength(1);
    expect(await codeRows(user.id)).toHaveLength(1);

    // Without the header, the retry is refused by the cooldown, as before.
    const unkeyed = await api('POST', '/verification/codes', { token, body: { channel: 'email' } });
    expectErrorShape(unkeyed, 429, 'rate_limited');
  });

  it('20 concurrent requests with one key: one code, one delivery, the others a replay or 409', async () => {
    const { user, token } = await newUser();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        api('POST', '/verification/codes', {
          token,
          body: { channel: 'email' },
          headers: withKey('burst'),
        }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    const created = answers.filter((a) => a.status === 201);
    expect(created.filter((a) => replayed(a) === null)).toHaveLength(1);
    expect(new Set(created.map((a) => a.text)).size).toBe(1);
    for (const busy of answers.filter((a) => a.status === 409)) {
      expectErrorShape(busy, 409, 'idempotency_key_in_use');
    }
    expect(deliveriesTo(user.email as string)).toHaveLength(1);
    expect(await codeRows(user.id)).toHaveLength(1);

    // Once it has finished, the key answers from the store.
    const after = await api('POST', '/verification/codes', {
      token,
      body: { channel: 'email' },
      headers: withKey('burst'),
    });
    expect([after.status, replayed(after), after.text]).toEqual([201, 'true', created[0]?.text]);
  });

  it('is 422 idempotency_key_reused for the same key with another body, and sends nothing', async () => {
    const { user, token } = await newUser();
    await api('POST', '/verification/codes', {
      token,
      body: { channel: 'email' },
      headers: withKey('reuse'),
    });
    const other = await api('POST', '/verification/codes', {
      token,
      body: { channel: 'phone' },
      headers: withKey('reuse'),
    });
    expectErrorShape(other, 422, 'idempotency_key_reused');
    expect(await codeRows(user.id)).toHaveLength(1);
  });

  it('keeps keys per caller: two users may send with the same key', async () => {
    const a = await newUser();
    const b = await newUser();
    for (const { token } of [a, b]) {
      const res = await api('POST', '/verification/codes', {
        token,
        body: { channel: 'email' },
        headers: withKey('everyone-uses-this'),
      });
      expect([res.status, replayed(res)]).toEqual([201, null]);
    }
    expect(deliveriesTo(a.user.email as string)).toHaveLength(1);
    expect(deliveriesTo(b.user.email as string)).toHaveLength(1);
  });

  it.each([
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['a tab (a control character)', 'a\tb'],
    ['a space', 'a b'],
    ['non-ASCII', 'clé'],
  ])('answers 400 for a key that is %s, and stores nothing', async (_label, key) => {
    const { user, token } = await newUser();
    const res = await api('POST', '/verification/codes', {
      token,
      body: { channel: 'email' },
      headers: withKey(key),
    });
    expectErrorShape(res, 400, 'invalid_request');
    expect((res.body as { error: { message: string } }).error.message).toMatch(/Idempotency-Key/);
    expect(await codeRows(user.id)).toEqual([]);
  });

  it('takes a key of exactly 255 visible characters', async () => {
    const { token } = await newUser();
    const res = await api('POST', '/verification/codes', {
      token,
      body: { channel: 'email' },
      headers: withKey(`${'~'.repeat(127)}!${'Z'.repeat(127)}`),
    });
    expect(res.status).toBe(201);
  });
});

describe('Idempotency-Key on POST /verification/verify', () => {
  it('replays the 200 of a verify whose answer was lost (without a key the retry is 404)', async () => {
    const { user, token } = await newUser();
    await api('POST', '/verification/codes', { token, body: { channel: 'email' } });
    const { code } = deliveriesTo(user.email as string).at(-1) as { code: string };

    const body = { channel: 'email', code };
    const first = await api('POST', '/verification/verify', {
      token,
      body,
      headers: withKey('verify-1'),
    });
    expect(first.status).toBe(200);
    const again = await api('POST', '/verification/verify', {
      token,
      body,
      headers: withKey('verify-1'),
    });
    expect([again.status, replayed(again), again.text]).toEqual([200, 'true', first.text]);

    const unkeyed = await api('POST', '/verification/verify', { token, body });
    expectErrorShape(unkeyed, 404, 'no_active_code');
  });

  it('counts a retried wrong code once and replays its 422', async () => {
    const { user, token } = await newUser();
    await api('POST', '/verification/codes', { token, body: { channel: 'email' } });
    const { code } = deliveriesTo(user.email as string).at(-1) as { code: string };
    const wrong = code.replace(/^./, (d) => String((Number(d) + 1) % 10));

    const tries = [];
    for (let i = 0; i < 3; i += 1) {
      tries.push(
        await api('POST', '/verification/verify', {
          token,
          body: { channel: 'email', code: wrong },
          headers: withKey('wrong-once'),
        }),
      );
    }
    for (const t of tries) expectErrorShape(t, 422, 'invalid_code');
    expect(tries.map(replayed)).toEqual([null, 'true', 'true']);
    expect((tries[2]?.body as { error: { attemptsRemaining: number } }).error).toMatchObject({
      attemptsRemaining: 4,
    });
    expect(await codeRows(user.id)).toEqual([{ attempts: 1, consumed: false }]);
  });
});

describe('Idempotency-Key on the staff routes', () => {
  it('replays an approval (without a key the retry is 409 not_pending); the key binds to the path', async () => {
    const { token: userToken } = await newUser();
    const filed = await api<{ id: string }>('POST', '/staff-approval-requests', {
      token: userToken,
      body: { requestType: 'account_review' },
      headers: withKey('file-it'),
    });
    expect(filed.status).toBe(201);
    const refiled = await api('POST', '/staff-approval-requests', {
      token: userToken,
      body: { requestType: 'account_review' },
      headers: withKey('file-it'),
    });
    expect([refiled.status, replayed(refiled), refiled.text]).toEqual([201, 'true', filed.text]);

    const { token: staffToken } = await newUser('staff');
    const path = `/staff-approval-requests/${filed.body.id}/approve`;
    const approved = await api('POST', path, { token: staffToken, headers: withKey('approve') });
    expect(approved.status).toBe(200);
    const again = await api('POST', path, { token: staffToken, headers: withKey('approve') });
    expect([again.status, replayed(again), again.text]).toEqual([200, 'true', approved.text]);
    expectErrorShape(await api('POST', path, { token: staffToken }), 409, 'not_pending');

    // The same key on the same route for another request: 422.
    const second = await api<{ id: string }>('POST', '/staff-approval-requests', {
      token: userToken,
      body: { requestType: 'address_change' },
    });
    const elsewhere = await api('POST', `/staff-approval-requests/${second.body.id}/approve`, {
      token: staffToken,
      headers: withKey('approve'),
    });
    expectErrorShape(elsewhere, 422, 'idempotency_key_reused');
  });

  it('stores a refusal: a replayed 409 stays 409 even after the cause is gone', async () => {
    const { token } = await newUser();
    const filed = await api<{ id: string }>('POST', '/staff-approval-requests', {
      token,
      body: { requestType: 'profile_review' },
    });
    const dup = await api('POST', '/staff-approval-requests', {
      token,
      body: { requestType: 'profile_review' },
      headers: withKey('dup'),
    });
    expectErrorShape(dup, 409, 'duplicate_pending');
    await api('POST', `/staff-approval-requests/${filed.body.id}/cancel`, { token });
    const replay = await api('POST', '/staff-approval-requests', {
      token,
      body: { requestType: 'profile_review' },
      headers: withKey('dup'),
    });
    expectErrorShape(replay, 409, 'duplicate_pending');
    expect(replayed(replay)).toBe('true');
  });
});
