import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import type { Database } from '../../lib/db';
import type { PgDatabase } from '../../lib/pgDatabase';
import { AppError } from '../../lib/errors';
import {
  IdempotentRequest,
  IN_PROGRESS_LEASE_SECONDS,
  requestFingerprint,
} from '../../lib/idempotency/request';
import { KeyedOutcome, runKeyed } from '../../lib/idempotency/run';
import { cancelRequest, createRequest, decideRequest } from '../../lib/staffApprovals/service';
import {
  CONSUME_KEYED_SQL,
  COUNT_ATTEMPT_KEYED_SQL,
  issueCode,
  VerificationDeps,
  verifyCode,
} from '../../lib/verification/service';
import { verificationSettings } from '../../lib/verification/settings';
import type { Channel, User } from '../../models';
import { buildUser, unique } from '../helpers/factories';
import { countStatements } from '../helpers/statements';
import { openServiceDatabase, RecordingSender } from '../helpers/serviceHarness';
import type { TestDatabase } from '../helpers/testDatabase';

// Idempotency-Key at the service level, with a clock of the test's own: what
// is stored with which effect, expiry, a holder that died, a failed delivery.
// The HTTP rules (the header, Idempotent-Replayed, 400s, concurrency through
// serverless-offline) are in test/e2e/idempotency.test.ts.

const PEPPER = 'idempotency-test-pepper-0123456789';
const START = Date.parse('2026-11-30T10:00:00.000Z');
const TTL = 3600;
const SEND = 'POST /verification/codes';
const VERIFY = 'POST /verification/verify';

let testDb: TestDatabase;
let db: Database;
let pgDb: PgDatabase;
let clock = START;
const now = () => new Date(clock);

beforeAll(async () => {
  ({ testDb, db, pg: pgDb } = await openServiceDatabase());
});

afterAll(async () => {
  await db?.sequelize.close();
  await pgDb?.pool.end();
  await testDb?.drop();
});

beforeEach(() => {
  clock = START;
});

function verificationDeps(sender = new RecordingSender()): VerificationDeps & {
  sender: RecordingSender;
} {
  return {
    sql: pgDb.sql,
    now,
    sender,
    settings: verificationSettings({ VERIFICATION_CODE_PEPPER: PEPPER }),
  };
}

const keyed = (userId: number, route: string, key: string, body: unknown, status = 200) =>
  new IdempotentRequest(userId, route, key, requestFingerprint({}, body), status, {
    ttlSeconds: TTL,
  });

/**
 * What the API would answer: the value, a replay, or the error's code. Keys of
 * sends and verifies are stored through the pg pool of those functions, the
 * staff routes' through Sequelize's pool.
 */
async function answer<T>(
  idem: IdempotentRequest,
  call: () => Promise<T>,
): Promise<KeyedOutcome<T> | { error: string; status: number }> {
  try {
    const pool = idem.route.startsWith('POST /verification/') ? pgDb.sql : db.sql;
    return await runKeyed(pool, idem, now, call);
  } catch (err) {
    if (err instanceof AppError) return { error: err.code, status: err.status };
    throw err;
  }
}

const send = (deps: VerificationDeps, user: User, key: string, channel: Channel = 'email') => {
  const idem = keyed(user.id, SEND, key, { channel }, 201);
  return answer(idem, () => issueCode(deps, user.id, channel, { idempotency: idem }));
};

const verify = (deps: VerificationDeps, user: User, key: string, code: string) => {
  const idem = keyed(user.id, VERIFY, key, { channel: 'email', code });
  return answer(idem, () => verifyCode(deps, user.id, 'email', code, idem));
};

const codeCount = async (userId: number) =>
  (
    await db.sequelize.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM verification_codes WHERE user_id = $1',
      { bind: [userId], type: QueryTypes.SELECT },
    )
  )[0]?.n;

const keyRow = async (userId: number, key: string) =>
  (
    await db.sequelize.query<{ state: string; status: number | null; response_body: string }>(
      'SELECT state, status, response_body FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      { bind: [userId, key], type: QueryTypes.SELECT },
    )
  )[0];

const newUser = () => buildUser(db.models, { email: `idem-${unique()}@example.com` });

