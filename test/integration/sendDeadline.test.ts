import type { Context } from 'aws-lambda';
import type { HttpEvent, HttpHandler, HttpResponse } from '../../lib/http';
import { AFTER_DELIVERY_RESERVE_MS } from '../../lib/verification/service';
import { buildUser } from '../helpers/factories';
import { openServiceDatabase } from '../helpers/serviceHarness';
import type { TestDatabase } from '../helpers/testDatabase';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens';
import { WebhookReceiver } from '../helpers/webhookReceiver';
import type { Database } from '../../lib/db';

// The send handler, called in this process with a Lambda context, keeps its
// webhook attempts inside the time the context says is left.

const saved = process.env;
const receiver = new WebhookReceiver();
let testDb: TestDatabase;
let db: Database;
let handler: HttpHandler;

beforeAll(async () => {
  ({ testDb, db } = await openServiceDatabase());
  process.env = {
    ...saved,
    STAGE: 'test',
    DATABASE_URL: testDb.url,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    VERIFICATION_CODE_PEPPER: 'deadline-test-pepper-0123456789',
    CODE_DELIVERY: 'webhook',
    CODE_WEBHOOK_URL: await receiver.start(),
    // The longest attempt allowed: two would take over 8 seconds.
    CODE_WEBHOOK_TIMEOUT_MS: '4000',
    LOG_LEVEL: 'ERROR',
  };
  jest.isolateModules(() => {
    ({ handler } = jest.requireActual<{ handler: HttpHandler }>(
      '../../functions/verification/issueCode',
    ));
  });
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

function sendEvent(token: string): HttpEvent {
  return {
    version: '2.0',
    routeKey: 'POST /verification/codes',
    rawPath: '/verification/codes',
    rawQueryString: '',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requestContext: {
      requestId: 'deadline',
      http: { method: 'POST', path: '/verification/codes', sourceIp: '127.0.0.1' },
    },
    body: JSON.stringify({ channel: 'email' }),
    isBase64Encoded: false,
  } as unknown as HttpEvent;
}

/** A Lambda context that stops the invocation `ms` from now. */
function contextEndingIn(ms: number): Context {
  const end = Date.now() + ms;
  return {
    awsRequestId: 'deadline',
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
  } as unknown as Context;
}

it('answers 502 before the function times out, with both attempts cut to fit', async () => {
  const user = await buildUser(db.models);
  receiver.script([], 'hang');
  const limit = 2500;
  const started = Date.now();
  const res = (await handler(
    sendEvent(await tokenFor(user.id)),
    contextEndingIn(limit),
  )) as HttpResponse;
  const took = Date.now() - started;
  expect(res.statusCode).toBe(502);
  expect(JSON.parse(res.body as string)).toMatchObject({ error: { code: 'delivery_failed' } });
  expect(receiver.calls).toHaveLength(2);
  // Delivery stopped at the reserve before the end; retiring the code and answering used the rest.
  expect(took).toBeLessThan(limit);
  expect(took).toBeGreaterThanOrEqual(limit - AFTER_DELIVERY_RESERVE_MS - 200);
});
