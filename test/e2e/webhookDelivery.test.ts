import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { QueryTypes } from 'sequelize';
import { Webhook } from 'standardwebhooks';
import type { Database } from '../../lib/db';
import { ApiCall, expectErrorShape } from '../helpers/api';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { buildUser } from '../helpers/factories';
import type { OfflineServer } from '../helpers/offline';
import { tokenFor } from '../helpers/tokens';
import { ReceivedCall, WebhookReceiver } from '../helpers/webhookReceiver';

// Signed, retried webhook delivery over HTTP: serverless-offline runs the
// bundled send function against a local receiver scripted per test.

/** Two secrets, as while rotating from OLD to NEW. */
const OLD = `whsec_${Buffer.from('e2e-old-webhook-secret-0123456789').toString('base64')}`;
const NEW = `whsec_${Buffer.from('e2e-new-webhook-secret-9876543210').toString('base64')}`;
const ATTEMPT_MS = 1000;
/** The send function's time limit, as serverless.yml gives it. */
const FUNCTION_TIMEOUT_MS =
  (
    yaml.load(readFileSync(path.resolve(__dirname, '..', '..', 'serverless.yml'), 'utf8')) as {
      provider: { timeout: number };
    }
  ).provider.timeout * 1000;

interface Delivered {
  channel: string;
  destination: string;
  code: string;
  expiresAt: string;
  locale: string;
  subject?: string;
  text: string;
}

const receiver = new WebhookReceiver();
let stack: ApiStack;
let db: Database;
let api: ApiCall;
let offline: OfflineServer;
/** Codes delivered here: none may reach the logs. */
const codes = new Set<string>();

beforeAll(async () => {
  stack = await startApiStack({
    VERIFICATION_CODE_PEPPER: 'e2e-webhook-pepper-0123456789abcdef',
    CODE_DELIVERY: 'webhook',
    CODE_WEBHOOK_URL: await receiver.start(),
    CODE_WEBHOOK_SECRET: `${OLD} ${NEW}`,
    CODE_WEBHOOK_TIMEOUT_MS: String(ATTEMPT_MS),
    VERIFICATION_APP_NAME: 'Acme',
    VERIFICATION_DEFAULT_LOCALE: 'fr',
    VERIFICATION_WEBOTP_DOMAIN: 'acme.example',
  });
  ({ db, api, server: offline } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await receiver.stop();
});

async function newUser() {
  const user = await buildUser(db.models);
  return { user, token: await tokenFor(user.id) };
}

/** The body of a call, checked with the standard's verifier under each secret alone. */
function verifiedBody(call: ReceivedCall | undefined): Delivered {
  const headers = call?.headers ?? {};
  const fromOld = new Webhook(OLD).verify(call?.body ?? '', headers) as Delivered;
  const fromNew = new Webhook(NEW).verify(call?.body ?? '', headers) as Delivered;
  expect(fromNew).toEqual(fromOld);
  codes.add(fromOld.code);
  return fromOld;
}

async function codeRows(userId: number) {
  return db.sequelize.query<{ id: string; superseded_at: Date | null }>(
    'SELECT id, superseded_at FROM verification_codes WHERE user_id = $1',
    { bind: [userId], type: QueryTypes.SELECT },
  );
}

const send = (token: string, channel: 'email' | 'phone') =>
  api('POST', '/verification/codes', { token, body: { channel } });

describe('signed webhook delivery with one retry, over HTTP', () => {
  it('a receiver that fails once and then accepts: 201, one code, the same signed message twice', async () => {
    const { user, token } = await newUser();
    receiver.script([503], 200);
    const sent = await send(token, 'phone');
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ locale: 'fr' });
    const [first, second] = receiver.calls;
    expect(receiver.calls).toHaveLength(2);
    const id = (sent.body as { id: string }).id;
    expect(first?.headers['webhook-id']).toBe(id);
    expect(second?.headers['webhook-id']).toBe(id);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeLessThanOrEqual(500);
    expect(verifiedBody(second)).toEqual(verifiedBody(first));

    const delivered = verifiedBody(second);
    expect(delivered).toEqual({
      channel: 'phone',
      destination: user.phone,
      code: expect.stringMatching(/^\d{6}$/),
      expiresAt: (sent.body as { expiresAt: string }).expiresAt,
      locale: 'fr',
      text:
        `${delivered.code} est votre code de vérification pour Acme. Il expire dans 10 minutes.` +
        `\n\n@acme.example #${delivered.code}`,
    });
    expect(await codeRows(user.id)).toEqual([{ id, superseded_at: null }]);
    const verified = await api('POST', '/verification/verify', {
      token,
      body: { channel: 'phone', code: delivered.code },
    });
    expect(verified.status).toBe(200);
  });

  it('a receiver that fails twice: 502 delivery_failed and no active code left', async () => {
    const { user, token } = await newUser();
    receiver.script([], 502);
    expectErrorShape(await send(token, 'email'), 502, 'delivery_failed');
    expect(receiver.calls).toHaveLength(2);
    const delivered = verifiedBody(receiver.calls[1]);
    expect(delivered).toMatchObject({
      channel: 'email',
      subject: 'Votre code de vérification pour Acme',
    });
    const rows = await codeRows(user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.superseded_at).not.toBeNull();
    expectErrorShape(
      await api('POST', '/verification/verify', {
        token,
        body: { channel: 'email', code: delivered.code },
      }),
      404,
      'no_active_code',
    );
  });

  it('a receiver that answers 400 is not asked again: 502 after one call', async () => {
    const { token } = await newUser();
    receiver.script([400], 200);
    expectErrorShape(await send(token, 'email'), 502, 'delivery_failed');
    expect(receiver.calls).toHaveLength(1);
    verifiedBody(receiver.calls[0]);
  });

  it('a receiver that never answers: two attempts, and the send stays inside the time limit', async () => {
    const { token } = await newUser();
    receiver.script([], 'hang');
    const started = Date.now();
    const res = await send(token, 'phone');
    const took = Date.now() - started;
    expectErrorShape(res, 502, 'delivery_failed');
    expect(receiver.calls).toHaveLength(2);
    expect(took).toBeLessThan(FUNCTION_TIMEOUT_MS);
    // Two attempts of CODE_WEBHOOK_TIMEOUT_MS and the pause, with room for the emulator.
    expect(took).toBeLessThan(2 * ATTEMPT_MS + 500 + 2500);
    expect(took).toBeGreaterThanOrEqual(2 * ATTEMPT_MS);
    expect(verifiedBody(receiver.calls[1])).toEqual(verifiedBody(receiver.calls[0]));
  });

  it('logs neither the secret nor a code', () => {
    const output = offline.output();
    expect(codes.size).toBeGreaterThanOrEqual(4);
    for (const code of codes) expect(output.includes(code) ? code : null).toBeNull();
    for (const secret of [OLD, NEW]) {
      expect(output).not.toContain(secret.slice('whsec_'.length));
    }
    expect(output).not.toContain('whsec_');
    expect(output).toContain('verification code delivery failed');
  });
});
