import type { Context } from 'aws-lambda';
import { QueryTypes } from 'sequelize';
import type { Database } from '../../lib/db';
import type { HttpEvent, HttpHandler, HttpResponse } from '../../lib/http';
import { logger } from '../../lib/logger';
import { createRequest } from '../../lib/staffApprovals/service';
import type { User } from '../../models';
import { captureEmf, type Emf } from '../helpers/emf';
import { buildUser } from '../helpers/factories';
import { openServiceDatabase } from '../helpers/serviceHarness';
import type { TestDatabase } from '../helpers/testDatabase';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens';
import { WebhookReceiver } from '../helpers/webhookReceiver';

// The API handlers, called in this process as Lambda calls them, write their
// metrics to stdout in CloudWatch's embedded metric format (EMF), once per
// invocation: these tests read those lines.

const NAMESPACE = 'VerificationServiceTest';
const saved = process.env;
const receiver = new WebhookReceiver();
let testDb: TestDatabase;
let db: Database;
const handlers: Record<'send' | 'verify' | 'approve' | 'reject' | 'cancel', HttpHandler> =
  {} as never;

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  ({ testDb, db } = await openServiceDatabase());
  process.env = {
    ...saved,
    STAGE: 'test',
    DATABASE_URL: testDb.url,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    VERIFICATION_CODE_PEPPER: 'metrics-test-pepper-0123456789',
    CODE_DELIVERY: 'webhook',
    CODE_WEBHOOK_URL: await receiver.start(),
    CODE_WEBHOOK_TIMEOUT_MS: '1000',
    VERIFICATION_PHONE_COUNTRIES: 'US,GB',
    VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'GB:1',
    METRICS_NAMESPACE: NAMESPACE,
    LOG_LEVEL: 'ERROR',
  };
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  delete process.env.POWERTOOLS_DEV;
  // Loaded now, with the environment above (one registry: Sequelize loads parts lazily).
  const load = (path: string) => jest.requireActual<{ handler: HttpHandler }>(path).handler;
  handlers.send = load('../../functions/verification/issueCode');
  handlers.verify = load('../../functions/verification/verifyCode');
  handlers.approve = load('../../functions/staffApprovals/approve');
  handlers.reject = load('../../functions/staffApprovals/reject');
  handlers.cancel = load('../../functions/staffApprovals/cancel');
});

afterAll(async () => {
  process.env = saved;
  // The pools the handlers made (kept on globalThis, whichever module copy made them).
  const { closeContainerPools } = jest.requireActual<typeof import('../../lib/containerPools')>(
    '../../lib/containerPools',
  );
  await closeContainerPools();
  await db.sequelize.close();
  await testDb.drop();
  await receiver.stop();
});

const context = {
  awsRequestId: 'metrics',
  functionName: 'verification-service-test-fn',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;

/** Calls a handler, and returns its answer with the EMF lines it wrote to stdout. */
async function invoke(
  handler: HttpHandler,
  event: HttpEvent,
): Promise<{ status: number; body: Record<string, unknown>; emf: Emf[] }> {
  const { result, emf } = await captureEmf(() => handler(event, context));
  const res = result as HttpResponse;
  return { status: res.statusCode as number, body: JSON.parse(res.body as string), emf };
}

/** The EMF line of one metric with its one dimension (or none). */
function line(name: string, unit: string, value: number, dimension?: [string, string]) {
  return {
    _aws: {
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        {
          Namespace: NAMESPACE,
          Dimensions: [dimension ? [dimension[0]] : []],
          Metrics: [{ Name: name, Unit: unit }],
        },
      ],
    },
    ...(dimension ? { [dimension[0]]: dimension[1] } : {}),
    [name]: value,
  };
}

const count = (name: string, dimension: [string, string]) => line(name, 'Count', 1, dimension);

