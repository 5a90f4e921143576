import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCodeSender, DeliveryError } from '../../lib/delivery';
import { logSender } from '../../lib/delivery/log';
import { sesSender } from '../../lib/delivery/ses';
import { snsSender } from '../../lib/delivery/sns';
import { webhookSender } from '../../lib/delivery/webhook';
import { verificationSettings } from '../../lib/verification/settings';

const expiresAt = new Date('2026-11-26T20:10:00.000Z');
const email = {
  channel: 'email' as const,
  destination: 'jane@example.com',
  code: '012345',
  expiresAt,
  ttlMinutes: 10,
};
const phone = {
  channel: 'phone' as const,
  destination: '+15550001234',
  code: '987654',
  expiresAt,
  ttlMinutes: 10,
};

// One mock per client class for the whole file (mockClient patches the prototype).
const ses = mockClient(SESv2Client);
const sns = mockClient(SNSClient);
beforeEach(() => {
  ses.reset();
  sns.reset();
});
afterAll(() => {
  ses.restore();
  sns.restore();
});

describe('ses adapter', () => {
  it('sends the code from SES_FROM_ADDRESS, naming the service and the lifetime', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'm1' });
    await sesSender({ fromAddress: 'no-reply@acme.example', serviceName: 'Acme' }).send(email);
    const calls = ses.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.FromEmailAddress).toBe('no-reply@acme.example');
    expect(input.Destination).toEqual({ ToAddresses: ['jane@example.com'] });
    const text = input.Content?.Simple?.Body?.Text?.Data ?? '';
    expect(text).toContain('012345');
    expect(text).toContain('Acme');
    expect(text).toContain('10 minutes');
    expect(input.Content?.Simple?.Subject?.Data).toContain('Acme');
  });

  it('turns an SES error into a DeliveryError, and refuses phones', async () => {
    ses
      .on(SendEmailCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'TooManyRequestsException' }));
    const sender = sesSender({ fromAddress: 'a@b.example', serviceName: 'Acme' });
    await expect(sender.send(email)).rejects.toBeInstanceOf(DeliveryError);
    await expect(sender.send(phone)).rejects.toBeInstanceOf(DeliveryError);
  });
});

describe('sns adapter', () => {
  it('publishes a transactional SMS with the sender id', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm1' });
    await snsSender({ senderId: 'Acme', serviceName: 'Acme' }).send({ ...phone, ttlMinutes: 1 });
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.PhoneNumber).toBe('+15550001234');
    expect(input.Message).toContain('987654');
    expect(input.Message).toContain('Acme');
    expect(input.Message).toContain('1 minute.');
    expect(input.MessageAttributes).toEqual({
      'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
      'AWS.SNS.SMS.SenderID': { DataType: 'String', StringValue: 'Acme' },
    });
  });

  it('omits the sender id when unset; errors become DeliveryError; refuses emails', async () => {
    sns.on(PublishCommand).resolvesOnce({}).rejects(new Error('opted out'));
    const sender = snsSender({ senderId: undefined, serviceName: 'Acme' });
    await sender.send(phone);
    expect(
      Object.keys(sns.commandCalls(PublishCommand)[0]!.args[0].input.MessageAttributes ?? {}),
    ).toEqual(['AWS.SNS.SMS.SMSType']);
    await expect(sender.send(phone)).rejects.toBeInstanceOf(DeliveryError);
    await expect(sender.send(email)).rejects.toBeInstanceOf(DeliveryError);
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

  it('POSTs {channel, destination, code, expiresAt} as JSON; 2xx is success', async () => {
    behaviour = 'ok';
    await webhookSender({ url, timeoutMs: 2000 }).send(email);
    expect(received.at(-1)).toEqual({
      path: '/hook',
      contentType: 'application/json',
      body: {
        channel: 'email',
        destination: 'jane@example.com',
        code: '012345',
        expiresAt: '2026-11-26T20:10:00.000Z',
      },
    });
  });

  it('a 500 answer is a delivery failure', async () => {
    behaviour = 'fail';
    await expect(webhookSender({ url, timeoutMs: 2000 }).send(phone)).rejects.toThrow(/HTTP 500/);
  });

  it('a server slower than the timeout is a delivery failure, quickly', async () => {
    behaviour = 'slow';
    const started = Date.now();
    await expect(webhookSender({ url, timeoutMs: 200 }).send(phone)).rejects.toThrow(
      /no answer within 200 ms/,
    );
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('an unreachable server is a delivery failure', async () => {
    await expect(
      webhookSender({ url: 'http://127.0.0.1:1/hook', timeoutMs: 2000 }).send(phone),
    ).rejects.toBeInstanceOf(DeliveryError);
  });
});

describe('createCodeSender', () => {
  it('routes email to SES and phone to SNS for CODE_DELIVERY=ses,sns', async () => {
    ses.on(SendEmailCommand).resolves({});
    sns.on(PublishCommand).resolves({});
    const settings = verificationSettings({
      VERIFICATION_CODE_PEPPER: 'x'.repeat(16),
      CODE_DELIVERY: 'ses,sns',
      SES_FROM_ADDRESS: 'a@b.example',
    });
    const sender = createCodeSender(settings.delivery, { info: jest.fn() });
    await sender.send(email);
    await sender.send(phone);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('log delivery writes one line with channel, destination and code', async () => {
    const info = jest.fn();
    await logSender({ info }).send(phone);
    expect(info).toHaveBeenCalledTimes(1);
    expect(info.mock.calls[0][1]).toMatchObject({
      channel: 'phone',
      destination: '+15550001234',
      code: '987654',
    });
  });
});
