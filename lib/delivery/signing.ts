import type { Webhook } from 'standardwebhooks';
import { ConfigError } from '../errors';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com), made by the
 * standard's own JavaScript library: `v1,<base64 HMAC-SHA256 of
 * "id.timestamp.body">` under each secret, space-separated, so a receiver that
 * holds either secret accepts the message while the secret is rotated.
 */
export interface WebhookSigner {
  /** The `webhook-signature` header for one attempt. */
  sign(id: string, timestamp: Date, body: string): string;
}

/**
 * The library, loaded when a secret is first read: only the sending function
 * with a webhook secret set needs it, not every cold start.
 */
function standardWebhooks(): { Webhook: typeof Webhook } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('standardwebhooks') as { Webhook: typeof Webhook };
}

const PREFIX = 'whsec_';
/** Standard base64 with its padding, as the standard's secrets are written. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** The standard asks for secrets of 24 to 64 random bytes. */
export const MIN_SECRET_BYTES = 24;

/**
 * The signer of CODE_WEBHOOK_SECRET: one `whsec_<base64>` secret, or two
 * separated by a space while rotating. A malformed value is a ConfigError
 * naming the setting that says what is wrong, never what the value is.
 */
export function webhookSigner(raw: string, setting = 'CODE_WEBHOOK_SECRET'): WebhookSigner {
  const secrets = raw.trim().split(/\s+/);
  if (secrets.length > 2) {
    throw new ConfigError(
      setting,
      `holds ${secrets.length} secrets: give one, or two separated by a space while rotating`,
    );
  }
  const keys = secrets.map((secret, i) => {
    const which =
      secrets.length === 1 ? 'the secret' : i === 0 ? 'the first secret' : 'the second secret';
    const problem = (what: string) =>
      new ConfigError(
        setting,
        `must be "whsec_" followed by the base64 of at least ${MIN_SECRET_BYTES} random bytes: ${which} ${what}`,
      );
    if (!secret.startsWith(PREFIX)) throw problem('does not start with "whsec_"');
    const encoded = secret.slice(PREFIX.length);
    if (encoded === '' || !BASE64.test(encoded)) throw problem('is not base64 after "whsec_"');
    const bytes = Buffer.from(encoded, 'base64').length;
    if (bytes < MIN_SECRET_BYTES) throw problem(`is only ${bytes} bytes long`);
    return new (standardWebhooks().Webhook)(secret);
  });
  return {
    sign: (id, timestamp, body) => keys.map((key) => key.sign(id, timestamp, body)).join(' '),
  };
}
