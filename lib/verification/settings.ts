import type { Channel } from '../../models/verification';
import { canonicalTag, lookupChain } from '../delivery/locale';
import { hasTemplate, type MessageSettings } from '../delivery/messages';
import { type WebhookSigner, webhookSigner } from '../delivery/signing';
import { ADAPTER_CHANNELS, ADAPTERS, AdapterName, DeliverySettings } from '../delivery/types';
import { ConfigError } from '../errors';
import type { Env } from '../env';
import {
  envForStartCheck,
  intSetting,
  optionalSetting,
  requiredSetting,
  stageOf,
} from '../settings';
import { abuseSettings, AbuseSettings } from './abuseSettings';

export interface VerificationSettings {
  codeLength: number;
  codeTtlSeconds: number;
  maxAttempts: number;
  sendCooldownSeconds: number;
  maxSendsPerHour: number;
  maxSendsPerDestinationPerHour: number;
  /** Wrong codes per user and channel in 24 hours before both send and verify answer 429. */
  maxFailedAttemptsPerDay: number;
  pepper: string;
  delivery: DeliverySettings;
  /** Phone numbers, country permissions and budgets, the per-address limit. */
  abuse: AbuseSettings;
}

const MIN_PEPPER_LENGTH = 16;
/** The longest code lifetime; the daily count of wrong codes relies on it (service.ts). */
export const MAX_CODE_TTL_SECONDS = 600;

/**
 * CODE_DELIVERY is one adapter (`webhook`) or a comma-separated list
 * (`ses,sns`): each channel is served by the first listed adapter that can
 * deliver to it. Every channel must be served, and every listed adapter used.
 */
export function parseDelivery(raw: string | undefined, isProduction: boolean): AdapterName[] {
  if (raw === undefined) {
    if (isProduction) {
      throw new ConfigError(
        'CODE_DELIVERY',
        'is required on a production stage (webhook, ses, sns or a list such as ses,sns)',
      );
    }
    return ['log'];
  }
  const names = raw.split(',').map((s) => s.trim().toLowerCase());
  const adapters: AdapterName[] = [];
  for (const name of names) {
    if (!(ADAPTERS as readonly string[]).includes(name)) {
      throw new ConfigError(
        'CODE_DELIVERY',
        `has an unknown adapter "${name}" (one of ${ADAPTERS.join(', ')})`,
      );
    }
    if (adapters.includes(name as AdapterName)) {
      throw new ConfigError('CODE_DELIVERY', `lists "${name}" twice`);
    }
    adapters.push(name as AdapterName);
  }
  if (isProduction && adapters.includes('log')) {
    throw new ConfigError(
      'CODE_DELIVERY',
      'is "log" on a production stage: codes would only be written to the logs',
    );
  }
  return adapters;
}

function channelAssignment(adapters: AdapterName[]): Record<Channel, AdapterName> {
  const pick = (channel: Channel) => adapters.find((a) => ADAPTER_CHANNELS[a].includes(channel));
  const email = pick('email');
  const phone = pick('phone');
  if (!email || !phone) {
    const missing = !email ? 'email' : 'phone';
    throw new ConfigError(
      'CODE_DELIVERY',
      `"${adapters.join(',')}" cannot deliver ${missing} codes (add ${missing === 'email' ? 'ses' : 'sns'} or webhook)`,
    );
  }
  for (const a of adapters) {
    if (a !== email && a !== phone) {
      throw new ConfigError(
        'CODE_DELIVERY',
        `lists "${a}", which serves no channel (each channel uses the first adapter that can deliver to it)`,
      );
    }
  }
  return { email, phone };
}

/** Longest VERIFICATION_APP_NAME (or SERVICE_NAME): it is in every text, SMS included. */
const MAX_APP_NAME_LENGTH = 64;

/** One DNS label: letters, digits and inner hyphens, 1 to 63 characters. */
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * VERIFICATION_WEBOTP_DOMAIN: a bare host name (`example.com`, `login.example.com`),
 * in its ASCII form; no scheme, port, path, trailing dot or IP address.
 */
export function webOtpDomain(env: Env): string | undefined {
  const raw = optionalSetting(env, 'VERIFICATION_WEBOTP_DOMAIN')?.trim();
  if (raw === undefined) return undefined;
  const host = raw.toLowerCase();
  const labels = host.split('.');
  const ok =
    host.length <= 253 &&
    labels.every((label) => HOST_LABEL.test(label)) &&
    // A top-level label of digits only would make an IPv4 address.
    !/^\d+$/.test(labels[labels.length - 1] as string);
  if (!ok) {
    throw new ConfigError(
      'VERIFICATION_WEBOTP_DOMAIN',
      `must be a bare host name such as "example.com" (no scheme, port, path or IP address), got "${raw}"`,
    );
  }
  return host;
}

