import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCodeSender, DeliveryError, RenderedMessage } from '../../lib/delivery';
import { logSender } from '../../lib/delivery/log';
import { sesSender } from '../../lib/delivery/ses';
import { snsSender } from '../../lib/delivery/sns';
import { webhookSender } from '../../lib/delivery/webhook';
import { verificationSettings } from '../../lib/verification/settings';
import { FakeAws } from '../helpers/fakeAws';

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

describe('webhook adapter against a local HTTP server', () => {
  let server: http.Server;
  let url: string;
  const received: { path: string; contentType?: string; body: unknown }[] = [];
  let behaviour: 'ok' | 'fail' | 'slow' = 'ok';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          body: JSON.parse(body),
        });
        if (behaviour === 'slow') {
          const t = setTimeout(() => res.end('late'), 5000);
          res.on('close', () => clearTimeout(t));
          return;
        }
        res.statusCode = behaviour === 'ok' ? 204 : 500;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('POSTs {channel, destination, code, expiresAt, locale, subject, text} as JSON; 2xx is success', async () => {
    behaviour = 'ok';
    await webhookSender({ url, timeoutMs: 2000 }).send(email, {});
    expect(received.at(-1)).toEqual({
      path: '/hook',
      contentType: 'application/json',
      body: {
        channel: 'email',
        destination: 'jane@example.com',
        code: '012345',
        expiresAt: '2026-11-26T20:10:00.000Z',
        locale: 'es',
        subject: email.subject,
        text: email.text,
      },
    });
    await webhookSender({ url, timeoutMs: 2000 }).send(phone, {});
    // An SMS has no subject.
    expect(received.at(-1)?.body).toEqual({
      channel: 'phone',
      destination: '+15550001234',
      code: '987654',
      expiresAt: '2026-11-26T20:10:00.000Z',
      locale: 'de',
      text: phone.text,
    });
  });

  it('a 500 answer is a delivery failure', async () => {
    behaviour = 'fail';
    await expect(webhookSender({ url, timeoutMs: 2000 }).send(phone, {})).rejects.toThrow(
      /HTTP 500/,
    );
  });

  it('a server slower than the timeout is a delivery failure, quickly', async () => {
    behaviour = 'slow';
    const started = Date.now();
    await expect(webhookSender({ url, timeoutMs: 200 }).send(phone, {})).rejects.toThrow(
      /no answer within 200 ms/,
    );
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('an unreachable server is a delivery failure', async () => {
    await expect(
      webhookSender({ url: 'http://127.0.0.1:1/hook', timeoutMs: 2000 }).send(phone, {}),
    ).rejects.toBeInstanceOf(DeliveryError);
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
