import { randomUUID } from 'node:crypto';
import type { Database } from '../../lib/db';
import type { User } from '../../models';
import { ApiCall, expectErrorShape } from '../helpers/api';
import { buildUser, unique } from '../helpers/factories';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { tokenFor } from '../helpers/tokens';

interface RequestBody {
  id: string;
  userId: number;
  requestedBy: number | null;
  requestType: string;
  details: Record<string, unknown>;
  status: string;
  reviewedBy: number | null;
  reviewedAt: string | null;
  reviewNote: string | null;
  createdAt: string;
  updatedAt: string;
}
interface Page {
  items: RequestBody[];
  nextCursor: string | null;
}

// HTTP through serverless-offline is slow on a loaded machine: generous bounds, no hangs.
jest.setTimeout(180_000);

let stack: ApiStack;
let db: Database;
let api: ApiCall;

/** A user of a role, with a token for them. */
interface Actor {
  user: User;
  token: string;
}
async function actor(role: 'user' | 'staff' | 'admin' = 'user', phone?: null): Promise<Actor> {
  const user = await buildUser(db.models, { role, ...(phone === null ? { phone: null } : {}) });
  return { user, token: await tokenFor(user.id) };
}

const type = () => `type_${unique()}`;

async function file(by: Actor, body: Record<string, unknown>): Promise<RequestBody> {
  const res = await api<RequestBody>('POST', '/staff-approval-requests', {
    token: by.token,
    body,
  });
  expect(res.status).toBe(201);
  return res.body;
}

