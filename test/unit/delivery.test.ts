import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { createCodeSender, DeliveryError, RenderedMessage } from '../../lib/delivery';
import { logSender } from '../../lib/delivery/log';
import { sesSender } from '../../lib/delivery/ses';
import { snsSender } from '../../lib/delivery/sns';
import { webhookSigner } from '../../lib/delivery/signing';
import { RETRY_DELAY_MS, webhookSender, WebhookOptions } from '../../lib/delivery/webhook';
import { ConfigError } from '../../lib/errors';
import { verificationSettings } from '../../lib/verification/settings';
import { FakeAws } from '../helpers/fakeAws';
import { ReceivedCall, WebhookReceiver } from '../helpers/webhookReceiver';

const expiresAt = new Date('2026-11-26T20:10:00.000Z');
const email: RenderedMessage = {
  id: '7c0e4f6a-1b2d-4c3e-8f90-a1b2c3d4e5f6',
  channel: 'email',
  destination: 'jane@example.com',
  code: '012345',
  expiresAt,
  ttlMinutes: 10,
  locale: 'es',
  subject: 'Tu código de verificación de Acme',
  text: 'Hola:\n\nTu código de verificación de Acme es 012345.',
};
const phone: RenderedMessage = {
  id: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
  channel: 'phone',
  destination: '+15550001234',
  code: '987654',
  expiresAt,
  ttlMinutes: 10,
  locale: 'de',
  subject: undefined,
  text: '987654 ist Ihr Bestätigungscode für Acme. Er ist 10 Minuten lang gültig.',
};

// The real SDK clients, pointed at a local stand-in for SES and SNS.
const aws = new FakeAws();
const savedEnv = process.env;
beforeAll(async () => {
  process.env = { ...savedEnv, ...FakeAws.env(await aws.start()) };
});
afterAll(async () => {
  process.env = savedEnv;
  await aws.stop();
});
beforeEach(() => {
  aws.emails = [];
  aws.sms = [];
  aws.sesError = undefined;
  aws.snsError = undefined;
});

describe('ses adapter (SESv2 SendEmail through the real client)', () => {
  it('sends the subject and text it is given, from SES_FROM_ADDRESS, in UTF-8', async () => {
    await sesSender({ fromAddress: 'no-reply@acme.example' }).send(email, {});
    expect(aws.emails).toEqual([
      {
        from: 'no-reply@acme.example',
        to: ['jane@example.com'],
        subject: email.subject,
        text: email.text,
        charset: 'UTF-8',
      },
    ]);
  });

  it('turns an SES error into a DeliveryError, and refuses phones', async () => {
    aws.sesError = 'MessageRejected';
    const sender = sesSender({ fromAddress: 'a@b.example' });
    await expect(sender.send(email, {})).rejects.toThrow('ses delivery failed: MessageRejected');
    await expect(sender.send(phone, {})).rejects.toBeInstanceOf(DeliveryError);
    expect(aws.emails).toEqual([]);
  });
});

describe('sns adapter (SNS Publish through the real client)', () => {
  it('publishes the text as a transactional SMS with the sender id', async () => {
    await snsSender({ senderId: 'Acme' }).send(phone, {});
    expect(aws.sms).toEqual([
      {
        phoneNumber: '+15550001234',
        message: phone.text,
        attributes: {
          'AWS.SNS.SMS.SMSType': 'Transactional',
          'AWS.SNS.SMS.SenderID': 'Acme',
        },
      },
    ]);
  });

  it('omits the sender id when unset; errors become DeliveryError; refuses emails', async () => {
    const sender = snsSender({ senderId: undefined });
    await sender.send(phone, {});
    expect(Object.keys(aws.sms[0]?.attributes ?? {})).toEqual(['AWS.SNS.SMS.SMSType']);
    aws.snsError = 'InvalidParameter';
    await expect(sender.send(phone, {})).rejects.toThrow(
      'sns delivery failed: InvalidParameterException',
    );
    await expect(sender.send(email, {})).rejects.toBeInstanceOf(DeliveryError);
  });
});

