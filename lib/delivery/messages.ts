import type { Channel } from '../../models/verification';
import { chooseLocale, type LocaleRequest } from './locale';

/**
 * The words of a code's message. Each locale's texts are one JSON file in
 * ./templates, named by its BCP 47 tag (`en.json`, `pt.json`, `pt-BR.json`):
 * adding a language is adding its file. Every adapter sends what
 * `renderMessage` makes, so SES, SNS, the webhook and the log carry the same
 * words.
 */
export interface MessageTemplate {
  /** `{count} minutes`, per CLDR plural category of the locale (`one`, `other`, ...). */
  minutes: Partial<Record<Intl.LDMLPluralRule, string>> & { other: string };
  /** The SMS text. */
  sms: string;
  /** The email's subject and plain-text body. */
  email: { subject: string; text: string };
}

/** The settings every message depends on. */
export interface MessageSettings {
  /** Named in every text (VERIFICATION_APP_NAME, default SERVICE_NAME). */
  appName: string;
  /** The locale when the request names none that a template serves (VERIFICATION_DEFAULT_LOCALE). */
  defaultLocale: string;
  /** VERIFICATION_WEBOTP_DOMAIN: the SMS ends with `@<domain> #<code>` when set. */
  webOtpDomain: string | undefined;
}

/** What a message needs to be written. */
export interface MessageInput {
  channel: Channel;
  code: string;
  ttlMinutes: number;
  /** A locale a template serves (from `messageLocale`). */
  locale: string;
}

export interface MessageText {
  /** The email subject; undefined for an SMS. */
  subject: string | undefined;
  text: string;
}

/** The template names `lookupChain` produces: `pt`, `pt-BR`, `zh-Hant`, `zh-Hant-TW`, `es-419`. */
const TEMPLATE_NAME = /^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|\d{3}))?$/;

const templates = new Map<string, MessageTemplate>();

/** True when `require` found no such file (Node's and Jest's code; esbuild's bundle message). */
function isMissingModule(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === 'MODULE_NOT_FOUND' || /^Module not found in bundle/.test(String(e.message));
}

function checkedTemplate(tag: string, data: unknown): MessageTemplate {
  const t = data as Partial<MessageTemplate> | null;
  const ok =
    typeof t?.sms === 'string' &&
    typeof t.email?.subject === 'string' &&
    typeof t.email.text === 'string' &&
    typeof t.minutes?.other === 'string';
  if (!ok) {
    throw new Error(
      `templates/${tag}.json needs "sms", "email.subject", "email.text" and "minutes.other"`,
    );
  }
  return t as MessageTemplate;
}

/** The template of exactly this tag, or undefined when there is no such file. */
export function templateFor(tag: string): MessageTemplate | undefined {
  const cached = templates.get(tag);
  if (cached) return cached;
  // Only names of the shape above reach require: never a path.
  if (!TEMPLATE_NAME.test(tag)) return undefined;
  let data: unknown;
  try {
    // Found by file name, with no list to keep: esbuild bundles every file this
    // pattern can match (templates/*.json), since a bundle cannot read a folder.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    data = require(`./templates/${tag}.json`);
  } catch (err) {
    if (isMissingModule(err)) return undefined;
    throw err;
  }
  const template = checkedTemplate(tag, data);
  templates.set(tag, template);
  return template;
}

export const hasTemplate = (tag: string): boolean => templateFor(tag) !== undefined;

/**
 * The locale a send's message is written in: the body's `locale`, else
 * `Accept-Language`, else the default; each falls back to its language
 * (`pt-BR` → `pt`), and an unsupported one to the default.
 */
export function messageLocale(request: LocaleRequest, defaultLocale: string): string {
  return chooseLocale(request, defaultLocale, hasTemplate);
}

const pluralRules = new Map<string, Intl.PluralRules>();
/** Categories already chosen, by locale and number: a container's messages use one TTL. */
const pluralCategories = new Map<string, Intl.LDMLPluralRule>();
const MAX_PLURAL_CATEGORIES = 256;

/**
 * The CLDR plural category of `n` in `locale`: its rules built once per
 * container, and each category chosen once (`select` cost about 20 µs a send).
 */
function pluralOf(locale: string, n: number): Intl.LDMLPluralRule {
  const key = `${locale} ${n}`;
  let category = pluralCategories.get(key);
  if (category === undefined) {
    let rules = pluralRules.get(locale);
    if (rules === undefined) {
      rules = new Intl.PluralRules(locale);
      pluralRules.set(locale, rules);
    }
    category = rules.select(n);
    if (pluralCategories.size < MAX_PLURAL_CATEGORIES) pluralCategories.set(key, category);
  }
  return category;
}

/** Fills `{name}` placeholders; a name without a value is a template error, never sent. */
function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{([A-Za-z]+)\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`unknown placeholder ${placeholder} in a template`);
    return value;
  });
}

/** The subject (email) and text of a code's message, in its locale. */
export function renderMessage(message: MessageInput, settings: MessageSettings): MessageText {
  const locale = templateFor(message.locale) ? message.locale : settings.defaultLocale;
  const template = templateFor(locale);
  if (!template) throw new Error(`no message template for ${locale}`);
  const plural = pluralOf(locale, message.ttlMinutes);
  const minutes = fill(template.minutes[plural] ?? template.minutes.other, {
    count: String(message.ttlMinutes),
  });
  const values = { app: settings.appName, code: message.code, minutes };
  if (message.channel === 'email') {
    return {
      subject: fill(template.email.subject, values),
      text: fill(template.email.text, values),
    };
  }
  const text = fill(template.sms, values);
  // WebOTP: browsers and phones offer to fill in a code from an SMS whose last
  // line is `@<host> #<code>`, for pages of that host only.
  if (settings.webOtpDomain === undefined) return { subject: undefined, text };
  return { subject: undefined, text: `${text}\n\n@${settings.webOtpDomain} #${message.code}` };
}