describe('a send with an Idempotency-Key', () => {
  it('stores its 201 with the code and replays it: no second code, no second delivery', async () => {
    const deps = verificationDeps();
    const user = await newUser();
    const first = await send(deps, user, 'k1');
    expect(first).toEqual({ value: expect.objectContaining({ channel: 'email' }) });
    expect(await keyRow(user.id, 'k1')).toMatchObject({ state: 'done', status: 201 });

    clock += 5000;
    const again = await send(deps, user, 'k1');
    expect(again).toEqual({
      replay: {
        status: 201,
        body: JSON.stringify((first as { value: unknown }).value),
        retryAfter: null,
      },
    });
    expect(deps.sender.messages).toHaveLength(1);
    expect(await codeCount(user.id)).toBe(1);
  });

  it('stores a refusal and replays it after the limit has lifted, sending nothing', async () => {
    const deps = verificationDeps();
    const user = await newUser();
    expect(await send(deps, user, 'a')).toHaveProperty('value');
    clock += 1000;
    const refused = await send(deps, user, 'b');
    expect(refused).toEqual({ error: 'rate_limited', status: 429 });
    const stored = await keyRow(user.id, 'b');
    expect(stored).toMatchObject({ state: 'done', status: 429 });
    expect(JSON.parse(stored!.response_body)).toMatchObject({
      error: { code: 'rate_limited', reason: 'cooldown', retryAfterSeconds: 29 },
    });

    clock += 60_000; // the cooldown is long over
    expect(await send(deps, user, 'b')).toEqual({
      replay: { status: 429, body: stored!.response_body, retryAfter: 29 },
    });
    expect(deps.sender.messages).toHaveLength(1);
    expect(await codeCount(user.id)).toBe(1);
  });

  it('is 422 idempotency_key_reused for another body under the same key', async () => {
    const deps = verificationDeps();
    const user = await newUser();
    await send(deps, user, 'same', 'email');
    clock += 60_000;
    expect(await send(deps, user, 'same', 'phone')).toEqual({
      error: 'idempotency_key_reused',
      status: 422,
    });
    expect(deps.sender.messages).toHaveLength(1);
  });

  it('runs again once the key has expired', async () => {
    const deps = verificationDeps();
    const user = await newUser();
    await send(deps, user, 'old');
    clock += TTL * 1000;
    expect(await send(deps, user, 'old')).toHaveProperty('value');
    expect(deps.sender.messages).toHaveLength(2);
  });

  it('gives the key up when the delivery fails (502 is not stored), so a retry sends', async () => {
    const deps = verificationDeps();
    const user = await newUser();
    deps.sender.failing = true;
    expect(await send(deps, user, 'retry-me')).toEqual({ error: 'delivery_failed', status: 502 });
    expect(await keyRow(user.id, 'retry-me')).toBeUndefined();

    deps.sender.failing = false;
    clock += 60_000;
    expect(await send(deps, user, 'retry-me')).toHaveProperty('value');
    expect(deps.sender.messages).toHaveLength(2);
  });

  it('answers 409 while the first send is delivering, and its stored answer once the lease is over', async () => {
    const deps = verificationDeps();
    const user = await newUser();
    const first = await send(deps, user, 'slow');
    // As if the first request had died after its commit, before delivery was confirmed.
    await db.sequelize.query(
      `UPDATE idempotency_keys SET state = 'delivering' WHERE user_id = $1 AND key = 'slow'`,
      { bind: [user.id] },
    );
    clock += 1000;
    expect(await send(deps, user, 'slow')).toEqual({
      error: 'idempotency_key_in_use',
      status: 409,
    });
    clock += IN_PROGRESS_LEASE_SECONDS * 1000;
    expect(await send(deps, user, 'slow')).toEqual({
      replay: expect.objectContaining({
        status: 201,
        body: JSON.stringify((first as { value: unknown }).value),
      }),
    });
    expect(deps.sender.messages).toHaveLength(1);
  });

  it('is scoped to the caller: two users may use the same key', async () => {
    const deps = verificationDeps();
    const [a, b] = [await newUser(), await newUser()];
    expect(await send(deps, a, 'shared')).toHaveProperty('value');
    expect(await send(deps, b, 'shared')).toHaveProperty('value');
    expect(deps.sender.messages.map((m) => m.destination)).toEqual([a.email, b.email]);
  });
});

