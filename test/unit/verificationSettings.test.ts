import { spawn } from 'node:child_process';
import path from 'node:path';
import { ConfigError } from '../../lib/errors';
import {
  checkSendSettingsAtStart,
  checkVerificationSettingsAtStart,
  verificationSettings,
  webhookSignerSetting,
} from '../../lib/verification/settings';
import { TEST_JWT_SECRET } from '../helpers/tokens';

const PEPPER = 'unit-test-pepper-0123456789';
const base = { VERIFICATION_CODE_PEPPER: PEPPER };

function configError(env: Record<string, string>): ConfigError {
  try {
    verificationSettings(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('verificationSettings', () => {
  it('has the documented defaults', () => {
    expect(verificationSettings(base)).toEqual({
      codeLength: 6,
      codeTtlSeconds: 600,
      maxAttempts: 5,
      sendCooldownSeconds: 30,
      maxSendsPerHour: 5,
      maxSendsPerDestinationPerHour: 10,
      maxFailedAttemptsPerDay: 20,
      pepper: PEPPER,
      delivery: {
        byChannel: { email: 'log', phone: 'log' },
        webhookUrl: undefined,
        webhookTimeoutMs: 3000,
        sesFromAddress: undefined,
        snsSenderId: undefined,
        messages: {
          appName: 'verification-service',
          defaultLocale: 'en',
          webOtpDomain: undefined,
        },
      },
      abuse: {
        defaultCountry: undefined,
        phoneCountries: '*',
        countryBudgets: undefined,
        maxSendsPerIpPerHour: undefined,
      },
    });
  });

  it.each([
    [{ VERIFICATION_CODE_PEPPER: '' }, 'VERIFICATION_CODE_PEPPER'],
    [{ VERIFICATION_CODE_PEPPER: 'too-short' }, 'VERIFICATION_CODE_PEPPER'],
    [{ VERIFICATION_CODE_LENGTH: '3' }, 'VERIFICATION_CODE_LENGTH'],
    // The floors of the security baseline (ASVS 2.7).
    [{ VERIFICATION_CODE_LENGTH: '5' }, 'VERIFICATION_CODE_LENGTH'],
    [{ VERIFICATION_CODE_TTL_SECONDS: '601' }, 'VERIFICATION_CODE_TTL_SECONDS'],
    [{ VERIFICATION_MAX_FAILED_ATTEMPTS_PER_DAY: '0' }, 'VERIFICATION_MAX_FAILED_ATTEMPTS_PER_DAY'],
    [{ VERIFICATION_CODE_LENGTH: '11' }, 'VERIFICATION_CODE_LENGTH'],
    [{ VERIFICATION_CODE_LENGTH: 'six' }, 'VERIFICATION_CODE_LENGTH'],
    [{ VERIFICATION_CODE_TTL_SECONDS: '10m' }, 'VERIFICATION_CODE_TTL_SECONDS'],
    [{ VERIFICATION_MAX_ATTEMPTS: '0' }, 'VERIFICATION_MAX_ATTEMPTS'],
    [{ VERIFICATION_SEND_COOLDOWN_SECONDS: '-1' }, 'VERIFICATION_SEND_COOLDOWN_SECONDS'],
    [{ VERIFICATION_MAX_SENDS_PER_HOUR: '0' }, 'VERIFICATION_MAX_SENDS_PER_HOUR'],
    [
      { VERIFICATION_MAX_SENDS_PER_DESTINATION_PER_HOUR: '1.5' },
      'VERIFICATION_MAX_SENDS_PER_DESTINATION_PER_HOUR',
    ],
    [{ CODE_DELIVERY: 'carrier-pigeon' }, 'CODE_DELIVERY'],
    [{ CODE_DELIVERY: 'ses' }, 'CODE_DELIVERY'],
    [{ CODE_DELIVERY: 'sns' }, 'CODE_DELIVERY'],
    [{ CODE_DELIVERY: 'webhook,ses', CODE_WEBHOOK_URL: 'http://x' }, 'CODE_DELIVERY'],
    [{ CODE_DELIVERY: 'log,log' }, 'CODE_DELIVERY'],
    [{ STAGE: 'prod' }, 'CODE_DELIVERY'],
    [{ STAGE: 'production', CODE_DELIVERY: 'log' }, 'CODE_DELIVERY'],
    [{ STAGE: 'prod', CODE_DELIVERY: 'ses,log', SES_FROM_ADDRESS: 'a@b.c' }, 'CODE_DELIVERY'],
    [{ CODE_DELIVERY: 'webhook' }, 'CODE_WEBHOOK_URL'],
    [{ CODE_DELIVERY: 'webhook', CODE_WEBHOOK_URL: 'not a url' }, 'CODE_WEBHOOK_URL'],
    [{ CODE_DELIVERY: 'webhook', CODE_WEBHOOK_URL: 'ftp://x/y' }, 'CODE_WEBHOOK_URL'],
    [
      { CODE_DELIVERY: 'webhook', CODE_WEBHOOK_URL: 'http://x', CODE_WEBHOOK_TIMEOUT_MS: '60000' },
      'CODE_WEBHOOK_TIMEOUT_MS',
    ],
    [{ CODE_DELIVERY: 'ses,sns' }, 'SES_FROM_ADDRESS'],
    [{ CODE_DELIVERY: 'ses,sns', SES_FROM_ADDRESS: 'nobody' }, 'SES_FROM_ADDRESS'],
    [
      { CODE_DELIVERY: 'ses,sns', SES_FROM_ADDRESS: 'a@b.c', SNS_SENDER_ID: 'TOO-LONG-SENDER' },
      'SNS_SENDER_ID',
    ],
    [{ VERIFICATION_DEFAULT_LOCALE: 'en_US' }, 'VERIFICATION_DEFAULT_LOCALE'],
    [{ VERIFICATION_DEFAULT_LOCALE: 'e-n' }, 'VERIFICATION_DEFAULT_LOCALE'],
    // Well-formed, but no template serves it or its language.
    [{ VERIFICATION_DEFAULT_LOCALE: 'ja' }, 'VERIFICATION_DEFAULT_LOCALE'],
    [{ VERIFICATION_APP_NAME: 'Acme\nclick here' }, 'VERIFICATION_APP_NAME'],
    [{ VERIFICATION_APP_NAME: 'x'.repeat(65) }, 'VERIFICATION_APP_NAME'],
    [{ SERVICE_NAME: 'y'.repeat(65) }, 'SERVICE_NAME'],
    [{ VERIFICATION_WEBOTP_DOMAIN: 'https://example.com' }, 'VERIFICATION_WEBOTP_DOMAIN'],
    [{ VERIFICATION_WEBOTP_DOMAIN: 'example.com/verify' }, 'VERIFICATION_WEBOTP_DOMAIN'],
    [{ VERIFICATION_WEBOTP_DOMAIN: 'example.com:443' }, 'VERIFICATION_WEBOTP_DOMAIN'],
    [{ VERIFICATION_WEBOTP_DOMAIN: '192.168.0.1' }, 'VERIFICATION_WEBOTP_DOMAIN'],
    [{ VERIFICATION_WEBOTP_DOMAIN: 'example.com.' }, 'VERIFICATION_WEBOTP_DOMAIN'],
    [{ VERIFICATION_WEBOTP_DOMAIN: '-bad-.example.com' }, 'VERIFICATION_WEBOTP_DOMAIN'],
    [{ VERIFICATION_WEBOTP_DOMAIN: 'exämple.com' }, 'VERIFICATION_WEBOTP_DOMAIN'],
    [{ VERIFICATION_WEBOTP_DOMAIN: '@example.com' }, 'VERIFICATION_WEBOTP_DOMAIN'],
  ])('refuses %j, naming %s', (env, setting) => {
    const err = configError({ ...base, ...env } as Record<string, string>);
    expect(err.setting).toBe(setting);
    expect(err.message).toContain(setting);
  });

  it('assigns each channel the first adapter that can deliver to it', () => {
    const env = {
      ...base,
      STAGE: 'prod',
      VERIFICATION_PHONE_COUNTRIES: 'US',
      CODE_DELIVERY: ' SES , SNS ',
      SES_FROM_ADDRESS: 'Service <no-reply@example.com>',
      SNS_SENDER_ID: 'Verify',
      SERVICE_NAME: 'Acme',
    };
    expect(verificationSettings(env).delivery).toMatchObject({
      byChannel: { email: 'ses', phone: 'sns' },
      sesFromAddress: 'Service <no-reply@example.com>',
      snsSenderId: 'Verify',
      messages: { appName: 'Acme', defaultLocale: 'en', webOtpDomain: undefined },
    });
    expect(
      verificationSettings({
        ...base,
        CODE_DELIVERY: 'ses,webhook',
        SES_FROM_ADDRESS: 'a@b.c',
        CODE_WEBHOOK_URL: 'https://hooks.example/codes',
      }).delivery.byChannel,
    ).toEqual({ email: 'ses', phone: 'webhook' });
  });

  it('names the app, chooses the default locale and the WebOTP domain', () => {
    const messages = (env: Record<string, string>) =>
      verificationSettings({ ...base, ...env }).delivery.messages;
    expect(messages({ SERVICE_NAME: 'Acme' }).appName).toBe('Acme');
    expect(messages({ SERVICE_NAME: 'acme-api', VERIFICATION_APP_NAME: ' Acme ' }).appName).toBe(
      'Acme',
    );
    expect(messages({ VERIFICATION_DEFAULT_LOCALE: 'de' }).defaultLocale).toBe('de');
    // A regional tag is served by its language's template.
    expect(messages({ VERIFICATION_DEFAULT_LOCALE: 'pt-BR' }).defaultLocale).toBe('pt');
    expect(messages({ VERIFICATION_DEFAULT_LOCALE: 'FR-ca' }).defaultLocale).toBe('fr');
    expect(messages({ VERIFICATION_WEBOTP_DOMAIN: 'Login.Example.com' }).webOtpDomain).toBe(
      'login.example.com',
    );
    expect(messages({ VERIFICATION_WEBOTP_DOMAIN: 'localhost' }).webOtpDomain).toBe('localhost');
  });

  it('accepts a pepper secret id at start, but not at run time', () => {
    const env = { VERIFICATION_CODE_PEPPER_SECRET_ID: 'arn:aws:secretsmanager:x' };
    expect(() => checkVerificationSettingsAtStart(env)).not.toThrow();
    expect(() => checkVerificationSettingsAtStart({})).toThrow(/VERIFICATION_CODE_PEPPER/);
    expect(() => verificationSettings(env)).toThrow(/VERIFICATION_CODE_PEPPER/);
  });
});

describe('the webhook signing secret', () => {
  const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
  const webhook = { CODE_DELIVERY: 'webhook', CODE_WEBHOOK_URL: 'https://hooks.example/codes' };
  const prod = {
    ...base,
    ...webhook,
    STAGE: 'prod',
    VERIFICATION_PHONE_COUNTRIES: 'US',
    AUTH_ISSUER: 'https://issuer.example',
    AUTH_AUDIENCE: 'client-1',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: 'postgres://u@h/db?sslmode=require',
  };
  const signer = (env: Record<string, string>) =>
    webhookSignerSetting(env, verificationSettings(env).delivery);

  it('is required on a production stage for webhook delivery, and only then', () => {
    expect(() => signer(prod)).toThrow(
      'Configuration error: CODE_WEBHOOK_SECRET is required on a production stage for webhook delivery',
    );
    expect(signer({ ...prod, CODE_WEBHOOK_SECRET: SECRET })).toBeDefined();
    // Off production the webhook goes unsigned.
    expect(signer({ ...base, ...webhook })).toBeUndefined();
    // Without the webhook there is nothing to sign.
    expect(
      signer({ ...prod, CODE_DELIVERY: 'ses,sns', SES_FROM_ADDRESS: 'a@b.example' }),
    ).toBeUndefined();
  });

  it('refuses a malformed secret wherever it is set, never quoting it', () => {
    const bad = `whsec_${Buffer.alloc(10, 9).toString('base64')}`;
    expect(() => signer({ ...base, CODE_WEBHOOK_SECRET: bad })).toThrow(
      /^Configuration error: CODE_WEBHOOK_SECRET must be "whsec_" followed by the base64 of at least 24 random bytes: the secret is only 10 bytes long$/,
    );
  });

  it('counts a secret id as present at start; both forms at once are an error', () => {
    const id = { ...prod, CODE_WEBHOOK_SECRET_SECRET_ID: 'prod/verification/webhook' };
    expect(() => checkSendSettingsAtStart(id)).not.toThrow();
    expect(() => checkSendSettingsAtStart(prod)).toThrow(/CODE_WEBHOOK_SECRET/);
    expect(() => checkSendSettingsAtStart({ ...id, CODE_WEBHOOK_SECRET: SECRET })).toThrow(
      'Configuration error: CODE_WEBHOOK_SECRET and CODE_WEBHOOK_SECRET_SECRET_ID are both set',
    );
    // The verify function never holds the secret and does not ask for it.
    expect(() => checkVerificationSettingsAtStart(prod)).not.toThrow();
  });
});

describe('a misconfigured verification function stops at start', () => {
  const root = path.resolve(__dirname, '..', '..');
  const good = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    VERIFICATION_CODE_PEPPER: PEPPER,
  };
  // What every production function needs besides the delivery (section on security).
  const production = {
    AUTH_ISSUER: 'https://issuer.example',
    AUTH_AUDIENCE: 'client-1',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none?sslmode=require',
  };

  /** Loads a handler module in a fresh Node process: its exit status and output. */
  function loadInChild(handler: string, env: Record<string, string>) {
    return new Promise<{ status: number | null; output: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--require', 'tsx/cjs', '-e', `require(${JSON.stringify(handler)})`],
        { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('exit', (status) => resolve({ status, output }));
    });
  }

  it('exits at import with a message naming the setting (separate Node processes)', async () => {
    const { VERIFICATION_CODE_PEPPER: _omit, ...withoutPepper } = good;
    const [noPepper, prodLog, ok, secretPepper] = await Promise.all([
      loadInChild('./functions/verification/issueCode.ts', withoutPepper),
      loadInChild('./functions/verification/verifyCode.ts', {
        ...good,
        ...production,
        STAGE: 'prod',
        CODE_DELIVERY: 'log',
      }),
      loadInChild('./functions/verification/issueCode.ts', good),
      loadInChild('./functions/verification/verifyCode.ts', {
        ...withoutPepper,
        VERIFICATION_CODE_PEPPER_SECRET_ID: 'ssm:/verification/pepper',
      }),
    ]);
    expect(noPepper.status).not.toBe(0);
    expect(noPepper.output).toContain('Configuration error: VERIFICATION_CODE_PEPPER');
    expect(prodLog.status).not.toBe(0);
    expect(prodLog.output).toContain('Configuration error: CODE_DELIVERY');
    expect(ok).toEqual({ status: 0, output: '' });
    expect(secretPepper).toEqual({ status: 0, output: '' });
  }, 120_000);

  // The same check for more settings, importing the modules afresh in this process.
  const saved = process.env;
  afterEach(() => {
    process.env = saved;
  });

  it.each([
    ['issueCode', { VERIFICATION_CODE_LENGTH: '12' }, 'VERIFICATION_CODE_LENGTH'],
    ['verifyCode', { VERIFICATION_MAX_ATTEMPTS: 'five' }, 'VERIFICATION_MAX_ATTEMPTS'],
    ['issueCode', { ...production, STAGE: 'production' }, 'CODE_DELIVERY'],
    ['verifyCode', { CODE_DELIVERY: 'webhook' }, 'CODE_WEBHOOK_URL'],
    ['issueCode', { CODE_DELIVERY: 'ses,sns' }, 'SES_FROM_ADDRESS'],
    [
      'issueCode',
      {
        ...production,
        STAGE: 'prod',
        CODE_DELIVERY: 'webhook',
        CODE_WEBHOOK_URL: 'https://hooks.example/c',
      },
      'VERIFICATION_PHONE_COUNTRIES',
    ],
    [
      'issueCode',
      { VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:-1' },
      'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY',
    ],
    ['verifyCode', { VERIFICATION_PHONE_COUNTRIES: 'US,XX' }, 'VERIFICATION_PHONE_COUNTRIES'],
    ['issueCode', { VERIFICATION_DEFAULT_LOCALE: 'xx-' }, 'VERIFICATION_DEFAULT_LOCALE'],
    ['issueCode', { CODE_WEBHOOK_SECRET: 'not-a-secret' }, 'CODE_WEBHOOK_SECRET'],
    [
      'issueCode',
      {
        ...production,
        STAGE: 'prod',
        VERIFICATION_PHONE_COUNTRIES: 'US',
        CODE_DELIVERY: 'webhook',
        CODE_WEBHOOK_URL: 'https://hooks.example/c',
      },
      'CODE_WEBHOOK_SECRET',
    ],
    [
      'issueCode',
      { VERIFICATION_WEBOTP_DOMAIN: 'https://a.example' },
      'VERIFICATION_WEBOTP_DOMAIN',
    ],
    [
      'issueCode',
      { VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: 'many' },
      'VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR',
    ],
    ['getMyVerification', { AUTH_JWT_SECRET: '' }, 'AUTH_JWKS_URL'],
    ['getUserVerification', { AUTH_JWKS_URL: 'https://example.com/jwks.json' }, 'AUTH_JWKS_URL'],
    ['getUserVerification', { DATABASE_URL: '' }, 'DATABASE_URL'],
  ])('%s with %j names %s', (handler, env, setting) => {
    process.env = { ...good, ...env };
    expect(() =>
      jest.isolateModules(() => {
        // A fresh import is the point here: the check runs at module load.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(`../../functions/verification/${handler}`);
      }),
    ).toThrow(`Configuration error: ${setting}`);
  });
});
