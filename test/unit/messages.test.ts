import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  acceptedLanguages,
  chooseLocale,
  isLanguageTag,
  lookupChain,
} from '../../lib/delivery/locale';
import {
  hasTemplate,
  messageLocale,
  MessageSettings,
  renderMessage,
  templateFor,
} from '../../lib/delivery/messages';

const TEMPLATES = path.resolve(__dirname, '..', '..', 'lib', 'delivery', 'templates');
/** Every locale a file serves: adding a file adds it here. */
const LOCALES = readdirSync(TEMPLATES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length));

const settings: MessageSettings = {
  appName: 'Acme Bank',
  defaultLocale: 'en',
  webOtpDomain: undefined,
};
// Code lifetimes run from 30 seconds to 10 minutes: 1 to 10 whole minutes.
const LIFETIMES = [1, 2, 5, 10];

describe('message templates (one file per locale in lib/delivery/templates)', () => {
  it('has at least en, es, fr, de and pt, each named by a canonical BCP 47 tag', () => {
    expect(LOCALES).toEqual(expect.arrayContaining(['en', 'es', 'fr', 'de', 'pt']));
    for (const locale of LOCALES) {
      expect(Intl.getCanonicalLocales(locale)).toEqual([locale]);
      expect(hasTemplate(locale)).toBe(true);
    }
  });

  describe.each(LOCALES)('%s', (locale) => {
    it.each(LIFETIMES)(
      'writes both channels with the code, the app and a lifetime of %i minute(s), nothing left unfilled',
      (minutes) => {
        for (const channel of ['email', 'phone'] as const) {
          const code = '048213';
          const { subject, text } = renderMessage(
            { channel, code, ttlMinutes: minutes, locale },
            settings,
          );
          expect(text).toContain(code);
          expect(text).toContain('Acme Bank');
          expect(text).toMatch(new RegExp(`(^|\\D)${minutes} \\p{L}`, 'u'));
          for (const words of [subject ?? '', text]) {
            expect(words).not.toMatch(/[{}]/);
            expect(words).not.toMatch(/ {2}|\s$/);
          }
          if (channel === 'email') expect(subject).toContain('Acme Bank');
          else expect(subject).toBeUndefined();
        }
      },
    );

    it('has the plural forms its language needs for those lifetimes', () => {
      const template = templateFor(locale);
      const rules = new Intl.PluralRules(locale);
      for (const minutes of LIFETIMES) {
        expect(template?.minutes[rules.select(minutes)]).toEqual(expect.any(String));
      }
    });
  });

  it.each([
    ['en', 1, '1 minute.'],
    ['en', 10, '10 minutes.'],
    ['es', 1, '1 minuto.'],
    ['es', 5, '5 minutos.'],
    ['fr', 1, '1 minute.'],
    ['fr', 2, '2 minutes.'],
    ['de', 1, '1 Minute lang gültig.'],
    ['de', 10, '10 Minuten lang gültig.'],
    ['pt', 1, '1 minuto.'],
    ['pt', 10, '10 minutos.'],
  ])('%s: a lifetime of %i reads "%s" in the SMS', (locale, minutes, phrase) => {
    const { text } = renderMessage(
      { channel: 'phone', code: '123456', ttlMinutes: minutes as number, locale: locale as string },
      settings,
    );
    expect(text.endsWith(phrase as string)).toBe(true);
  });

  it('writes the texts documented in docs/verification.md', () => {
    const render = (locale: string, channel: 'email' | 'phone') =>
      renderMessage({ channel, code: '123456', ttlMinutes: 10, locale }, settings);
    expect(render('en', 'phone').text).toBe(
      '123456 is your Acme Bank verification code. It expires in 10 minutes.',
    );
    expect(render('es', 'phone').text).toBe(
      '123456 es tu código de verificación de Acme Bank. Caduca en 10 minutos.',
    );
    expect(render('de', 'email')).toEqual({
      subject: 'Ihr Bestätigungscode für Acme Bank',
      text:
        'Hallo,\n\nIhr Bestätigungscode für Acme Bank lautet 123456.\n\n' +
        'Er ist 10 Minuten lang gültig. Wenn Sie diesen Code nicht angefordert haben, ' +
        'können Sie diese E-Mail ignorieren.',
    });
  });

  it('writes every text docs/verification.md shows, as it shows them', () => {
    const docs = readFileSync(
      path.resolve(__dirname, '..', '..', 'docs', 'verification.md'),
      'utf8',
    );
    const rows = docs
      .split('\n')
      .filter((line) => /^\| `[a-z]{2}(-[A-Z]{2})?` +\|/.test(line))
      .map((line) => line.split(' | ').map((cell) => cell.replace(/^\| |\|$/g, '').trim()));
    expect(rows.map(([locale]) => locale)).toEqual(['`en`', '`es`', '`fr`', '`de`', '`pt`']);
    const shown = { appName: 'Acme', defaultLocale: 'en', webOtpDomain: 'acme.example' };
    for (const [cell, sms, subject, body] of rows) {
      const locale = (cell as string).replace(/`/g, '');
      const render = (channel: 'email' | 'phone') =>
        renderMessage({ channel, code: '042917', ttlMinutes: 10, locale }, shown);
      const unbreak = (text: string | undefined) => text?.replace(/<br>/g, '\n');
      expect(render('phone').text).toBe(unbreak(sms));
      expect(render('email')).toEqual({ subject, text: unbreak(body) });
    }
  });

  it('ends the SMS with the WebOTP line when a domain is set, and leaves emails alone', () => {
    const withDomain = { ...settings, webOtpDomain: 'example.com' };
    const sms = renderMessage(
      { channel: 'phone', code: '123456', ttlMinutes: 10, locale: 'fr' },
      withDomain,
    );
    expect(sms.text.split('\n').at(-1)).toBe('@example.com #123456');
    expect(sms.text.startsWith('123456 est votre code')).toBe(true);
    const email = renderMessage(
      { channel: 'email', code: '123456', ttlMinutes: 10, locale: 'fr' },
      withDomain,
    );
    expect(email.text).not.toContain('@example.com');
  });

  it('takes the app name as it is, even with characters a placeholder uses', () => {
    const { text } = renderMessage(
      { channel: 'phone', code: '123456', ttlMinutes: 10, locale: 'en' },
      { ...settings, appName: 'A {code} $& B' },
    );
    expect(text).toBe('123456 is your A {code} $& B verification code. It expires in 10 minutes.');
  });

  it('finds no template for names that are not locale tags', () => {
    for (const name of ['../templates/en', 'EN', 'en.json', 'xx', '', 'index']) {
      expect(templateFor(name)).toBeUndefined();
    }
  });
});

describe('choosing the locale', () => {
  it.each([
    ['es', true],
    ['pt-BR', true],
    ['zh-Hant-TW', true],
    ['EN-us', true],
    ['en_US', false],
    ['english', true],
    ['1en', false],
    ['e', false],
    ['', false],
    ['en-', false],
    ['x-private', false],
  ])('%j is a well-formed BCP 47 tag: %s', (tag, ok) => {
    expect(isLanguageTag(tag as string)).toBe(ok);
  });

  it('looks a tag up from the most specific form to its language', () => {
    expect(lookupChain('zh-hant-tw')).toEqual(['zh-Hant-TW', 'zh-Hant', 'zh-TW', 'zh']);
    expect(lookupChain('pt-BR')).toEqual(['pt-BR', 'pt']);
    expect(lookupChain('de-CH-1996-u-ca-gregory')).toEqual(['de-CH', 'de']);
    expect(lookupChain('und')).toEqual([]);
  });

  it('orders Accept-Language ranges by q, then as written, dropping q=0 and malformed ones', () => {
    expect(acceptedLanguages('fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5')).toEqual([
      'fr-CH',
      'fr',
      'en',
      'de',
      '*',
    ]);
    expect(acceptedLanguages('de;q=0.5, es, pt;q=0.9')).toEqual(['es', 'pt', 'de']);
    expect(acceptedLanguages('en;q=0, fr;q=1.0')).toEqual(['fr']);
    expect(acceptedLanguages('en_US, es;q=2, de;q=abc, pt;q=0.25,,')).toEqual(['pt']);
    expect(acceptedLanguages(undefined)).toEqual([]);
    expect(acceptedLanguages('')).toEqual([]);
  });

  const choose = (requested: string | undefined, acceptLanguage: string | undefined) =>
    messageLocale({ requested, acceptLanguage }, 'en');

  it.each([
    // The body's locale first, falling back to its language, then to the default.
    ['es', 'de', 'es'],
    ['pt-BR', undefined, 'pt'],
    ['fr-CA', 'de', 'fr'],
    ['ja', 'de', 'en'],
    // Then Accept-Language, with its weights.
    [undefined, 'de-DE,de;q=0.9,en;q=0.8', 'de'],
    [undefined, 'ja, es;q=0.5, fr;q=0.8', 'fr'],
    [undefined, 'pt-BR;q=0.9, en-US;q=0.95', 'en'],
    [undefined, 'ja, zh;q=0.9', 'en'],
    [undefined, 'ja, *;q=0.5, es;q=0.1', 'en'],
    [undefined, 'es;q=0, fr', 'fr'],
    [undefined, 'not a language', 'en'],
    [undefined, undefined, 'en'],
  ])('locale %j with Accept-Language %j writes in %s', (requested, header, expected) => {
    expect(choose(requested, header)).toBe(expected);
  });

  it('falls back to the configured default', () => {
    expect(messageLocale({ requested: 'ja' }, 'de')).toBe('de');
    expect(chooseLocale({ acceptLanguage: 'ja' }, 'pt', () => false)).toBe('pt');
  });
});
