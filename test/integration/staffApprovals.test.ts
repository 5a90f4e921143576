import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { createDatabase, Database } from '../../lib/db';
import { AppError, toHttpError } from '../../lib/errors';
import type { User } from '../../models';
import {
  ApprovalRequestJson,
  cancelRequest,
  createRequest,
  decideRequest,
  encodeCursor,
  getRequest,
  listRequests,
  StaffApprovalDeps,
} from '../../lib/staffApprovals/service';
import { buildUser, unique } from '../helpers/factories';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

let testDb: TestDatabase;
let db: Database;
let clock: Date;
let deps: StaffApprovalDeps;

beforeAll(async () => {
  testDb = await createTestDatabase();
  // A pool big enough for the concurrency tests to be really concurrent.
  db = createDatabase(
    { databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 5000 },
    { max: 12 },
  );
  clock = new Date('2026-11-26T20:00:00.000Z');
  deps = { sequelize: db.sequelize, now: () => clock, maxPendingPerUser: 10 };
});

afterAll(async () => {
  await db.sequelize.close();
  await testDb.drop();
});

/** The AppError a promise rejects with, as `{status, code}`. */
async function failure(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return { status: err.status, code: err.code };
    throw err;
  }
  throw new Error('expected an AppError');
}

const type = () => `type_${unique()}`;