async function post(path: string, user: User, body: unknown): Promise<HttpEvent> {
  const token = await tokenFor(user.id);
  return {
    version: '2.0',
    routeKey: `POST ${path.replace(/[0-9a-f-]{36}/, '{id}')}`,
    rawPath: path,
    rawQueryString: '',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requestContext: {
      requestId: `metrics-${Math.random()}`,
      http: { method: 'POST', path, sourceIp: '127.0.0.1' },
    },
    pathParameters: /[0-9a-f-]{36}/.test(path)
      ? { id: (/[0-9a-f-]{36}/.exec(path) as RegExpExecArray)[0] }
      : undefined,
    body: JSON.stringify(body),
    isBase64Encoded: false,
  } as unknown as HttpEvent;
}

const send = async (user: User, channel: 'phone' | 'email') =>
  invoke(handlers.send, await post('/verification/codes', user, { channel }));
const verify = async (user: User, channel: 'phone' | 'email', code: string) =>
  invoke(handlers.verify, await post('/verification/verify', user, { channel, code }));

describe('EMF metrics written by the handlers', () => {
  // First, so that it is the container's first invocation.
  it('a sent code: CodeSent with its Channel, and ColdStart on the first invocation only', async () => {
    receiver.script([], 200);
    const user = await buildUser(db.models);
    const first = await send(user, 'email');
    expect(first.status).toBe(201);
    expect(first.emf).toEqual([
      count('CodeSent', ['Channel', 'email']),
      count('ColdStart', ['function_name', 'verification-service-test-fn']),
    ]);

    const phoneUser = await buildUser(db.models);
    const second = await send(phoneUser, 'phone');
    expect(second.status).toBe(201);
    expect(second.emf).toEqual([count('CodeSent', ['Channel', 'phone'])]);
  });

  it('a failed delivery: CodeDeliveryFailed, and no CodeSent', async () => {
    receiver.script([], 500);
    const user = await buildUser(db.models);
    const res = await send(user, 'email');
    expect(res.status).toBe(502);
    expect(res.emf).toEqual([count('CodeDeliveryFailed', ['Channel', 'email'])]);
  });

  it('a right code: CodeVerified; a wrong one: CodeRejected, the last attempt included', async () => {
    receiver.script([], 200);
    const user = await buildUser(db.models);
    expect((await send(user, 'email')).status).toBe(201);
    const code = receiver.bodies<{ code: string }>().at(-1)?.code as string;
    const wrong = code === '000000' ? '111111' : '000000';

    const rejected = await verify(user, 'email', wrong);
    expect(rejected.status).toBe(422);
    expect(rejected.emf).toEqual([count('CodeRejected', ['Channel', 'email'])]);

    const verified = await verify(user, 'email', code);
    expect(verified.status).toBe(200);
    // The status change is published right after the commit (as a log line here).
    expect(verified.emf).toEqual([
      count('CodeVerified', ['Channel', 'email']),
      line('EventsPublished', 'Count', 1),
    ]);

    // The wrong try that uses up the last attempt answers 429 and is a rejection too.
    const other = await buildUser(db.models);
    expect((await send(other, 'phone')).status).toBe(201);
    const phoneCode = receiver.bodies<{ code: string }>().at(-1)?.code as string;
    const bad = phoneCode === '000000' ? '111111' : '000000';
    for (let i = 0; i < 4; i += 1) expect((await verify(other, 'phone', bad)).status).toBe(422);
    const last = await verify(other, 'phone', bad);
    expect(last.status).toBe(429);
    expect(last.emf).toEqual([count('CodeRejected', ['Channel', 'phone'])]);
    // A code with no attempts left is not checked, so nothing is counted.
    const dead = await verify(other, 'phone', phoneCode);
    expect(dead.status).toBe(429);
    expect(dead.emf).toEqual([]);
  });

  describe('a refused send: SendRefused with the error code as Reason, nothing delivered', () => {
    beforeAll(() => receiver.script([], 200));

    async function refused(user: User, channel: 'phone' | 'email', reason: string) {
      const calls = receiver.calls.length;
      const res = await send(user, channel);
      expect(res.body).toMatchObject({ error: { code: reason } });
      expect(res.emf).toEqual([count('SendRefused', ['Reason', reason])]);
      expect(receiver.calls.length).toBe(calls);
    }

    it('rate_limited (the cooldown)', async () => {
      const user = await buildUser(db.models);
      expect((await send(user, 'email')).status).toBe(201);
      await refused(user, 'email', 'rate_limited');
    });

    it('already_verified', async () => {
      const user = await buildUser(db.models, { verificationStatus: 'email_verified' });
      await refused(user, 'email', 'already_verified');
    });

    it('no_destination', async () => {
      const user = await buildUser(db.models, { phone: null });
      await refused(user, 'phone', 'no_destination');
    });

    it('invalid_destination', async () => {
      // Written by the main app: +1 555 numbers are not valid.
      const user = await buildUser(db.models, { phone: '+15551234567' });
      await refused(user, 'phone', 'invalid_destination');
    });

    it('destination_not_allowed (a country outside VERIFICATION_PHONE_COUNTRIES)', async () => {
      const user = await buildUser(db.models, { phone: '+33612345678' });
      await refused(user, 'phone', 'destination_not_allowed');
    });

    it('country_rate_limited (the GB budget of 1 an hour)', async () => {
      const first = await buildUser(db.models, { phone: '+447400123456' });
      const second = await buildUser(db.models, { phone: '+447400123457' });
      expect((await send(first, 'phone')).emf).toEqual([count('CodeSent', ['Channel', 'phone'])]);
      await refused(second, 'phone', 'country_rate_limited');
    });

    it('too_many_attempts (the daily cap of wrong codes)', async () => {
      const user = await buildUser(db.models);
      await db.sequelize.query(
        `INSERT INTO verification_codes (id, user_id, channel, destination, code_hash, attempts,
           max_attempts, expires_at, superseded_at, created_at)
         VALUES (gen_random_uuid(), $1, 'email', $2, 'x', 20, 20, now() + interval '5 minutes',
           now(), now())`,
        { bind: [user.id, user.email], type: QueryTypes.INSERT },
      );
      await refused(user, 'email', 'too_many_attempts');
    });
  });

  it('a decision: ApprovalDecided with its Decision (approved, rejected, cancelled)', async () => {
    const staff = await buildUser(db.models, { role: 'staff' });
    const user = await buildUser(db.models);
    const deps = { sequelize: db.sequelize, now: () => new Date(), maxPendingPerUser: 10 };
    const file = (requestType: string) => createRequest(deps, user, { requestType });

    const toApprove = await file('account_review');
    const approved = await invoke(
      handlers.approve,
      await post(`/staff-approval-requests/${toApprove.id}/approve`, staff, {}),
    );
    expect(approved.status).toBe(200);
    expect(approved.emf).toEqual([count('ApprovalDecided', ['Decision', 'approved'])]);

    const toReject = await file('limit_increase');
    const rejected = await invoke(
      handlers.reject,
      await post(`/staff-approval-requests/${toReject.id}/reject`, staff, { note: 'no' }),
    );
    expect(rejected.status).toBe(200);
    expect(rejected.emf).toEqual([count('ApprovalDecided', ['Decision', 'rejected'])]);

    const toCancel = await file('name_change');
    const cancelled = await invoke(
      handlers.cancel,
      await post(`/staff-approval-requests/${toCancel.id}/cancel`, user, {}),
    );
    expect(cancelled.status).toBe(200);
    expect(cancelled.emf).toEqual([count('ApprovalDecided', ['Decision', 'cancelled'])]);

    // A decision that does not happen (already decided) is not counted.
    const again = await invoke(
      handlers.approve,
      await post(`/staff-approval-requests/${toApprove.id}/approve`, staff, {}),
    );
    expect(again.status).toBe(409);
    expect(again.emf).toEqual([]);
  });

  it('a repeat answered from its Idempotency-Key counts nothing again', async () => {
    receiver.script([], 200);
    const user = await buildUser(db.models);
    const event = await post('/verification/codes', user, { channel: 'email' });
    event.headers['idempotency-key'] = `metrics-${user.id}`;
    expect((await invoke(handlers.send, event)).emf).toEqual([
      count('CodeSent', ['Channel', 'email']),
    ]);
    const replay = await invoke(handlers.send, event);
    expect(replay.status).toBe(201);
    expect(replay.emf).toEqual([]);
  });
});
