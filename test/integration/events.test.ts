import { QueryTypes } from 'sequelize';
import type { Database } from '../../lib/db';
import type { PgDatabase } from '../../lib/pgDatabase';
import { AppError } from '../../lib/errors';
import { outboxPublisher, publishPending } from '../../lib/events/outbox';
import { eventSettings } from '../../lib/events/settings';
import { createEventSink, type SinkLogger } from '../../lib/events/sink';
import type { EventPublisher, OutboxMessage } from '../../lib/events/types';
import { cancelRequest, createRequest, decideRequest } from '../../lib/staffApprovals/service';
import { listEvents } from '../../lib/verification/history';
import { revokeVerification } from '../../lib/verification/revoke';
import { issueCode, VerificationDeps, verifyCode } from '../../lib/verification/service';
import { verificationSettings } from '../../lib/verification/settings';
import type { User } from '../../models';
import { FakeEventBridge } from '../helpers/fakeEventBridge';
import { buildUser, unique } from '../helpers/factories';
import { openServiceDatabase, RecordingSender } from '../helpers/serviceHarness';
import type { TestDatabase } from '../helpers/testDatabase';

// The audit trail, revocation, history pages and the outbox, against
// PostgreSQL; EventBridge is faked at its HTTP endpoint and reached by the real
// SDK client.

const PEPPER = 'events-test-pepper-0123456789abcdef';
let testDb: TestDatabase;
let db: Database;
let pgDb: PgDatabase;
let fake: FakeEventBridge;
let clock = Date.parse('2026-11-30T09:00:00.000Z');
const now = () => new Date(clock);
const sender = new RecordingSender();
const quiet: SinkLogger = { info: () => undefined, warn: () => undefined };

beforeAll(async () => {
  ({ testDb, db, pg: pgDb } = await openServiceDatabase());
  fake = new FakeEventBridge();
  Object.assign(process.env, FakeEventBridge.env(await fake.start()));
});

afterAll(async () => {
  await db?.sequelize.close();
  await pgDb?.pool.end();
  await testDb?.drop();
  await fake?.stop();
});

const sink = () => createEventSink(eventSettings({ EVENT_BUS_NAME: 'verification-bus' }), quiet);

// The send and verify functions run on a pg pool; the staff ones, revocation
// and the scheduled publisher on Sequelize's pool.
function deps(events?: EventPublisher): VerificationDeps {
  return {
    sql: pgDb.sql,
    now,
    sender,
    settings: verificationSettings({ VERIFICATION_CODE_PEPPER: PEPPER }),
    events,
  };
}

const staffDeps = (events?: EventPublisher) => ({
  sequelize: db.sequelize,
  sql: db.sql,
  now,
  maxPendingPerUser: 10,
  events,
});

interface EventRow {
  id: string;
  type: string;
  channel: string | null;
  actor_id: number | null;
  details: Record<string, unknown>;
}

const eventsOf = (userId: number) =>
  db.sequelize.query<EventRow>(
    `SELECT id::text, type, channel, actor_id, details FROM verification_events
     WHERE user_id = $1 ORDER BY verification_events.id`,
    { bind: [userId], type: QueryTypes.SELECT },
  );

const outboxOf = (userId: number) =>
  db.sequelize.query<{ detail_type: string; published: boolean; detail: OutboxMessage['detail'] }>(
    `SELECT detail_type, published_at IS NOT NULL AS published, detail
     FROM verification_event_outbox WHERE user_id = $1 ORDER BY event_id`,
    { bind: [userId], type: QueryTypes.SELECT },
  );

const newUser = (over: Parameters<typeof buildUser>[1] = {}) =>
  buildUser(db.models, { email: `Ev-${unique()}@Example.com`, ...over });

const wrong = (code: string) => code.replace(/^./, (d) => String((Number(d) + 1) % 10));

async function codeError(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  return 'none';
}