describe('a verify with an Idempotency-Key', () => {
  async function withCode() {
    const deps = verificationDeps();
    const user = await newUser();
    await issueCode(deps, user.id, 'email');
    return { deps, user, code: deps.sender.last().code };
  }

  it('replays its 200 after success (without a key the retry would be 404)', async () => {
    const { deps, user, code } = await withCode();
    const first = await verify(deps, user, 'v1', code);
    expect(first).toEqual({ value: expect.objectContaining({ verified: true }) });
    const again = await verify(deps, user, 'v1', code);
    expect(again).toEqual({
      replay: {
        status: 200,
        body: JSON.stringify((first as { value: unknown }).value),
        retryAfter: null,
      },
    });
    await expect(verifyCode(deps, user.id, 'email', code)).rejects.toMatchObject({
      code: 'no_active_code',
    });
  });

  it('counts a wrong code once, however often it is retried', async () => {
    const { deps, user, code } = await withCode();
    const bad = code.replace(/^./, (d) => String((Number(d) + 1) % 10));
    expect(await verify(deps, user, 'w', bad)).toEqual({ error: 'invalid_code', status: 422 });
    const replay = await verify(deps, user, 'w', bad);
    expect(replay).toEqual({
      replay: {
        status: 422,
        body: JSON.stringify({
          error: { code: 'invalid_code', message: 'The code is not correct', attemptsRemaining: 4 },
        }),
        retryAfter: null,
      },
    });
    const [row] = await db.sequelize.query<{ attempts: number }>(
      'SELECT attempts FROM verification_codes WHERE user_id = $1',
      { bind: [user.id], type: QueryTypes.SELECT },
    );
    expect(row?.attempts).toBe(1);
  });

  it('stores the 429 of the last attempt with the attempt that used it up', async () => {
    const { deps, user, code } = await withCode();
    const bad = code.replace(/^./, (d) => String((Number(d) + 1) % 10));
    for (let i = 0; i < 4; i += 1) await verifyCode(deps, user.id, 'email', bad).catch(() => 0);
    expect(await verify(deps, user, 'last', bad)).toEqual({
      error: 'too_many_attempts',
      status: 429,
    });
    expect(await keyRow(user.id, 'last')).toMatchObject({ state: 'done', status: 429 });
  });

  it('answers 409 while another request holds the key, and leaves the code usable', async () => {
    const { deps, user, code } = await withCode();
    const idem = keyed(user.id, VERIFY, 'taken', { channel: 'email', code });
    await db.sequelize.query(
      `INSERT INTO idempotency_keys
         (user_id, route, key, fingerprint, claim_id, state, created_at, expires_at)
       VALUES ($1, $2, 'taken', $3, $4, 'running', $5, $6)`,
      {
        bind: [user.id, VERIFY, idem.fingerprint, randomUUID(), now(), new Date(clock + 1e6)],
      },
    );
    expect(await answer(idem, () => verifyCode(deps, user.id, 'email', code, idem))).toEqual({
      error: 'idempotency_key_in_use',
      status: 409,
    });
    const result = await verifyCode(deps, user.id, 'email', code);
    expect(result.verified).toBe(true);
  });

  it('consumes nothing, and counts nothing, once its claim is no longer its own', async () => {
    const { deps, user, code } = await withCode();
    const [active] = await db.sequelize.query<{ id: string; destination: string }>(
      'SELECT id, destination FROM verification_codes WHERE user_id = $1',
      { bind: [user.id], type: QueryTypes.SELECT },
    );
    // A claim of another request (as after a takeover): the statements that
    // would write this request's answer find no claim of theirs.
    await db.sequelize.query(
      `INSERT INTO idempotency_keys
         (user_id, route, key, fingerprint, claim_id, state, created_at, expires_at)
       VALUES ($1, $2, 'gone', 'f', $3, 'running', $4, $5)`,
      { bind: [user.id, VERIFY, randomUUID(), now(), new Date(clock + 1e6)] },
    );
    const notMine = [VERIFY, 'gone', randomUUID()];
    const consumed = await db.sequelize.query(CONSUME_KEYED_SQL, {
      bind: [
        active!.id,
        now().toISOString(),
        'phone_verified',
        'verified',
        'email_verified',
        active!.destination,
        user.id,
        'email',
        ...notMine,
        '{}',
        '{}',
      ],
      type: QueryTypes.SELECT,
    });
    const counted = await db.sequelize.query(COUNT_ATTEMPT_KEYED_SQL, {
      bind: [active!.id, now().toISOString(), user.id, 'email', ...notMine, 429, 422, '{}', '{}'],
      type: QueryTypes.SELECT,
    });
    expect([consumed, counted]).toEqual([[], []]);
    const [row] = await db.sequelize.query<{ attempts: number; consumed_at: Date | null }>(
      'SELECT attempts, consumed_at FROM verification_codes WHERE id = $1',
      { bind: [active!.id], type: QueryTypes.SELECT },
    );
    expect(row).toEqual({ attempts: 0, consumed_at: null });
    expect((await verifyCode(deps, user.id, 'email', code)).verified).toBe(true);
  });

  it('takes over a claim whose holder died once the lease is over', async () => {
    const { deps, user, code } = await withCode();
    const idem = keyed(user.id, VERIFY, 'orphan', { channel: 'email', code });
    await db.sequelize.query(
      `INSERT INTO idempotency_keys
         (user_id, route, key, fingerprint, claim_id, state, created_at, expires_at)
       VALUES ($1, $2, 'orphan', $3, $4, 'running', $5, $6)`,
      {
        bind: [
          user.id,
          VERIFY,
          idem.fingerprint,
          randomUUID(),
          new Date(clock - IN_PROGRESS_LEASE_SECONDS * 1000),
          new Date(clock + 1e6),
        ],
      },
    );
    expect(await verify(deps, user, 'orphan', code)).toEqual({
      value: expect.objectContaining({ verified: true }),
    });
  });
});

