/**
 * Phone numbers through libphonenumber-js, the reference implementation's port.
 *
 * The `max` metadata build: `min` (half the size) validates by length and
 * leading digits only and accepts numbers that are not assigned (such as
 * +86 123 4567 890); `max` checks each country's number patterns. Bundled and
 * minified it is about 200 kB, so it is loaded on first use, not at start: an
 * email request never needs it. In a deployed package it is a file of its own,
 * phone-library.js at the package's root (deploy/esbuild-plugins.cjs), so a
 * cold start does not even read it. The settings check at start loads it only
 * when the settings name countries.
 */
import type { CountryCode } from 'libphonenumber-js/max';

type PhoneLibrary = typeof import('./phoneLibrary');
let library: PhoneLibrary | undefined;

function phoneLibrary(): PhoneLibrary {
  // Run only when first called. In a bundle it requires phone-library.js
  // (deploy/esbuild-plugins.cjs); in tests and tsx, the TypeScript module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (library ??= require('./phoneLibrary') as PhoneLibrary);
}

export interface PhoneDestination {
  /** E.164, such as +12015550123. */
  e164: string;
  /** ISO 3166-1 alpha-2, such as US. */
  country: string;
}

/** Whether `code` is an ISO 3166-1 alpha-2 code the library has numbering plans for. */
export function isKnownCountry(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && phoneLibrary().isSupportedCountry(code);
}

/**
 * The E.164 form and country of a phone number, or undefined when the library
 * does not accept it as valid. A number without `+` is read in
 * `defaultCountry`; with none, it is invalid.
 */
export function parsePhone(
  raw: string,
  defaultCountry: string | undefined,
): PhoneDestination | undefined {
  const text = raw.trim();
  if (!text.startsWith('+') && defaultCountry === undefined) return undefined;
  const parsed = phoneLibrary().parsePhoneNumberFromString(text, {
    defaultCountry: defaultCountry as CountryCode | undefined,
  });
  if (!parsed || !parsed.isValid() || !parsed.country) return undefined;
  return { e164: parsed.number, country: parsed.country };
}
