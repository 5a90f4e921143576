import { QueryTypes } from 'sequelize';
import type { Database } from '../../lib/db';
import { ApiCall, expectErrorShape } from '../helpers/api';
import { buildUser, unique } from '../helpers/factories';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { tokenFor } from '../helpers/tokens';
import { WebhookCapture } from '../helpers/webhookCapture';
import type { VerificationStatus } from '../../models';

// The abuse-resistance rules over HTTP, through serverless-offline, which sets
// requestContext.http.sourceIp from the socket: 127.0.0.1 for every request
// here. The tests run in order and share that address's hourly limit (6).

const IP_LIMIT = 6;

const webhook = new WebhookCapture();
const delivered = webhook.delivered;

let stack: ApiStack;
let db: Database;
let api: ApiCall;

beforeAll(async () => {
  const webhookUrl = await webhook.start();
  stack = await startApiStack({
    VERIFICATION_CODE_PEPPER: 'e2e-abuse-pepper-0123456789abcdef',
    CODE_DELIVERY: 'webhook',
    CODE_WEBHOOK_URL: webhookUrl,
    VERIFICATION_PHONE_COUNTRIES: 'US,FR',
    VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'FR:2,*:1000',
    VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: String(IP_LIMIT),
  });
  ({ db, api } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await webhook.stop();
});

async function newUser(phone: string | null, verificationStatus?: VerificationStatus) {
  const user = await buildUser(db.models, {
    email: `e2e-abuse-${unique()}@example.com`,
    phone,
    verificationStatus,
  });
  return { user, token: await tokenFor(user.id) };
}

const send = (token: string, channel: string, headers: Record<string, string> = {}) =>
  api('POST', '/verification/codes', { token, body: { channel }, headers });

const rowsOf = (userId: number) =>
  db.sequelize.query<{ destination: string; destination_country: string | null; ip: string }>(
    `SELECT destination, destination_country, host(source_ip) AS ip
     FROM verification_codes WHERE user_id = $1`,
    { bind: [userId], type: QueryTypes.SELECT },
  );

describe('abuse resistance over HTTP (in order)', () => {
  it('sends to the E.164 form, records the country and the socket address (1 of the address limit)', async () => {
    const { user, token } = await newUser('+1 (212) 555-0142');
    const res = await send(token, 'phone');
    expect(res.status).toBe(201);
    expect(delivered.at(-1)).toMatchObject({ channel: 'phone', destination: '+12125550142' });
    expect(await rowsOf(user.id)).toEqual([
      { destination: '+12125550142', destination_country: 'US', ip: '127.0.0.1' },
    ]);
  });

  it('answers 409 before 422, and 422 invalid_destination / destination_not_allowed storing nothing', async () => {
    const verified = await newUser('+15555550100', 'phone_verified');
    expectErrorShape(await send(verified.token, 'phone'), 409, 'already_verified');

    const before = delivered.length;
    const invalid = await newUser('+15555550101');
    expectErrorShape(await send(invalid.token, 'phone'), 422, 'invalid_destination');

    const german = await newUser('+49 30 123456');
    const refused = await send(german.token, 'phone');
    expectErrorShape(refused, 422, 'destination_not_allowed');
    expect((refused.body as { error: { country: string } }).error.country).toBe('DE');

    expect(await rowsOf(invalid.user.id)).toEqual([]);
    expect(await rowsOf(german.user.id)).toEqual([]);
    expect(delivered.length).toBe(before);
  });

  it('spends a country budget across users, then 429 country_rate_limited with Retry-After (3 of the limit)', async () => {
    for (const n of ['01', '02']) {
      const { token } = await newUser(`+33 6 12 34 56 ${n}`);
      expect((await send(token, 'phone')).status).toBe(201);
    }
    const before = delivered.length;
    const { token } = await newUser('+33 6 12 34 56 03');
    const res = await send(token, 'phone');
    expectErrorShape(res, 429, 'country_rate_limited');
    expect((res.body as { error: { country: string } }).error.country).toBe('FR');
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(delivered.length).toBe(before);
    // Email to the same user is not a phone send.
    const email = await send(token, 'email');
    expect(email.status).toBe(201);
  });

  it('limits sends per source address; a forged X-Forwarded-For changes nothing', async () => {
    // 4 counted so far; two more reach the limit.
    for (let i = 0; i < IP_LIMIT - 4; i += 1) {
      const { token } = await newUser(null);
      expect((await send(token, 'email', { 'X-Forwarded-For': `203.0.113.${i + 1}` })).status).toBe(
        201,
      );
    }
    const { user, token } = await newUser(null);
    const forged: Record<string, string>[] = [
      {},
      { 'X-Forwarded-For': '198.51.100.77' },
      { 'X-Real-IP': '198.51.100.78' },
    ];
    for (const headers of forged) {
      const res = await send(token, 'email', headers);
      expectErrorShape(res, 429, 'rate_limited');
      expect((res.body as { error: { reason: string } }).error.reason).toBe('ip');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(await rowsOf(user.id)).toEqual([]);
    // The 422s come before the address limit.
    const invalid = await newUser('+15555550102');
    expectErrorShape(await send(invalid.token, 'phone'), 422, 'invalid_destination');
    // Every stored address is the socket's, whatever the headers said.
    const ips = await db.sequelize.query<{ ip: string }>(
      'SELECT DISTINCT host(source_ip) AS ip FROM verification_codes',
      { type: QueryTypes.SELECT },
    );
    expect(ips).toEqual([{ ip: '127.0.0.1' }]);
  });
});