describe('staff decisions with an Idempotency-Key', () => {
  const staffDeps = () => ({ sequelize: db.sequelize, now, maxPendingPerUser: 10 });

  it('replays an approval instead of answering 409 not_pending, and records it once', async () => {
    const staff = await buildUser(db.models, { role: 'staff' });
    const subject = await newUser();
    const filed = await createRequest(staffDeps(), staff, {
      requestType: 'account_review',
      userId: subject.id,
    });
    const other = await buildUser(db.models, { role: 'staff' });
    const route = 'POST /staff-approval-requests/{id}/approve';
    const idem = () =>
      new IdempotentRequest(
        other.id,
        route,
        'ap',
        requestFingerprint({ id: filed.id }, null),
        200,
        {
          ttlSeconds: TTL,
        },
      );
    const first = idem();
    const approved = await answer(first, () =>
      decideRequest(staffDeps(), other, filed.id, 'approved', undefined, first),
    );
    expect(approved).toEqual({ value: expect.objectContaining({ status: 'approved' }) });
    clock += 1000;
    const second = idem();
    expect(
      await answer(second, () =>
        decideRequest(staffDeps(), other, filed.id, 'approved', undefined, second),
      ),
    ).toEqual({
      replay: {
        status: 200,
        body: JSON.stringify((approved as { value: unknown }).value),
        retryAfter: null,
      },
    });
    await expect(
      decideRequest(staffDeps(), other, filed.id, 'approved', undefined),
    ).rejects.toMatchObject({ code: 'not_pending' });
  });

  it('files one request for a repeated create, and leaves it pending while a claim is held', async () => {
    const user = await newUser();
    const route = 'POST /staff-approval-requests';
    const body = { requestType: 'account_review' };
    const make = () =>
      new IdempotentRequest(user.id, route, 'c', requestFingerprint({}, body), 201, {
        ttlSeconds: TTL,
      });
    const a = make();
    const created = await answer(a, () => createRequest(staffDeps(), user, body, a));
    const b = make();
    const again = await answer(b, () => createRequest(staffDeps(), user, body, b));
    expect(again).toHaveProperty('replay');
    const [{ n }] = (await db.sequelize.query(
      'SELECT count(*)::int AS n FROM staff_approval_requests WHERE user_id = $1',
      { bind: [user.id], type: QueryTypes.SELECT },
    )) as [{ n: number }];
    expect(n).toBe(1);

    // A cancel whose key another request still holds: 409, and nothing changes.
    const id = (created as { value: { id: string } }).value.id;
    const cancelRoute = 'POST /staff-approval-requests/{id}/cancel';
    const cancel = new IdempotentRequest(
      user.id,
      cancelRoute,
      'x',
      requestFingerprint({ id }, null),
      200,
      { ttlSeconds: TTL },
    );
    await db.sequelize.query(
      `INSERT INTO idempotency_keys
         (user_id, route, key, fingerprint, claim_id, state, created_at, expires_at)
       VALUES ($1, $2, 'x', $3, $4, 'running', $5, $6)`,
      {
        bind: [
          user.id,
          cancelRoute,
          cancel.fingerprint,
          randomUUID(),
          now(),
          new Date(clock + 1e6),
        ],
      },
    );
    expect(await answer(cancel, () => cancelRequest(staffDeps(), user, id, cancel))).toEqual({
      error: 'idempotency_key_in_use',
      status: 409,
    });
    const [row] = await db.sequelize.query<{ status: string }>(
      'SELECT status FROM staff_approval_requests WHERE id = $1',
      { bind: [id], type: QueryTypes.SELECT },
    );
    expect(row?.status).toBe('pending');
  });
});

describe('database round trips with a key', () => {
  it('a send takes one more than without (4: BEGIN with the lock, write, answer with COMMIT, delivered); a verify the same 2', async () => {
    const deps = verificationDeps();
    const user = await newUser();
    expect(await countStatements(() => send(deps, user, 'rt-send'))).toBe(4);
    const code = deps.sender.last().code;
    expect(await countStatements(() => verify(deps, user, 'rt-verify', code))).toBe(2);
    // A replay: one statement (the lock, which reads the stored answer) and the ROLLBACK.
    expect(await countStatements(() => send(deps, user, 'rt-send'))).toBe(2);
  });
});