describe('events are written with what they record', () => {
  it('a send, a refused send, a wrong code and a right one', async () => {
    const user = await newUser();
    const issued = await issueCode(deps(), user.id, 'email', { locale: 'es' });
    expect(await codeError(issueCode(deps(), user.id, 'email'))).toBe('rate_limited');
    const { code } = sender.last();
    clock += 1000;
    expect(await codeError(verifyCode(deps(), user.id, 'email', wrong(code)))).toBe('invalid_code');
    await verifyCode(deps(), user.id, 'email', code);

    expect(await eventsOf(user.id)).toEqual([
      {
        id: expect.any(String),
        type: 'code_sent',
        channel: 'email',
        actor_id: null,
        details: { codeId: issued.id, destination: issued.destination, locale: 'es' },
      },
      expect.objectContaining({
        type: 'code_rejected',
        details: { codeId: issued.id, attemptsRemaining: 4 },
      }),
      expect.objectContaining({ type: 'code_verified', details: { codeId: issued.id } }),
      expect.objectContaining({
        type: 'status_changed',
        channel: 'email',
        details: { from: 'unverified', to: 'email_verified', cause: 'code' },
      }),
    ]);
    // Only the status change goes to the outbox.
    const outbox = await outboxOf(user.id);
    expect(outbox.map((o) => o.detail_type)).toEqual(['status_changed']);
    expect(outbox[0]?.detail).toEqual({
      eventId: (await eventsOf(user.id))[3]?.id,
      userId: user.id,
      actorId: null,
      channel: 'email',
      occurredAt: now().toISOString(),
      from: 'unverified',
      to: 'email_verified',
      cause: 'code',
    });
  });

  it('verification_record_event publishes no code_sent, so the send may write that row itself', async () => {
    // lib/verification/service.ts writes code_sent with a plain INSERT (no
    // PL/pgSQL on a new connection's first send). Should the function ever
    // publish code_sent, this fails, and the send must call it again.
    const user = await newUser();
    const [row] = await db.sequelize.query<{ message: unknown }>(
      `SELECT verification_record_event($1, NULL, 'code_sent', 'email', '{}', now()) AS message`,
      { bind: [user.id], type: QueryTypes.SELECT },
    );
    expect(row?.message).toBeNull();
    expect((await eventsOf(user.id)).map((e) => e.type)).toEqual(['code_sent']);
    expect(await outboxOf(user.id)).toEqual([]);
  });

  it('a failed delivery is recorded with its code', async () => {
    const user = await newUser();
    const failing = new RecordingSender();
    failing.failing = true;
    expect(await codeError(issueCode({ ...deps(), sender: failing }, user.id, 'email'))).toBe(
      'delivery_failed',
    );
    expect((await eventsOf(user.id)).map((e) => e.type)).toEqual([
      'code_sent',
      'code_delivery_failed',
    ]);
  });

  it('an address change by plain SQL (another app) is recorded by the trigger', async () => {
    const user = await newUser({ verificationStatus: 'verified' });
    await db.sequelize.query(`UPDATE users SET phone = '+12015550177' WHERE id = $1`, {
      bind: [user.id],
    });
    await db.sequelize.query(`UPDATE users SET name = 'only a name' WHERE id = $1`, {
      bind: [user.id],
    });
    expect(await eventsOf(user.id)).toEqual([
      expect.objectContaining({
        type: 'status_changed',
        channel: 'phone',
        actor_id: null,
        details: { from: 'verified', to: 'email_verified', cause: 'address_change' },
      }),
    ]);
    expect((await outboxOf(user.id)).map((o) => o.detail_type)).toEqual(['status_changed']);
  });

  it('filing, approving a manual verification and cancelling, with their actors', async () => {
    const user = await newUser();
    const staff = await newUser({ role: 'staff' });
    const mine = await createRequest(staffDeps(), user, {
      requestType: 'manual_verification',
      details: { channel: 'email' },
    });
    const onBehalf = await createRequest(staffDeps(), staff, {
      requestType: 'account_review',
      userId: user.id,
    });
    const reviewer = await newUser({ role: 'staff' });
    await decideRequest(staffDeps(), reviewer, mine.id, 'approved', 'seen the passport');
    await cancelRequest(staffDeps(), staff, onBehalf.id);

    expect(
      (await eventsOf(user.id)).map((e) => [e.type, e.channel, e.actor_id, e.details]),
    ).toEqual([
      [
        'approval_requested',
        'email',
        null,
        { requestId: mine.id, requestType: 'manual_verification' },
      ],
      [
        'approval_requested',
        null,
        staff.id,
        { requestId: onBehalf.id, requestType: 'account_review' },
      ],
      ['approval_decided', 'email', reviewer.id, { requestId: mine.id, decision: 'approved' }],
      [
        'status_changed',
        'email',
        reviewer.id,
        { from: 'unverified', to: 'email_verified', cause: 'staff_approval' },
      ],
      ['approval_decided', null, staff.id, { requestId: onBehalf.id, decision: 'cancelled' }],
    ]);
    expect((await outboxOf(user.id)).map((o) => o.detail_type)).toEqual([
      'approval_requested',
      'approval_requested',
      'approval_decided',
      'status_changed',
      'approval_decided',
    ]);
  });

  it('a decision that rolls back leaves no event', async () => {
    const user = await newUser();
    const reviewer = await newUser({ role: 'staff' });
    const filed = await createRequest(staffDeps(), user, {
      requestType: 'manual_verification',
      details: { channel: 'phone' },
    });
    // The address changes after filing: the approval is refused and rolled back.
    await db.sequelize.query(`UPDATE users SET phone = '+12015550178' WHERE id = $1`, {
      bind: [user.id],
    });
    expect(await codeError(decideRequest(staffDeps(), reviewer, filed.id, 'approved', 'ok'))).toBe(
      'destination_changed',
    );
    expect((await eventsOf(user.id)).map((e) => e.type)).toEqual(['approval_requested']);
  });
});

