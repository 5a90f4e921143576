/**
 * Which language a code's message is written in. The tags are BCP 47 language
 * tags, checked and canonicalised by the runtime's own implementation
 * (`Intl.getCanonicalLocales`, ECMA-402) rather than by a pattern of ours.
 */

/** The canonical form of a well-formed BCP 47 tag (`EN-us` → `en-US`), or undefined. */
export function canonicalTag(tag: string): string | undefined {
  if (tag === '' || tag.length > 64) return undefined;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

/** True for a well-formed BCP 47 language tag such as `es`, `pt-BR` or `zh-Hant-TW`. */
export function isLanguageTag(tag: string): boolean {
  return canonicalTag(tag) !== undefined;
}

/**
 * The tags to look a template up by, most specific first (RFC 4647 "lookup"):
 * `zh-Hant-TW` → `zh-Hant-TW`, `zh-Hant`, `zh`; `pt-BR` → `pt-BR`, `pt`.
 * Extensions (`-u-...`) and variants play no part in the choice of a template.
 */
export function lookupChain(tag: string): string[] {
  const canonical = canonicalTag(tag);
  if (canonical === undefined) return [];
  const { language, script, region } = new Intl.Locale(canonical);
  // `und` (undetermined) names no language.
  if (!language || language === 'und') return [];
  const chain: string[] = [];
  if (script && region) chain.push(`${language}-${script}-${region}`);
  if (script) chain.push(`${language}-${script}`);
  if (region) chain.push(`${language}-${region}`);
  chain.push(language);
  return chain;
}

/** A header entry is ignored past this many: a real browser sends a handful. */
const MAX_ACCEPT_LANGUAGE_ENTRIES = 20;
/** RFC 9110 §12.4.2: a weight is 0 to 1 with at most three decimals. */
const WEIGHT = /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/i;

/**
 * The language ranges of an `Accept-Language` header (RFC 9110 §12.5.4), most
 * preferred first: by weight (`q`, default 1), then in the order written.
 * Ranges with `q=0` (not acceptable) and malformed entries are left out; `*`
 * is kept. The grammar is a comma-separated list of `range[;q=weight]`, small
 * enough to read here; the tags themselves are checked by `canonicalTag`.
 */
export function acceptedLanguages(header: string | undefined): string[] {
  if (!header) return [];
  const ranges: { tag: string; q: number; at: number }[] = [];
  const entries = header.split(',').slice(0, MAX_ACCEPT_LANGUAGE_ENTRIES);
  entries.forEach((entry, at) => {
    const [range = '', ...params] = entry.split(';').map((s) => s.trim());
    let q = 1;
    for (const param of params) {
      const weight = WEIGHT.exec(param);
      if (!weight) return;
      q = Number(param.slice(2));
    }
    if (q === 0) return;
    if (range === '*') ranges.push({ tag: '*', q, at });
    else {
      const tag = canonicalTag(range);
      if (tag !== undefined) ranges.push({ tag, q, at });
    }
  });
  return ranges.sort((a, b) => b.q - a.q || a.at - b.at).map((r) => r.tag);
}

/** What a send knows about the language its message should be in. */
export interface LocaleRequest {
  /** The body's `locale`, already checked to be a well-formed tag. */
  requested?: string | undefined;
  /** The request's `Accept-Language` header. */
  acceptLanguage?: string | undefined;
}

/**
 * The locale of a message: the body's `locale` when given (a supported tag, or
 * its language: `pt-BR` → `pt`; unsupported → the default), else the first
 * range of `Accept-Language` that a template serves (`*` takes the default),
 * else the default. `supported` says whether a template exists for a tag.
 */
export function chooseLocale(
  request: LocaleRequest,
  defaultLocale: string,
  supported: (tag: string) => boolean,
): string {
  const served = (tag: string) => lookupChain(tag).find(supported);
  if (request.requested !== undefined) return served(request.requested) ?? defaultLocale;
  for (const range of acceptedLanguages(request.acceptLanguage)) {
    if (range === '*') return defaultLocale;
    const found = served(range);
    if (found !== undefined) return found;
  }
  return defaultLocale;
}
