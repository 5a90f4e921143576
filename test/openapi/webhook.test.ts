import OpenAPIResponseValidator from 'openapi-response-validator';
import { createCodeSender } from '../../lib/delivery';
import { verificationSettings } from '../../lib/verification/settings';
import { webhookSigner } from '../../lib/delivery/signing';
import { asOpenApi30, OPENAPI_DOCUMENT } from '../helpers/api';
import { WebhookReceiver } from '../helpers/webhookReceiver';

/**
 * openapi.yaml's `webhooks` section describes what the webhook adapter sends:
 * real requests (through a local receiver) are checked against it, and so are
 * its examples.
 */
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema: { pattern?: string };
}
interface WebhookOperation {
  parameters: Parameter[];
  requestBody: {
    content: {
      'application/json': { schema: object; examples: Record<string, { value: unknown }> };
    };
  };
}

const operation = (OPENAPI_DOCUMENT.webhooks as { verificationCode: { post: WebhookOperation } })
  .verificationCode.post;
const body = operation.requestBody.content['application/json'];
// The body schema, checked as openapi-response-validator checks answers.
const validator = new OpenAPIResponseValidator({
  responses: {
    200: { description: 'body', content: { 'application/json': { schema: body.schema } } },
  },
  components: (asOpenApi30(OPENAPI_DOCUMENT) as { components: object }).components,
} as unknown as ConstructorParameters<typeof OpenAPIResponseValidator>[0]);
const bodyErrors = (value: unknown) => validator.validateResponse('200', value);

const receiver = new WebhookReceiver();
let url: string;
beforeAll(async () => {
  url = await receiver.start();
});
afterAll(() => receiver.stop());

describe('the webhook as openapi.yaml documents it', () => {
  it('matches the requests the service sends, for both channels and two secrets', async () => {
    const settings = verificationSettings({
      VERIFICATION_CODE_PEPPER: 'x'.repeat(16),
      CODE_DELIVERY: 'webhook',
      CODE_WEBHOOK_URL: url,
      VERIFICATION_WEBOTP_DOMAIN: 'acme.example',
    });
    const secret = (fill: number) => `whsec_${Buffer.alloc(32, fill).toString('base64')}`;
    const sender = createCodeSender(
      settings.delivery,
      { info: () => undefined },
      webhookSigner(`${secret(1)} ${secret(2)}`),
    );
    receiver.script([]);
    const common = {
      id: '3f2b8c1e-6a4d-4f0e-9b7a-2c5d8e1f0a93',
      code: '0042917',
      expiresAt: new Date('2026-11-26T20:10:00.000Z'),
      ttlMinutes: 10,
    };
    await sender.send({ ...common, channel: 'email', destination: 'jo@example.com', locale: 'es' });
    await sender.send({ ...common, channel: 'phone', destination: '+34612345678', locale: 'fr' });
    expect(receiver.calls).toHaveLength(2);
    for (const call of receiver.calls) {
      expect(bodyErrors(JSON.parse(call.body))).toBeUndefined();
      for (const p of operation.parameters) {
        expect(p.in).toBe('header');
        const value = call.headers[p.name];
        if (p.required) expect(value).toBeDefined();
        if (p.schema.pattern) expect(value).toMatch(new RegExp(p.schema.pattern));
      }
      const documented = operation.parameters.map((p) => p.name).sort();
      expect(
        Object.keys(call.headers)
          .filter((h) => h.startsWith('webhook-'))
          .sort(),
      ).toEqual(documented);
    }
  });

  it('has examples that fit the schema, and a schema that refuses what is not sent', () => {
    for (const example of Object.values(body.examples)) {
      expect(bodyErrors(example.value)).toBeUndefined();
    }
    const sms = body.examples.sms?.value as Record<string, unknown>;
    expect(bodyErrors({ ...sms, extra: 1 })).toBeDefined();
    const { text: _text, ...withoutText } = sms;
    expect(bodyErrors(withoutText)).toBeDefined();
  });
});