/** The app name, default locale and WebOTP domain of the messages. */
export function messageSettings(env: Env): MessageSettings {
  const nameSetting = optionalSetting(env, 'VERIFICATION_APP_NAME')
    ? 'VERIFICATION_APP_NAME'
    : 'SERVICE_NAME';
  const appName = optionalSetting(env, nameSetting)?.trim() ?? 'verification-service';
  // A line break would split the SMS and could push the WebOTP line off the end.
  // The control characters (Unicode's Cc) as a plain class: `\p{Cc}` builds
  // its character set from ICU at every cold start.
  // eslint-disable-next-line no-control-regex
  if (appName.length > MAX_APP_NAME_LENGTH || /[\u0000-\u001f\u007f-\u009f]/.test(appName)) {
    throw new ConfigError(
      nameSetting,
      `names the app in every message: at most ${MAX_APP_NAME_LENGTH} characters on one line`,
    );
  }

  const rawLocale = optionalSetting(env, 'VERIFICATION_DEFAULT_LOCALE')?.trim() ?? 'en';
  if (canonicalTag(rawLocale) === undefined) {
    throw new ConfigError(
      'VERIFICATION_DEFAULT_LOCALE',
      `must be a BCP 47 language tag such as "en" or "pt-BR", got "${rawLocale}"`,
    );
  }
  const defaultLocale = lookupChain(rawLocale).find(hasTemplate);
  if (defaultLocale === undefined) {
    throw new ConfigError(
      'VERIFICATION_DEFAULT_LOCALE',
      `is "${rawLocale}", for which lib/delivery/templates/ has no file (add one, or choose a language that has)`,
    );
  }
  return { appName, defaultLocale, webOtpDomain: webOtpDomain(env) };
}

/** The longest webhook attempt: two of them and the pause fit in the function's timeout. */
export const MAX_WEBHOOK_TIMEOUT_MS = 4000;

export function deliverySettings(env: Env, isProduction: boolean): DeliverySettings {
  const adapters = parseDelivery(optionalSetting(env, 'CODE_DELIVERY'), isProduction);
  const byChannel = channelAssignment(adapters);

  let webhookUrl: string | undefined;
  if (adapters.includes('webhook')) {
    webhookUrl = requiredSetting(env, 'CODE_WEBHOOK_URL', 'CODE_DELIVERY uses webhook');
    let parsed: URL;
    try {
      parsed = new URL(webhookUrl);
    } catch {
      throw new ConfigError('CODE_WEBHOOK_URL', `is not a valid URL: "${webhookUrl}"`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new ConfigError('CODE_WEBHOOK_URL', 'must be an http:// or https:// URL');
    }
    // The webhook carries codes in clear: never over plain HTTP in production.
    if (isProduction && parsed.protocol !== 'https:') {
      throw new ConfigError('CODE_WEBHOOK_URL', 'must be an https:// URL on a production stage');
    }
  }

  let sesFromAddress: string | undefined;
  if (adapters.includes('ses')) {
    sesFromAddress = requiredSetting(env, 'SES_FROM_ADDRESS', 'CODE_DELIVERY uses ses').trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(sesFromAddress) && !/<[^\s@]+@[^\s@]+>$/.test(sesFromAddress)) {
      throw new ConfigError('SES_FROM_ADDRESS', `is not an email address: "${sesFromAddress}"`);
    }
  }

  const snsSenderId = optionalSetting(env, 'SNS_SENDER_ID')?.trim();
  // AWS: 1-11 characters, letters, digits and hyphens, at least one letter.
  if (snsSenderId !== undefined && !/^(?=.*[A-Za-z])[A-Za-z0-9-]{1,11}$/.test(snsSenderId)) {
    throw new ConfigError(
      'SNS_SENDER_ID',
      'must be 1-11 letters, digits or hyphens with at least one letter',
    );
  }

  return {
    byChannel,
    webhookUrl,
    // Two attempts, the pause between them and what follows must fit in the
    // function's 10 s (test/unit/webhookTiming.test.ts reads serverless.yml).
    webhookTimeoutMs: intSetting(env, 'CODE_WEBHOOK_TIMEOUT_MS', 3000, {
      min: 100,
      max: MAX_WEBHOOK_TIMEOUT_MS,
    }),
    sesFromAddress,
    snsSenderId,
    messages: messageSettings(env),
  };
}

