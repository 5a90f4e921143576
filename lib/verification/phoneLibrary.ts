/**
 * The part of libphonenumber-js (`max` metadata) the service uses. lib/verification/phone.ts
 * loads this module on first use, so a bundle evaluates the metadata only then.
 */
export { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';