beforeAll(async () => {
  stack = await startApiStack({
    // Races open many connections at once; on a loaded machine the 3 s default
    // would turn a slow connect into a 503 and hide the answer under test.
    DATABASE_CONNECT_TIMEOUT_MS: '15000',
    // Paging tests file 22 pending requests about one user (the cap is tested
    // in test/e2e/securityBaseline.test.ts).
    STAFF_APPROVAL_MAX_PENDING_PER_USER: '100',
  });
  ({ db, api } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('POST /staff-approval-requests', () => {
  it('201 for oneself, with the SPEC shape', async () => {
    const me = await actor();
    const requestType = type();
    const res = await api<RequestBody>('POST', '/staff-approval-requests', {
      token: me.token,
      body: { requestType, details: { reason: 'please' } },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      userId: me.user.id,
      requestedBy: me.user.id,
      requestType,
      details: { reason: 'please' },
      status: 'pending',
      reviewedBy: null,
      reviewedAt: null,
      reviewNote: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('403 when a user files for someone else; staff may; 404 for an unknown user', async () => {
    const me = await actor();
    const other = await actor();
    const staff = await actor('staff');
    expectErrorShape(
      await api('POST', '/staff-approval-requests', {
        token: me.token,
        body: { requestType: type(), userId: other.user.id },
      }),
      403,
      'forbidden',
    );
    const byStaff = await file(staff, { requestType: type(), userId: other.user.id });
    expect(byStaff).toMatchObject({ userId: other.user.id, requestedBy: staff.user.id });
    expectErrorShape(
      await api('POST', '/staff-approval-requests', {
        token: staff.token,
        body: { requestType: type(), userId: 2_000_000_000 },
      }),
      404,
      'not_found',
    );
  });

  it('400 for manual_verification without a phone/email channel', async () => {
    const me = await actor();
    for (const details of [undefined, {}, { channel: 'fax' }]) {
      expectErrorShape(
        await api('POST', '/staff-approval-requests', {
          token: me.token,
          body: { requestType: 'manual_verification', details },
        }),
        400,
        'invalid_request',
      );
    }
  });

  it('409 duplicate_pending; of 10 simultaneous creates exactly one is 201', async () => {
    const me = await actor();
    const requestType = type();
    await file(me, { requestType });
    expectErrorShape(
      await api('POST', '/staff-approval-requests', { token: me.token, body: { requestType } }),
      409,
      'duplicate_pending',
    );

    const racing = type();
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        api('POST', '/staff-approval-requests', {
          token: me.token,
          body: { requestType: racing },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    const refused = results.filter((r) => r.status !== 201);
    expect(refused).toHaveLength(9);
    for (const r of refused) expectErrorShape(r, 409, 'duplicate_pending');
  });
});

describe('GET /staff-approval-requests/{id}', () => {
  it('200 for staff, subject and requester; 404 for another user; 400 for a non-uuid', async () => {
    const subject = await actor();
    const stranger = await actor();
    const filer = await actor('staff');
    const otherStaff = await actor('admin');
    const req = await file(filer, { requestType: type(), userId: subject.user.id });
    for (const who of [subject, filer, otherStaff]) {
      const res = await api('GET', `/staff-approval-requests/${req.id}`, { token: who.token });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(req);
    }
    expectErrorShape(
      await api('GET', `/staff-approval-requests/${req.id}`, { token: stranger.token }),
      404,
      'not_found',
    );
    expectErrorShape(
      await api('GET', `/staff-approval-requests/${randomUUID()}`, { token: filer.token }),
      404,
      'not_found',
    );
    expectErrorShape(
      await api('GET', '/staff-approval-requests/123', { token: filer.token }),
      400,
      'invalid_request',
    );
    expectErrorShape(await api('GET', `/staff-approval-requests/${req.id}`), 401, 'unauthorized');
  });
});

describe('approve and reject', () => {
  let user: Actor;
  let staffA: Actor;
  let staffB: Actor;

  beforeAll(async () => {
    user = await actor();
    staffA = await actor('staff');
    staffB = await actor('admin');
  });

  const decide = (who: Actor, id: string, action: string, body?: unknown) =>
    api<RequestBody>('POST', `/staff-approval-requests/${id}/${action}`, {
      token: who.token,
      body,
    });

  it('approve: 200 with reviewer, time and note', async () => {
    const req = await file(user, { requestType: type() });
    const res = await decide(staffA, req.id, 'approve', { note: 'ok' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: req.id,
      status: 'approved',
      reviewedBy: staffA.user.id,
      reviewNote: 'ok',
      reviewedAt: expect.stringMatching(/Z$/),
    });
    // No body at all is fine for approve.
    const other = await file(user, { requestType: type() });
    const bare = await decide(staffA, other.id, 'approve');
    expect(bare.status).toBe(200);
    expect(bare.body.reviewNote).toBeNull();
  });

  it('reject: 200 with a note, 400 without', async () => {
    const req = await file(user, { requestType: type() });
    for (const body of [undefined, {}, { note: '' }, { note: '   ' }, { note: 5 }]) {
      expectErrorShape(await decide(staffA, req.id, 'reject', body), 400, 'invalid_request');
    }
    const res = await decide(staffA, req.id, 'reject', { note: 'insufficient evidence' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'rejected', reviewNote: 'insufficient evidence' });
  });

  it('403 forbidden for non-staff whatever the id (even malformed or unknown)', async () => {
    const req = await file(staffA, { requestType: type(), userId: staffB.user.id });
    for (const id of [req.id, randomUUID(), 'not-a-uuid']) {
      expectErrorShape(await decide(user, id, 'approve'), 403, 'forbidden');
      expectErrorShape(await decide(user, id, 'reject', { note: 'x' }), 403, 'forbidden');
      expectErrorShape(await decide(user, id, 'reject'), 403, 'forbidden');
    }
  });

  it('403 self_review for the requester and for the subject', async () => {
    const filedByA = await file(staffA, { requestType: type(), userId: user.user.id });
    expectErrorShape(await decide(staffA, filedByA.id, 'approve'), 403, 'self_review');
    const aboutA = await file(staffB, { requestType: type(), userId: staffA.user.id });
    expectErrorShape(await decide(staffA, aboutA.id, 'reject', { note: 'x' }), 403, 'self_review');
    const res = await api<RequestBody>('GET', `/staff-approval-requests/${aboutA.id}`, {
      token: staffB.token,
    });
    expect(res.body.status).toBe('pending');
  });

  it('404 for an unknown id, 400 for a malformed one, 409 not_pending when decided', async () => {
    expectErrorShape(await decide(staffA, randomUUID(), 'approve'), 404, 'not_found');
    expectErrorShape(await decide(staffA, 'nope', 'approve'), 400, 'invalid_request');
    const req = await file(user, { requestType: type() });
    expect((await decide(staffA, req.id, 'approve')).status).toBe(200);
    expectErrorShape(await decide(staffB, req.id, 'approve'), 409, 'not_pending');
    expectErrorShape(await decide(staffB, req.id, 'reject', { note: 'x' }), 409, 'not_pending');
  });

  it('10 rounds of simultaneous approve and reject: exactly one winner each', async () => {
    for (let round = 0; round < 10; round += 1) {
      const req = await file(user, { requestType: type() });
      const [approve, reject] = await Promise.all([
        decide(staffA, req.id, 'approve', { note: `approve ${round}` }),
        decide(staffB, req.id, 'reject', { note: `reject ${round}` }),
      ]);
      const statuses = [approve.status, reject.status].sort();
      expect(statuses).toEqual([200, 409]);
      const winner = approve.status === 200 ? approve : reject;
      const loser = approve.status === 200 ? reject : approve;
      expectErrorShape(loser, 409, 'not_pending');
      const final = await api<RequestBody>('GET', `/staff-approval-requests/${req.id}`, {
        token: user.token,
      });
      expect(final.body).toEqual(winner.body);
      if (winner === approve) {
        expect(final.body).toMatchObject({
          status: 'approved',
          reviewedBy: staffA.user.id,
          reviewNote: `approve ${round}`,
        });
      } else {
        expect(final.body).toMatchObject({
          status: 'rejected',
          reviewedBy: staffB.user.id,
          reviewNote: `reject ${round}`,
        });
      }
    }
  });
});

describe('manual_verification', () => {
  it('approval marks the channel verified in the database, joining the other', async () => {
    const staff = await actor('staff');
    const subject = await actor();
    await subject.user.update({ verificationStatus: 'email_verified' });
    const req = await file(subject, {
      requestType: 'manual_verification',
      details: { channel: 'phone' },
    });
    const res = await api('POST', `/staff-approval-requests/${req.id}/approve`, {
      token: staff.token,
    });
    expect(res.status).toBe(200);
    await subject.user.reload();
    expect(subject.user.verificationInfo).toEqual({
      userId: subject.user.id,
      status: 'verified',
      isPhoneVerified: true,
      isEmailVerified: true,
      isFullyVerified: true,
    });
  });

  it('422 no_destination when the subject has no phone; the request stays pending', async () => {
    const staff = await actor('staff');
    const subject = await actor('user', null);
    const req = await file(subject, {
      requestType: 'manual_verification',
      details: { channel: 'phone' },
    });
    expectErrorShape(
      await api('POST', `/staff-approval-requests/${req.id}/approve`, { token: staff.token }),
      422,
      'no_destination',
    );
    const after = await api('GET', `/staff-approval-requests/${req.id}`, { token: staff.token });
    expect(after.body).toEqual(req);
    await subject.user.reload();
    expect(subject.user.verificationStatus).toBe('unverified');
  });
});

describe('POST /staff-approval-requests/{id}/cancel', () => {
  it('200 for the requester (no body or {}); 403 for others who see it; 404; 409', async () => {
    const subject = await actor();
    const stranger = await actor();
    const filer = await actor('staff');
    const otherStaff = await actor('staff');
    const req = await file(filer, { requestType: type(), userId: subject.user.id });
    const cancel = (who: Actor, id: string, body?: unknown) =>
      api<RequestBody>('POST', `/staff-approval-requests/${id}/cancel`, {
        token: who.token,
        body,
      });
    expectErrorShape(await cancel(subject, req.id), 403, 'forbidden');
    expectErrorShape(await cancel(otherStaff, req.id), 403, 'forbidden');
    expectErrorShape(await cancel(stranger, req.id), 404, 'not_found');
    expectErrorShape(await cancel(filer, randomUUID()), 404, 'not_found');
    expectErrorShape(await cancel(filer, req.id, { reason: 'x' }), 400, 'invalid_request');
    const res = await cancel(filer, req.id, {});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: req.id, status: 'cancelled', reviewedBy: null });
    expectErrorShape(await cancel(filer, req.id), 409, 'not_pending');

    const own = await file(subject, { requestType: type() });
    expect((await cancel(subject, own.id)).status).toBe(200);
  });
});

describe('GET /staff-approval-requests', () => {
  const list = (who: Actor, query = '') =>
    api<Page>('GET', `/staff-approval-requests${query}`, { token: who.token });

  it('users see their own (filed by them or about them); staff see all', async () => {
    const me = await actor();
    const stranger = await actor();
    const staff = await actor('staff');
    const mine = await file(me, { requestType: type() });
    const aboutMe = await file(staff, { requestType: type(), userId: me.user.id });
    const theirs = await file(stranger, { requestType: type() });

    const res = await list(me);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ items: [mine, aboutMe], nextCursor: null });
    expect((await list(me, `?userId=${me.user.id}`)).body.items).toEqual([mine, aboutMe]);
    expectErrorShape(await list(me, `?userId=${stranger.user.id}`), 403, 'forbidden');
    expect((await list(staff, `?userId=${stranger.user.id}`)).body.items).toEqual([theirs]);
    const all = await pageAll(staff, '', 100);
    expect(all.map((r) => r.id)).toEqual(expect.arrayContaining([mine.id, aboutMe.id, theirs.id]));
  });

  it('filters by status and user; limit defaults to 20 and is at most 100', async () => {
    const staff = await actor('staff');
    const subject = await actor();
    const made: RequestBody[] = [];
    for (let i = 0; i < 22; i += 1) made.push(await file(subject, { requestType: type() }));
    await api('POST', `/staff-approval-requests/${made[0]?.id}/approve`, { token: staff.token });
    await api('POST', `/staff-approval-requests/${made[1]?.id}/cancel`, { token: subject.token });

    const first = await list(staff, `?userId=${subject.user.id}`);
    expect(first.body.items).toHaveLength(20);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const pending = await pageAll(staff, `userId=${subject.user.id}&status=pending`, 100);
    expect(pending.map((r) => r.id)).toEqual(made.slice(2).map((r) => r.id));
    const approved = await list(staff, `?userId=${subject.user.id}&status=approved`);
    expect(approved.body).toEqual({
      items: [expect.objectContaining({ id: made[0]?.id, status: 'approved' })],
      nextCursor: null,
    });
    expect((await list(staff, `?userId=${subject.user.id}&limit=100`)).body.items).toHaveLength(22);
    for (const limit of ['0', '-1', '101', '1.5', 'ten', '']) {
      expectErrorShape(await list(staff, `?limit=${limit}`), 400, 'invalid_request');
    }
  });

  it('a cursor used with other filters, or a malformed one, is 400', async () => {
    const staff = await actor('staff');
    const subject = await actor();
    await file(subject, { requestType: type() });
    await file(subject, { requestType: type() });
    const page = await list(staff, `?userId=${subject.user.id}&limit=1`);
    const cursor = page.body.nextCursor as string;
    expect(cursor).toEqual(expect.any(String));
    for (const query of [
      `?cursor=${cursor}`,
      `?userId=${subject.user.id}&status=pending&cursor=${cursor}`,
      `?userId=${staff.user.id}&limit=1&cursor=${cursor}`,
    ]) {
      expectErrorShape(await list(staff, query), 400, 'invalid_request');
    }
    expectErrorShape(await list(staff, '?cursor=garbage!'), 400, 'invalid_request');
    const next = await list(staff, `?userId=${subject.user.id}&limit=5&cursor=${cursor}`);
    expect(next.status).toBe(200);
    expect(next.body.items).toHaveLength(1);
    expect(next.body.nextCursor).toBeNull();
  });

  it('pages over ≥25 requests with no gaps or repeats, including ones created while paging', async () => {
    const staff = await actor('staff');
    const filer = await actor('admin');
    const subjects = await Promise.all(Array.from({ length: 5 }, () => actor()));
    const made: string[] = [];
    for (let i = 0; i < 27; i += 1) {
      const s = subjects[i % subjects.length] as Actor;
      made.push((await file(filer, { requestType: type(), userId: s.user.id })).id);
    }
    const seen: RequestBody[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `?status=pending&limit=4${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await list(staff, query);
      expect(res.status).toBe(200);
      seen.push(...res.body.items);
      cursor = res.body.nextCursor;
      pages += 1;
      // New requests arrive while paging (some concurrently), for the first pages.
      if (pages <= 4) {
        const batch = await Promise.all(
          subjects.slice(0, 2).map((s) => file(filer, { requestType: type(), userId: s.user.id })),
        );
        made.push(...batch.map((r) => r.id));
      }
    } while (cursor && pages < 100);
    const ids = seen.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(made));
    const keys = seen.map((r) => r.createdAt);
    expect([...keys].sort()).toEqual(keys);
  });
});

/** Every page of a listing. */
async function pageAll(who: Actor, query: string, limit: number): Promise<RequestBody[]> {
  const out: RequestBody[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `?${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await api<Page>('GET', `/staff-approval-requests${q}`, { token: who.token });
    expect(res.status).toBe(200);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}