/** Every verification setting, validated; a problem is a ConfigError naming the setting. */
export function verificationSettings(env: Env): VerificationSettings {
  const { isProduction } = stageOf(env);
  const pepper = requiredSetting(
    env,
    'VERIFICATION_CODE_PEPPER',
    'or VERIFICATION_CODE_PEPPER_SECRET_ID; a random secret of at least 16 characters',
  );
  if (pepper.length < MIN_PEPPER_LENGTH) {
    throw new ConfigError(
      'VERIFICATION_CODE_PEPPER',
      `must be at least ${MIN_PEPPER_LENGTH} characters`,
    );
  }
  return {
    // Floors of ASVS 2.7: at least 6 digits, at most 10 minutes.
    codeLength: intSetting(env, 'VERIFICATION_CODE_LENGTH', 6, { min: 6, max: 10 }),
    codeTtlSeconds: intSetting(env, 'VERIFICATION_CODE_TTL_SECONDS', 600, {
      min: 30,
      max: MAX_CODE_TTL_SECONDS,
    }),
    maxAttempts: intSetting(env, 'VERIFICATION_MAX_ATTEMPTS', 5, { min: 1, max: 100 }),
    // At most an hour: the cooldown is measured within the hourly window.
    sendCooldownSeconds: intSetting(env, 'VERIFICATION_SEND_COOLDOWN_SECONDS', 30, {
      min: 0,
      max: 3600,
    }),
    maxSendsPerHour: intSetting(env, 'VERIFICATION_MAX_SENDS_PER_HOUR', 5, { min: 1, max: 1000 }),
    maxSendsPerDestinationPerHour: intSetting(
      env,
      'VERIFICATION_MAX_SENDS_PER_DESTINATION_PER_HOUR',
      10,
      { min: 1, max: 10000 },
    ),
    maxFailedAttemptsPerDay: intSetting(env, 'VERIFICATION_MAX_FAILED_ATTEMPTS_PER_DAY', 20, {
      min: 1,
      max: 1000,
    }),
    pepper,
    delivery: deliverySettings(env, isProduction),
    abuse: abuseSettings(env),
  };
}

/**
 * The webhook's signer, from CODE_WEBHOOK_SECRET (or its secret id, resolved
 * into it): read by the sending function only, so no other function holds the
 * secret. Required on a production stage when a channel uses the webhook;
 * off production an unset secret sends unsigned. A secret that is set is
 * checked whatever the delivery.
 */
export function webhookSignerSetting(
  env: Env,
  delivery: DeliverySettings,
): WebhookSigner | undefined {
  const raw = optionalSetting(env, 'CODE_WEBHOOK_SECRET');
  if (raw !== undefined) return webhookSigner(raw);
  const usesWebhook = Object.values(delivery.byChannel).includes('webhook');
  if (usesWebhook && stageOf(env).isProduction) {
    throw new ConfigError(
      'CODE_WEBHOOK_SECRET',
      'is required on a production stage for webhook delivery (or CODE_WEBHOOK_SECRET_SECRET_ID): a "whsec_" secret that signs every request',
    );
  }
  return undefined;
}

/**
 * The start check of the sending function: the verification settings and the
 * webhook's secret; secrets given as X_SECRET_ID count as present until read.
 */
export function checkSendSettingsAtStart(env: Env = process.env): void {
  const checked = envForStartCheck(env);
  webhookSignerSetting(checked, verificationSettings(checked).delivery);
}

/**
 * Checks the verification settings at import, so a misconfigured function stops
 * at start. A pepper given as VERIFICATION_CODE_PEPPER_SECRET_ID is only checked
 * for presence here; it is resolved with the other secrets on the first request.
 */
export function checkVerificationSettingsAtStart(env: Env = process.env): void {
  const withSecretsPresent: Env = { ...env };
  if (
    optionalSetting(env, 'VERIFICATION_CODE_PEPPER') === undefined &&
    optionalSetting(env, 'VERIFICATION_CODE_PEPPER_SECRET_ID') !== undefined
  ) {
    withSecretsPresent.VERIFICATION_CODE_PEPPER = 'x'.repeat(MIN_PEPPER_LENGTH);
  }
  verificationSettings(withSecretsPresent);
}