describe('webhook adapter against a local receiver', () => {
  const receiver = new WebhookReceiver();
  // Two secrets, as while rotating: every request carries a signature for each.
  const OLD = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
  const NEW = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;
  let url: string;
  const sender = (opts: Partial<WebhookOptions> = {}) =>
    webhookSender({ url, timeoutMs: 1000, signer: webhookSigner(`${OLD} ${NEW}`), ...opts });

  beforeAll(async () => {
    url = await receiver.start();
  });
  afterAll(() => receiver.stop());

  /** Checks one call with the standard's own verifier, under one secret. */
  const verified = (call: ReceivedCall | undefined, secret: string) =>
    new Webhook(secret).verify(call?.body ?? '', call?.headers ?? {});

  it('POSTs {channel, destination, code, expiresAt, locale, subject, text} as JSON; 2xx is success', async () => {
    receiver.script([204]);
    await sender().send(email, {});
    await sender().send(phone, {});
    expect(receiver.calls[0]?.headers['content-type']).toBe('application/json');
    expect(receiver.bodies()).toEqual([
      {
        channel: 'email',
        destination: 'jane@example.com',
        code: '012345',
        expiresAt: '2026-11-26T20:10:00.000Z',
        locale: 'es',
        subject: email.subject,
        text: email.text,
      },
      // An SMS has no subject.
      {
        channel: 'phone',
        destination: '+15550001234',
        code: '987654',
        expiresAt: '2026-11-26T20:10:00.000Z',
        locale: 'de',
        text: phone.text,
      },
    ]);
  });

  it('signs as Standard Webhooks: standardwebhooks verifies each call under either secret', async () => {
    receiver.script([200]);
    const before = Math.floor(Date.now() / 1000);
    await sender().send(email, {});
    const call = receiver.calls[0] as ReceivedCall;
    expect(call.headers['webhook-id']).toBe(email.id);
    const timestamp = Number(call.headers['webhook-timestamp']);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    const signatures = (call.headers['webhook-signature'] ?? '').split(' ');
    expect(signatures).toHaveLength(2);
    for (const signature of signatures) expect(signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(verified(call, OLD)).toEqual(JSON.parse(call.body));
    expect(verified(call, NEW)).toEqual(JSON.parse(call.body));
    // A receiver with another secret, or a changed body, refuses it.
    const other = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    expect(() => verified(call, other)).toThrow(WebhookVerificationError);
    expect(() => verified({ ...call, body: call.body.replace('012345', '012346') }, OLD)).toThrow(
      WebhookVerificationError,
    );
  });

  it('sends unsigned without a secret (off production)', async () => {
    receiver.script([200]);
    await sender({ signer: undefined }).send(phone, {});
    expect(receiver.calls[0]?.headers['webhook-id']).toBe(phone.id);
    expect(receiver.calls[0]?.headers).not.toHaveProperty('webhook-signature');
  });

  it.each([[500], [502], [503], [429], ['reset' as const]])(
    'tries once more after %s, with the same id and a valid signature, within 500 ms',
    async (first) => {
      receiver.script([first], 201);
      await sender().send(email, {});
      const [one, two] = receiver.calls;
      expect(receiver.calls).toHaveLength(2);
      expect(two?.headers['webhook-id']).toBe(one?.headers['webhook-id']);
      expect(two?.body).toBe(one?.body);
      expect(verified(two, NEW)).toMatchObject({ code: '012345' });
      expect((two?.at ?? 0) - (one?.at ?? 0)).toBeLessThanOrEqual(500);
    },
  );

  it('retries a timed-out attempt with a fresh timestamp and signature', async () => {
    receiver.script(['hang'], 200);
    await sender({ timeoutMs: 1100 }).send(phone, {});
    const [one, two] = receiver.calls;
    expect(receiver.calls).toHaveLength(2);
    expect(Number(two?.headers['webhook-timestamp'])).toBeGreaterThan(
      Number(one?.headers['webhook-timestamp']),
    );
    expect(two?.headers['webhook-signature']).not.toBe(one?.headers['webhook-signature']);
    expect(verified(two, OLD)).toMatchObject({ code: '987654' });
  });

  it('fails after two failed attempts, saying what each got', async () => {
    receiver.script([], 502);
    await expect(sender().send(phone, {})).rejects.toThrow(
      'webhook delivery failed: answered HTTP 502, then answered HTTP 502',
    );
    expect(receiver.calls).toHaveLength(2);
  });

  it.each([[400], [401], [404], [410], [422], [301]])(
    'does not try again after %s',
    async (status) => {
      receiver.script([status]);
      await expect(sender().send(phone, {})).rejects.toThrow(
        `webhook delivery failed: answered HTTP ${status}`,
      );
      expect(receiver.calls).toHaveLength(1);
    },
  );

  it('gives up on a receiver that never answers after two attempts, quickly', async () => {
    receiver.script([], 'hang');
    const started = Date.now();
    await expect(sender({ timeoutMs: 300 }).send(phone, {})).rejects.toThrow(
      'webhook delivery failed: no answer within 300 ms, then no answer within 300 ms',
    );
    expect(receiver.calls).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(300 + RETRY_DELAY_MS + 300 + 400);
  });

  it('fits both attempts before the deadline (the function time left)', async () => {
    const send = async (deadlineIn: number) => {
      receiver.script([], 'hang');
      const started = Date.now();
      const error = await sender({ timeoutMs: 3000 })
        .send(phone, { deadline: started + deadlineIn })
        .catch((err: unknown) => err);
      return { error, calls: receiver.calls.length, took: Date.now() - started };
    };
    // Time for two: the first attempt takes at most half of what is left.
    const two = await send(800);
    expect(two.error).toBeInstanceOf(DeliveryError);
    expect(two.calls).toBe(2);
    expect(two.took).toBeLessThan(800 + 150);
    expect(String(two.error)).toMatch(/no answer within 2\d\d ms, then no answer within \d+ ms/);
    // Time for one only.
    const one = await send(300);
    expect(one.calls).toBe(1);
    expect(one.took).toBeLessThan(300 + 150);
    expect(String(one.error)).toMatch(/no answer within \d+ ms, then no time left to try again/);
    // No time at all: nothing is sent.
    const none = await send(50);
    expect(none.calls).toBe(0);
    expect(String(none.error)).toContain('no time left for an attempt');
  });

  it('an unreachable server is a delivery failure, tried twice', async () => {
    await expect(sender({ url: 'http://127.0.0.1:1/hook' }).send(phone, {})).rejects.toThrow(
      'webhook delivery failed: request failed, then request failed',
    );
  });
});

describe('webhook signing secret', () => {
  const bytes = (n: number) => Buffer.alloc(n, 7).toString('base64');
  const SECRET = `whsec_${bytes(32)}`;

  it.each([
    ['no prefix', bytes(32), 'the secret does not start with "whsec_"'],
    ['not base64', 'whsec_not*base64!', 'the secret is not base64 after "whsec_"'],
    ['empty after the prefix', 'whsec_', 'the secret is not base64 after "whsec_"'],
    ['too short', `whsec_${bytes(16)}`, 'the secret is only 16 bytes long'],
    ['bad second secret', `${SECRET} whsec_${bytes(8)}`, 'the second secret is only 8 bytes long'],
    ['bad first secret', `${bytes(32)} ${SECRET}`, 'the first secret does not start with'],
    ['three secrets', `${SECRET} ${SECRET} ${SECRET}`, 'holds 3 secrets'],
  ])('refuses %s, naming the setting and never the value', (_name, raw, problem) => {
    let error: unknown;
    try {
      webhookSigner(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^Configuration error: CODE_WEBHOOK_SECRET /);
    expect(message).toContain(problem);
    for (const part of raw.split(' ')) {
      if (part.length > 6) expect(message).not.toContain(part.slice(6));
    }
  });

  it('signs what the standard library verifies, with 24 bytes as the least', () => {
    const secret = `whsec_${bytes(24)}`;
    const at = new Date();
    const body = '{"code":"123456"}';
    const signature = webhookSigner(` ${secret} `).sign('msg_1', at, body);
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': signature,
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual({ code: '123456' });
  });
});

describe('createCodeSender', () => {
  const base = { VERIFICATION_CODE_PEPPER: 'x'.repeat(16), VERIFICATION_APP_NAME: 'Acme' };
  const code = { id: email.id, code: '024680', expiresAt, ttlMinutes: 5 };

  it('writes each message in its locale and routes email to SES, phone to SNS', async () => {
    const settings = verificationSettings({
      ...base,
      CODE_DELIVERY: 'ses,sns',
      SES_FROM_ADDRESS: 'a@b.example',
      VERIFICATION_WEBOTP_DOMAIN: 'acme.example',
    });
    const sender = createCodeSender(settings.delivery, { info: jest.fn() });
    await sender.send({ ...code, channel: 'email', destination: 'jo@example.com', locale: 'fr' });
    await sender.send({ ...code, channel: 'phone', destination: '+15550001234', locale: 'pt' });
    expect(aws.emails).toEqual([
      expect.objectContaining({
        subject: 'Votre code de vérification pour Acme',
        text: expect.stringContaining('Votre code de vérification pour Acme est 024680.'),
      }),
    ]);
    expect(aws.sms).toEqual([
      expect.objectContaining({
        phoneNumber: '+15550001234',
        message:
          '024680 é o seu código de verificação para Acme. Expira em 5 minutos.\n\n' +
          '@acme.example #024680',
      }),
    ]);
  });

  it('log delivery writes one line with the channel, destination, code and the same words', async () => {
    const info = jest.fn();
    const settings = verificationSettings(base);
    await createCodeSender(settings.delivery, { info }).send({
      ...code,
      channel: 'phone',
      destination: '+15550001234',
      locale: 'es',
    });
    expect(info).toHaveBeenCalledTimes(1);
    expect(info.mock.calls[0][1]).toEqual({
      channel: 'phone',
      destination: '+15550001234',
      code: '024680',
      expiresAt: expiresAt.toISOString(),
      locale: 'es',
      text: '024680 es tu código de verificación de Acme. Caduca en 5 minutos.',
    });
    await logSender({ info }).send(email, {});
    expect(info.mock.calls[1][1]).toMatchObject({ subject: email.subject, text: email.text });
  });
});