describe('createRequest', () => {
  let user: User;
  let other: User;
  let staff: User;

  beforeAll(async () => {
    user = await buildUser(db.models);
    other = await buildUser(db.models);
    staff = await buildUser(db.models, { role: 'staff' });
  });

  it('files a request for oneself, with the SPEC shape', async () => {
    const requestType = type();
    const req = await createRequest(deps, user, { requestType, details: { reason: 'x' } });
    expect(req).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      userId: user.id,
      requestedBy: user.id,
      requestType,
      details: { reason: 'x' },
      status: 'pending',
      reviewedBy: null,
      reviewedAt: null,
      reviewNote: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.stringMatching(/Z$/),
    });
    expect(await createRequest(deps, user, { requestType: type(), userId: user.id })).toMatchObject(
      { userId: user.id, details: {} },
    );
  });

  it('lets staff file for anyone, but not a user for someone else', async () => {
    const req = await createRequest(deps, staff, { requestType: type(), userId: user.id });
    expect(req).toMatchObject({ userId: user.id, requestedBy: staff.id });
    expect(
      await failure(createRequest(deps, user, { requestType: type(), userId: other.id })),
    ).toEqual({ status: 403, code: 'forbidden' });
  });

  it('answers 404 when staff file for a user who does not exist', async () => {
    expect(
      await failure(createRequest(deps, staff, { requestType: type(), userId: 2147483000 })),
    ).toEqual({ status: 404, code: 'not_found' });
  });

  it('requires details.channel phone or email for manual_verification', async () => {
    for (const details of [undefined, {}, { channel: 'sms' }, { channel: ['phone'] }]) {
      expect(
        await failure(createRequest(deps, other, { requestType: 'manual_verification', details })),
      ).toEqual({ status: 400, code: 'invalid_request' });
    }
    const ok = await createRequest(deps, other, {
      requestType: 'manual_verification',
      details: { channel: 'email', reason: 'lost access' },
    });
    // The server records the address (masked for a non-staff viewer).
    expect(ok.details).toEqual({
      channel: 'email',
      reason: 'lost access',
      destination: `${other.email?.[0]}***@example.com`,
    });
  });

  it('refuses a second pending request of the same type, but allows one after a decision', async () => {
    const requestType = type();
    const first = await createRequest(deps, user, { requestType });
    expect(await failure(createRequest(deps, user, { requestType }))).toEqual({
      status: 409,
      code: 'duplicate_pending',
    });
    // Staff filing the same type about the same user is the same duplicate.
    expect(await failure(createRequest(deps, staff, { requestType, userId: user.id }))).toEqual({
      status: 409,
      code: 'duplicate_pending',
    });
    // Another subject, same type: fine.
    await createRequest(deps, other, { requestType });
    await cancelRequest(deps, user, first.id);
    await expect(createRequest(deps, user, { requestType })).resolves.toMatchObject({
      status: 'pending',
    });
  });

  it('caps pending requests per user at STAFF_APPROVAL_MAX_PENDING_PER_USER, under concurrency too', async () => {
    const subject = await buildUser(db.models);
    const capped = { ...deps, maxPendingPerUser: 3 };
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => createRequest(capped, subject, { requestType: type() })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect(toHttpError((r as PromiseRejectedResult).reason as AppError)).toMatchObject({
        status: 409,
        code: 'too_many_pending',
      });
    }
    // A decision frees a place.
    const [first] = (await listRequests(deps, subject, { status: 'pending' })).items;
    await cancelRequest(deps, subject, first?.id as string);
    await expect(createRequest(capped, subject, { requestType: type() })).resolves.toBeTruthy();
  });

  it('of 10 simultaneous identical creates, exactly one succeeds', async () => {
    const requestType = type();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => createRequest(deps, user, { requestType })),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const codes = results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => (r.reason as AppError).code);
    expect(ok).toHaveLength(1);
    expect(codes).toEqual(Array(9).fill('duplicate_pending'));
    const rows = await db.sequelize.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM staff_approval_requests WHERE request_type = $1`,
      { bind: [requestType], type: QueryTypes.SELECT },
    );
    expect(rows).toEqual([{ count: 1 }]);
  });

  it('answers 503 (not a hang) when the insert lock stays taken', async () => {
    // Another session holds the insert lock, as a stalled creator would.
    await db.sequelize.transaction(async (t) => {
      await db.sequelize.query('SELECT pg_advisory_xact_lock(742001113)', { transaction: t });
      expect(await failure(createRequest(deps, user, { requestType: type() }))).toEqual({
        status: 503,
        code: 'service_unavailable',
      });
    });
    await expect(createRequest(deps, user, { requestType: type() })).resolves.toMatchObject({
      status: 'pending',
    });
  });

  it('keeps created_at strictly increasing even when the clock goes back', async () => {
    const before = clock;
    clock = new Date('2020-01-01T00:00:00.000Z');
    try {
      const a = await createRequest(deps, user, { requestType: type() });
      const b = await createRequest(deps, user, { requestType: type() });
      expect(Date.parse(a.createdAt)).toBeGreaterThanOrEqual(Date.parse(before.toISOString()));
      const [rows] = await db.sequelize.query(
        `SELECT id FROM staff_approval_requests ORDER BY created_at DESC, id DESC LIMIT 2`,
      );
      expect((rows as { id: string }[]).map((r) => r.id)).toEqual([b.id, a.id]);
    } finally {
      clock = before;
    }
  });
});

describe('getRequest visibility', () => {
  it('shows a request to staff, its subject and its requester only; 404 to others', async () => {
    const subject = await buildUser(db.models);
    const stranger = await buildUser(db.models);
    const filer = await buildUser(db.models, { role: 'staff' });
    const anotherStaff = await buildUser(db.models, { role: 'admin' });
    const req = await createRequest(deps, filer, { requestType: type(), userId: subject.id });
    for (const who of [subject, filer, anotherStaff]) {
      await expect(getRequest(deps, who, req.id)).resolves.toEqual(req);
    }
    expect(await failure(getRequest(deps, stranger, req.id))).toEqual({
      status: 404,
      code: 'not_found',
    });
    expect(await failure(getRequest(deps, anotherStaff, randomUUID()))).toEqual({
      status: 404,
      code: 'not_found',
    });
  });
});

describe('decideRequest', () => {
  let user: User;
  let staffA: User;
  let staffB: User;

  beforeAll(async () => {
    user = await buildUser(db.models);
    staffA = await buildUser(db.models, { role: 'staff' });
    staffB = await buildUser(db.models, { role: 'admin' });
  });

  it('approves, recording reviewer, time and note', async () => {
    const req = await createRequest(deps, user, { requestType: type() });
    clock = new Date(clock.getTime() + 60_000);
    const done = await decideRequest(deps, staffA, req.id, 'approved', 'looks fine');
    expect(done).toEqual({
      ...req,
      status: 'approved',
      reviewedBy: staffA.id,
      reviewedAt: clock.toISOString(),
      reviewNote: 'looks fine',
      updatedAt: clock.toISOString(),
    });
    expect(await getRequest(deps, user, req.id)).toEqual(done);
  });

  it('rejects only with a note', async () => {
    const req = await createRequest(deps, user, { requestType: type() });
    expect(await failure(decideRequest(deps, staffA, req.id, 'rejected', '  '))).toEqual({
      status: 400,
      code: 'invalid_request',
    });
    await expect(decideRequest(deps, staffA, req.id, 'rejected', 'no')).resolves.toMatchObject({
      status: 'rejected',
      reviewNote: 'no',
      reviewedBy: staffA.id,
    });
  });

  it('is 403 forbidden for non-staff whatever the id', async () => {
    const req = await createRequest(deps, staffA, { requestType: type(), userId: staffB.id });
    for (const id of [req.id, randomUUID()]) {
      expect(await failure(decideRequest(deps, user, id, 'approved', undefined))).toEqual({
        status: 403,
        code: 'forbidden',
      });
    }
  });

  it('refuses self-review by the requester and by the subject (403 self_review)', async () => {
    const req = await createRequest(deps, staffA, { requestType: type(), userId: user.id });
    expect(await failure(decideRequest(deps, staffA, req.id, 'approved', undefined))).toEqual({
      status: 403,
      code: 'self_review',
    });
    const own = await createRequest(deps, staffB, { requestType: type() });
    expect(await failure(decideRequest(deps, staffB, own.id, 'rejected', 'mine'))).toEqual({
      status: 403,
      code: 'self_review',
    });
    const aboutA = await createRequest(deps, staffB, { requestType: type(), userId: staffA.id });
    expect(await failure(decideRequest(deps, staffA, aboutA.id, 'approved', undefined))).toEqual({
      status: 403,
      code: 'self_review',
    });
    expect((await getRequest(deps, staffB, aboutA.id)).status).toBe('pending');
  });

  it('is 404 for an unknown id and 409 not_pending once decided or cancelled', async () => {
    expect(await failure(decideRequest(deps, staffA, randomUUID(), 'approved', undefined))).toEqual(
      { status: 404, code: 'not_found' },
    );
    const req = await createRequest(deps, user, { requestType: type() });
    await decideRequest(deps, staffA, req.id, 'approved', undefined);
    for (const [decision, note] of [
      ['approved', undefined],
      ['rejected', 'late'],
    ] as const) {
      expect(await failure(decideRequest(deps, staffB, req.id, decision, note))).toEqual({
        status: 409,
        code: 'not_pending',
      });
    }
    const cancelled = await createRequest(deps, user, { requestType: type() });
    await cancelRequest(deps, user, cancelled.id);
    expect(await failure(decideRequest(deps, staffA, cancelled.id, 'approved', undefined))).toEqual(
      { status: 409, code: 'not_pending' },
    );
  });

  it('of simultaneous approve and reject, exactly one wins (10 rounds)', async () => {
    for (let round = 0; round < 10; round += 1) {
      const req = await createRequest(deps, user, { requestType: type() });
      const [a, r] = await Promise.allSettled([
        decideRequest(deps, staffA, req.id, 'approved', `a${round}`),
        decideRequest(deps, staffB, req.id, 'rejected', `r${round}`),
      ]);
      const winners = [a, r].filter((x) => x.status === 'fulfilled');
      const losers = [a, r].filter((x): x is PromiseRejectedResult => x.status === 'rejected');
      expect(winners).toHaveLength(1);
      expect((losers[0]?.reason as AppError).code).toBe('not_pending');
      const won = (winners[0] as PromiseFulfilledResult<ApprovalRequestJson>).value;
      expect(await getRequest(deps, user, req.id)).toEqual(won);
      expect(won.reviewedBy).toBe(won.status === 'approved' ? staffA.id : staffB.id);
      expect(won.reviewNote).toBe(won.status === 'approved' ? `a${round}` : `r${round}`);
    }
  });
});

describe('manual_verification approval', () => {
  let staff: User;

  beforeAll(async () => {
    staff = await buildUser(db.models, { role: 'staff' });
  });

  const file = (subject: User, channel: 'phone' | 'email') =>
    createRequest(deps, subject, { requestType: 'manual_verification', details: { channel } });

  it('marks the channel verified, joining one already verified', async () => {
    const subject = await buildUser(db.models, { verificationStatus: 'email_verified' });
    const req = await file(subject, 'phone');
    await decideRequest(deps, staff, req.id, 'approved', undefined);
    await subject.reload();
    expect(subject.verificationInfo).toEqual({
      userId: subject.id,
      status: 'verified',
      isPhoneVerified: true,
      isEmailVerified: true,
      isFullyVerified: true,
    });
  });

  it('marks only that channel on an unverified user; rejection changes nothing', async () => {
    const subject = await buildUser(db.models);
    const rejected = await file(subject, 'phone');
    await decideRequest(deps, staff, rejected.id, 'rejected', 'no proof');
    await subject.reload();
    expect(subject.verificationStatus).toBe('unverified');
    const req = await file(subject, 'email');
    await decideRequest(deps, staff, req.id, 'approved', undefined);
    await subject.reload();
    expect(subject.verificationInfo).toMatchObject({
      status: 'email_verified',
      isEmailVerified: true,
      isPhoneVerified: false,
    });
  });

  it('records the address at filing: whole for staff, masked for the user', async () => {
    const subject = await buildUser(db.models);
    const req = await file(subject, 'phone');
    const phone = subject.phone as string;
    expect(req.details).toEqual({
      channel: 'phone',
      destination: `+${'*'.repeat(phone.length - 5)}${phone.slice(-4)}`,
    });
    expect((await getRequest(deps, staff, req.id)).details).toEqual({
      channel: 'phone',
      destination: phone,
    });
    const [row] = await db.sequelize.query<{ details: Record<string, unknown> }>(
      'SELECT details FROM staff_approval_requests WHERE id = $1',
      { bind: [req.id], type: QueryTypes.SELECT },
    );
    expect(row?.details.destination).toBe(phone);
  });

  it('refuses a client-supplied details.destination (400)', async () => {
    const subject = await buildUser(db.models);
    const err = await failure(
      createRequest(deps, subject, {
        requestType: 'manual_verification',
        details: { channel: 'phone', destination: '+15555550000' },
      }),
    );
    expect(err).toEqual({ status: 400, code: 'invalid_request' });
  });

  it('is 409 destination_changed when the address changed since filing; nothing is verified', async () => {
    const subject = await buildUser(db.models);
    const req = await file(subject, 'phone');
    // The main app changes the phone with plain SQL.
    await db.sequelize.query('UPDATE users SET phone = $2 WHERE id = $1', {
      bind: [subject.id, `+1555${String(subject.id).padStart(7, '0')}`],
    });
    expect(await failure(decideRequest(deps, staff, req.id, 'approved', undefined))).toEqual({
      status: 409,
      code: 'destination_changed',
    });
    await subject.reload();
    expect(subject.verificationStatus).toBe('unverified');
    expect((await getRequest(deps, staff, req.id)).status).toBe('pending');
  });

  it('is 409 destination_changed for a request filed with no recorded address', async () => {
    const subject = await buildUser(db.models);
    const req = await file(subject, 'email');
    await db.sequelize.query(
      `UPDATE staff_approval_requests SET details = '{"channel":"email"}' WHERE id = $1`,
      {
        bind: [req.id],
      },
    );
    expect(await failure(decideRequest(deps, staff, req.id, 'approved', undefined))).toEqual({
      status: 409,
      code: 'destination_changed',
    });
  });

  it('is 422 no_destination when the user has no such address, and the request stays pending', async () => {
    const subject = await buildUser(db.models, { phone: null });
    const req = await file(subject, 'phone');
    expect(await failure(decideRequest(deps, staff, req.id, 'approved', undefined))).toEqual({
      status: 422,
      code: 'no_destination',
    });
    expect(await getRequest(deps, staff, req.id)).toEqual(req);
    await subject.reload();
    expect(subject.verificationStatus).toBe('unverified');
    // Rejecting it is still possible.
    await expect(decideRequest(deps, staff, req.id, 'rejected', 'no phone')).resolves.toMatchObject(
      { status: 'rejected' },
    );
  });
});

describe('cancelRequest', () => {
  it('lets the requester cancel; others who can see it get 403, others 404', async () => {
    const subject = await buildUser(db.models);
    const stranger = await buildUser(db.models);
    const filer = await buildUser(db.models, { role: 'staff' });
    const otherStaff = await buildUser(db.models, { role: 'staff' });
    const req = await createRequest(deps, filer, { requestType: type(), userId: subject.id });
    expect(await failure(cancelRequest(deps, subject, req.id))).toEqual({
      status: 403,
      code: 'forbidden',
    });
    expect(await failure(cancelRequest(deps, otherStaff, req.id))).toEqual({
      status: 403,
      code: 'forbidden',
    });
    expect(await failure(cancelRequest(deps, stranger, req.id))).toEqual({
      status: 404,
      code: 'not_found',
    });
    expect(await failure(cancelRequest(deps, filer, randomUUID()))).toEqual({
      status: 404,
      code: 'not_found',
    });
    const done = await cancelRequest(deps, filer, req.id);
    expect(done).toMatchObject({ status: 'cancelled', reviewedBy: null, reviewedAt: null });
    expect(await failure(cancelRequest(deps, filer, req.id))).toEqual({
      status: 409,
      code: 'not_pending',
    });
  });
});

describe('listRequests', () => {
  // A fresh database state is not needed: each test filters by users of its own.
  it('shows users their own requests (filed by them or about them), staff everything', async () => {
    const me = await buildUser(db.models);
    const stranger = await buildUser(db.models);
    const staff = await buildUser(db.models, { role: 'staff' });
    const mine = await createRequest(deps, me, { requestType: type() });
    const aboutMe = await createRequest(deps, staff, { requestType: type(), userId: me.id });
    const notMine = await createRequest(deps, stranger, { requestType: type() });

    const ids = async (caller: User, input = {}) =>
      (await listRequests(deps, caller, { limit: 100, ...input })).items.map((r) => r.id);
    // Users see only theirs, across every page.
    const all = await collect(me, {});
    expect(all.map((r) => r.id)).toEqual([mine.id, aboutMe.id]);
    expect(await ids(me, { userId: me.id })).toEqual([mine.id, aboutMe.id]);
    expect(await failure(listRequests(deps, me, { userId: stranger.id }))).toEqual({
      status: 403,
      code: 'forbidden',
    });
    expect(await ids(staff, { userId: stranger.id })).toEqual([notMine.id]);
    const everything = await collect(staff, {});
    expect(everything.map((r) => r.id)).toEqual(expect.arrayContaining([mine.id, notMine.id]));
  });

  it('filters by status; no status means every status', async () => {
    const me = await buildUser(db.models);
    const staff = await buildUser(db.models, { role: 'staff' });
    const p = await createRequest(deps, me, { requestType: type() });
    const a = await createRequest(deps, me, { requestType: type() });
    const r = await createRequest(deps, me, { requestType: type() });
    const c = await createRequest(deps, me, { requestType: type() });
    await decideRequest(deps, staff, a.id, 'approved', undefined);
    await decideRequest(deps, staff, r.id, 'rejected', 'no');
    await cancelRequest(deps, me, c.id);
    const ids = async (status?: 'pending' | 'approved' | 'rejected' | 'cancelled') =>
      (await listRequests(deps, me, { status })).items.map((x) => x.id);
    expect(await ids()).toEqual([p.id, a.id, r.id, c.id]);
    expect(await ids('pending')).toEqual([p.id]);
    expect(await ids('approved')).toEqual([a.id]);
    expect(await ids('rejected')).toEqual([r.id]);
    expect(await ids('cancelled')).toEqual([c.id]);
  });

  it('validates limit and cursors', async () => {
    const me = await buildUser(db.models);
    for (const limit of [0, -1, 101, 1.5]) {
      expect(await failure(listRequests(deps, me, { limit }))).toEqual({
        status: 400,
        code: 'invalid_request',
      });
    }
    await createRequest(deps, me, { requestType: type() });
    await createRequest(deps, me, { requestType: type() });
    const page = await listRequests(deps, me, { limit: 1 });
    expect(page.nextCursor).toEqual(expect.any(String));
    const cursor = page.nextCursor as string;
    // The same cursor with other filters, or by another caller.
    for (const input of [{ status: 'pending' as const }, { userId: me.id }]) {
      expect(await failure(listRequests(deps, me, { ...input, cursor }))).toEqual({
        status: 400,
        code: 'invalid_request',
      });
    }
    const other = await buildUser(db.models);
    expect(await failure(listRequests(deps, other, { cursor }))).toEqual({
      status: 400,
      code: 'invalid_request',
    });
    const f = JSON.parse(Buffer.from(cursor, 'base64url').toString()).f as string;
    const bad = [
      '',
      'not a cursor',
      '!!!!',
      Buffer.from('[]').toString('base64url'),
      Buffer.from('null').toString('base64url'),
      encodeCursor({ createdAt: '2026-13-01T00:00:00.000000Z', id: randomUUID() }, f),
      encodeCursor({ createdAt: '2026-02-30T00:00:00.000000Z', id: randomUUID() }, f),
      encodeCursor({ createdAt: '0000-01-01T00:00:00.000000Z', id: randomUUID() }, f),
      encodeCursor({ createdAt: '2026-01-01T00:00:00.000Z', id: randomUUID() }, f),
      encodeCursor({ createdAt: '2026-01-01T00:00:00.000000Z', id: 'x' }, f),
      encodeCursor({ createdAt: "'; DROP TABLE users; --", id: randomUUID() }, f),
      'A'.repeat(600),
    ];
    for (const c of bad) {
      expect(await failure(listRequests(deps, me, { cursor: c }))).toEqual({
        status: 400,
        code: 'invalid_request',
      });
    }
    // A well-formed cursor past everything is simply an empty last page.
    const far = encodeCursor({ createdAt: '9999-01-01T00:00:00.000000Z', id: randomUUID() }, f);
    await expect(listRequests(deps, me, { cursor: far })).resolves.toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('pages without gaps or repeats while requests are created concurrently', async () => {
    const staff = await buildUser(db.models, { role: 'staff' });
    const subjects = await Promise.all(Array.from({ length: 6 }, () => buildUser(db.models)));
    const created: string[] = [];
    const createSome = async (n: number) => {
      const made = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          createRequest({ ...deps, maxPendingPerUser: 1000 }, staff, {
            requestType: type(),
            userId: (subjects[i % subjects.length] as User).id,
          }),
        ),
      );
      created.push(...made.map((r) => r.id));
    };
    await createSome(25);
    const seen: ApprovalRequestJson[] = [];
    const background: Promise<void>[] = [];
    let cursor: string | undefined;
    let settled = false;
    for (let pages = 0; pages < 200; pages += 1) {
      // Creations race with the page reads, for the first pages.
      if (background.length < 8) background.push(createSome(3));
      const page = await listRequests(deps, staff, { status: 'pending', limit: 4, cursor });
      if (page.nextCursor) {
        seen.push(...page.items);
        cursor = page.nextCursor;
      } else if (!settled) {
        // The last page for now: let the creations finish, then read it again.
        await Promise.all(background);
        settled = true;
      } else {
        seen.push(...page.items);
        break;
      }
    }
    expect(created).toHaveLength(25 + 8 * 3);
    const ids = seen.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(created));
    const times = seen.map((r) => Date.parse(r.createdAt));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
  });
});

/** All pages of a listing. */
async function collect(caller: User, input: object): Promise<ApprovalRequestJson[]> {
  const out: ApprovalRequestJson[] = [];
  let cursor: string | undefined;
  do {
    const page = await listRequests(deps, caller, { ...input, limit: 2, cursor });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}
