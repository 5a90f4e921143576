import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { RETRY_DELAY_MS } from '../../lib/delivery/webhook';
import { AFTER_DELIVERY_RESERVE_MS } from '../../lib/verification/service';
import { MAX_WEBHOOK_TIMEOUT_MS, verificationSettings } from '../../lib/verification/settings';

/** Time the send needs before delivery: the user lock and the limits statement, generously. */
const BEFORE_DELIVERY_MS = 500;

const config = yaml.load(
  readFileSync(path.resolve(__dirname, '..', '..', 'serverless.yml'), 'utf8'),
) as {
  provider: { timeout: number };
  functions: Record<string, { timeout?: number }>;
};

describe('the webhook fits in the sending function time limit', () => {
  it('allows no CODE_WEBHOOK_TIMEOUT_MS whose two attempts would not fit', () => {
    const seconds = config.functions.issueVerificationCode?.timeout ?? config.provider.timeout;
    const needed =
      BEFORE_DELIVERY_MS + 2 * MAX_WEBHOOK_TIMEOUT_MS + RETRY_DELAY_MS + AFTER_DELIVERY_RESERVE_MS;
    expect(needed).toBeLessThanOrEqual(seconds * 1000);
    expect(RETRY_DELAY_MS).toBeLessThanOrEqual(500);
    const env = {
      VERIFICATION_CODE_PEPPER: 'x'.repeat(16),
      CODE_DELIVERY: 'webhook',
      CODE_WEBHOOK_URL: 'https://hooks.example/codes',
    };
    expect(
      verificationSettings({ ...env, CODE_WEBHOOK_TIMEOUT_MS: String(MAX_WEBHOOK_TIMEOUT_MS) })
        .delivery.webhookTimeoutMs,
    ).toBe(MAX_WEBHOOK_TIMEOUT_MS);
    expect(() =>
      verificationSettings({
        ...env,
        CODE_WEBHOOK_TIMEOUT_MS: String(MAX_WEBHOOK_TIMEOUT_MS + 1),
      }),
    ).toThrow('Configuration error: CODE_WEBHOOK_TIMEOUT_MS must be at most');
  });
});