describe('revocation', () => {
  it('drops the channel, supersedes its active code, records both events; then 409', async () => {
    const user = await newUser({ verificationStatus: 'verified' });
    const staff = await newUser({ role: 'staff' });
    await db.sequelize.query(
      `INSERT INTO verification_codes (id, user_id, channel, destination, code_hash, max_attempts,
         expires_at, created_at)
       VALUES (gen_random_uuid(), $1, 'phone', $2, 'h', 5, $3, $4)`,
      { bind: [user.id, user.phone, new Date(clock + 60_000), now()] },
    );
    const info = await revokeVerification(
      staffDeps(),
      staff,
      user.id,
      'phone',
      'SIM swap reported',
    );
    expect(info).toMatchObject({ status: 'email_verified', isPhoneVerified: false });
    const [active] = await db.sequelize.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM verification_codes
       WHERE user_id = $1 AND superseded_at IS NULL AND consumed_at IS NULL`,
      { bind: [user.id], type: QueryTypes.SELECT },
    );
    expect(active?.n).toBe(0);
    expect(
      (await eventsOf(user.id)).map((e) => [e.type, e.channel, e.actor_id, e.details]),
    ).toEqual([
      ['verification_revoked', 'phone', staff.id, { reason: 'SIM swap reported' }],
      [
        'status_changed',
        'phone',
        staff.id,
        { from: 'verified', to: 'email_verified', cause: 'revocation' },
      ],
    ]);
    expect(await codeError(revokeVerification(staffDeps(), staff, user.id, 'phone', 'x'))).toBe(
      'not_verified',
    );
    expect(await codeError(revokeVerification(staffDeps(), staff, staff.id, 'phone', 'x'))).toBe(
      'self_review',
    );
    expect(await codeError(revokeVerification(staffDeps(), staff, 2147483000, 'phone', 'x'))).toBe(
      'not_found',
    );
    expect(await codeError(revokeVerification(staffDeps(), user, staff.id, 'phone', 'x'))).toBe(
      'forbidden',
    );
  });

  it('races a verify of the same channel: whichever commits last decides, in the order of the events', async () => {
    const staff = await newUser({ role: 'staff' });
    for (let round = 0; round < 10; round += 1) {
      const user = await newUser();
      await issueCode(deps(), user.id, 'email');
      const { code } = sender.last();
      // Verified meanwhile (as by a staff approval), with the code still active.
      await db.sequelize.query(
        `UPDATE users SET verification_status = 'email_verified' WHERE id = $1`,
        { bind: [user.id] },
      );
      const [verified, revoked] = await Promise.allSettled([
        verifyCode(deps(), user.id, 'email', code),
        revokeVerification(staffDeps(), staff, user.id, 'email', 'race'),
      ]);
      expect(revoked.status).toBe('fulfilled');
      const types = (await eventsOf(user.id)).map((e) => e.type);
      if (verified.status === 'fulfilled') {
        // The verify committed first (no change: already verified), then the revocation.
        expect(types).toEqual([
          'code_sent',
          'code_verified',
          'verification_revoked',
          'status_changed',
        ]);
      } else {
        // The revocation superseded the code before the verify could use it.
        expect((verified.reason as AppError).code).toBe('no_active_code');
        expect(types).toEqual(['code_sent', 'verification_revoked', 'status_changed']);
      }
      await user.reload();
      expect(user.verificationStatus).toBe('unverified');
      const last = (await eventsOf(user.id)).at(-1);
      expect(last?.details).toMatchObject({ to: user.verificationStatus });
    }
  });
});

describe('history pages', () => {
  it('pages newest first with a type filter, stable while new events arrive; 403 for another user', async () => {
    const user = await newUser();
    const other = await newUser();
    const staff = await newUser({ role: 'staff' });
    // 20 minutes apart: within the hourly cap of sends.
    for (let i = 0; i < 7; i += 1) {
      clock += 20 * 60_000;
      await issueCode(deps(), user.id, 'email');
    }
    const asStaff = { id: staff.id, isStaff: true };
    const seen: string[] = [];
    let cursor: string | undefined;
    let page = 0;
    do {
      const result = await listEvents(db, asStaff, user.id, { limit: 3, cursor });
      seen.push(...result.items.map((i) => i.id));
      cursor = result.nextCursor ?? undefined;
      // New events while paging land on top: never in a later page.
      clock += 20 * 60_000;
      await issueCode(deps(), user.id, 'email');
      page += 1;
    } while (cursor && page < 10);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    expect([...seen].sort((a, b) => Number(b) - Number(a))).toEqual(seen);

    const sent = await listEvents(db, asStaff, user.id, { type: 'code_sent', limit: 100 });
    expect(sent.items.every((i) => i.type === 'code_sent')).toBe(true);
    expect(sent.items).toHaveLength(7 + page);
    const rejected = await listEvents(db, asStaff, user.id, { type: 'code_rejected' });
    expect(rejected).toEqual({ items: [], nextCursor: null });

    const self = { id: user.id, isStaff: false };
    expect((await listEvents(db, self, user.id, { limit: 1 })).items).toHaveLength(1);
    expect(await codeError(listEvents(db, self, other.id, {}))).toBe('forbidden');
    expect(await codeError(listEvents(db, asStaff, 2147483000, {}))).toBe('not_found');
    const first = await listEvents(db, asStaff, user.id, { limit: 1 });
    expect(
      await codeError(
        listEvents(db, asStaff, user.id, {
          type: 'code_sent',
          cursor: first.nextCursor as string,
        }),
      ),
    ).toBe('invalid_request');
  });
});

describe('the outbox and EventBridge', () => {
  beforeEach(async () => {
    fake.down = false;
    fake.refuse = () => false;
    // Older tests' rows are published out of the way.
    await publishPending({ sql: db.sql, sink: sink(), now, retentionDays: 7 });
    fake.received = [];
    fake.callSizes = [];
  });

  async function statusChanges(users: User[], perUser: number) {
    const staff = await newUser({ role: 'staff' });
    for (let i = 0; i < perUser; i += 1) {
      for (const u of users) {
        await createRequest(staffDeps(), staff, { requestType: `review_${i}`, userId: u.id });
      }
    }
  }

  it('publishes what is pending in calls of at most 10, holds back a refused user’s later events, and publishes each once', async () => {
    const users = [await newUser(), await newUser(), await newUser()];
    await statusChanges(users, 6);
    const refused = users[1] as User;
    fake.refuse = (e) => e.detail.userId === refused.id && e.detail.requestType === 'review_2';

    const first = await publishPending({
      sql: db.sql,
      sink: sink(),
      now,
      retentionDays: 7,
    });
    expect(fake.callSizes.every((n) => n <= 10)).toBe(true);
    expect(first).toMatchObject({ ran: true, published: 14, left: 4 });
    // The refused user's events before the refusal went out, none after it.
    const types = (u: User) =>
      fake.received.filter((e) => e.detail.userId === u.id).map((e) => e.detail.requestType);
    expect(types(refused)).toEqual(['review_0', 'review_1']);
    expect(first.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(0);

    fake.refuse = () => false;
    const second = await publishPending({
      sql: db.sql,
      sink: sink(),
      now,
      retentionDays: 7,
    });
    expect(second).toMatchObject({ published: 4, left: 0, oldestPendingAgeSeconds: 0 });
    for (const u of users) {
      expect(types(u)).toEqual([
        'review_0',
        'review_1',
        'review_2',
        'review_3',
        'review_4',
        'review_5',
      ]);
    }
    const ids = fake.received.map((e) => e.detail.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(fake.received[0]).toMatchObject({
      bus: 'verification-bus',
      source: 'verification-service',
      detailType: 'approval_requested',
    });
  });

  it('loses nothing while EventBridge is down, and publishes it once when it is back', async () => {
    const user = await newUser();
    await statusChanges([user], 3);
    fake.down = true;
    const down = await publishPending({
      sql: db.sql,
      sink: sink(),
      now,
      retentionDays: 7,
    });
    expect(down).toMatchObject({ published: 0, left: 3 });
    expect((await outboxOf(user.id)).every((o) => !o.published)).toBe(true);
    fake.down = false;
    clock += 120_000;
    const up = await publishPending({
      sql: db.sql,
      sink: sink(),
      now,
      retentionDays: 7,
    });
    expect(up).toMatchObject({ published: 3, left: 0 });
    expect(fake.received.filter((e) => e.detail.userId === user.id)).toHaveLength(3);
  });

  it('publishes a verify’s status change right after its commit, and the scheduled run finds nothing', async () => {
    const user = await newUser();
    const publisher = outboxPublisher(pgDb.sql, sink(), quiet, now);
    await issueCode(deps(publisher), user.id, 'email');
    await verifyCode(deps(publisher), user.id, 'email', sender.last().code);
    expect(fake.received.map((e) => [e.detailType, e.detail.userId, e.detail.to])).toEqual([
      ['status_changed', user.id, 'email_verified'],
    ]);
    expect((await outboxOf(user.id)).map((o) => o.published)).toEqual([true]);
    const run = await publishPending({
      sql: db.sql,
      sink: sink(),
      now,
      retentionDays: 7,
    });
    expect(run.published).toBe(0);
  });

  it('publishes a staff decision right after its commit only when no older event of the user waits', async () => {
    const user = await newUser();
    const staff = await newUser({ role: 'staff' });
    const publisher = outboxPublisher(db.sql, sink(), quiet, now);
    // Filed without publishing: its event waits in the outbox.
    const waiting = await createRequest(staffDeps(), user, { requestType: 'waits' });
    await decideRequest(staffDeps(publisher), staff, waiting.id, 'rejected', 'no');
    expect(fake.received).toEqual([]);
    // The scheduled run publishes both, in order; then a decision goes out at once.
    await publishPending({ sql: db.sql, sink: sink(), now, retentionDays: 7 });
    expect(fake.received.map((e) => e.detailType)).toEqual([
      'approval_requested',
      'approval_decided',
    ]);
    const next = await createRequest(staffDeps(publisher), user, { requestType: 'next' });
    await decideRequest(staffDeps(publisher), staff, next.id, 'approved', undefined);
    expect(fake.received.map((e) => e.detailType)).toEqual([
      'approval_requested',
      'approval_decided',
      'approval_requested',
      'approval_decided',
    ]);
    expect((await outboxOf(user.id)).every((o) => o.published)).toBe(true);
  });

  it('writes events as log lines without EVENT_BUS_NAME, and deletes published rows after retention', async () => {
    const user = await newUser();
    await statusChanges([user], 2);
    const lines: Record<string, unknown>[] = [];
    const logger: SinkLogger = { info: (_m, extra) => lines.push(extra), warn: () => undefined };
    const logged = await publishPending({
      sql: db.sql,
      sink: createEventSink(eventSettings({}), logger),
      now,
      retentionDays: 7,
    });
    expect(logged.published).toBe(2);
    expect(lines.map((l) => l.detailType)).toEqual(['approval_requested', 'approval_requested']);
    expect(fake.received).toEqual([]);

    clock += 8 * 86_400_000;
    const later = await publishPending({
      sql: db.sql,
      sink: sink(),
      now,
      retentionDays: 7,
    });
    expect(later.deleted).toBeGreaterThanOrEqual(2);
    expect(await outboxOf(user.id)).toEqual([]);
    // The audit trail itself is kept.
    expect(await eventsOf(user.id)).toHaveLength(2);
  });
});

describe('no code and no whole address in any event', () => {
  it('scans every event written by this file', async () => {
    const rows = await db.sequelize.query<{ text: string }>(
      'SELECT details::text AS text FROM verification_events',
      { type: QueryTypes.SELECT },
    );
    const users = await db.sequelize.query<{ email: string | null; phone: string | null }>(
      'SELECT email, phone FROM users',
      { type: QueryTypes.SELECT },
    );
    const secrets = [
      ...sender.messages.map((m) => m.code),
      ...users.flatMap((u) => [u.email, u.email?.toLowerCase(), u.phone]),
    ].filter((s): s is string => typeof s === 'string' && s.length > 0);
    expect(rows.length).toBeGreaterThan(20);
    for (const { text } of rows) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});
