import type { Channel } from '../../models/verification';
import { AppError } from '../errors';
import type { AbuseSettings } from './abuseSettings';
import { normalizedDestination } from './codes';
import { parsePhone } from './phone';

/** Where a code goes: the E.164 form and country for phone, the lowercased address for email. */
export interface SendTarget {
  destination: string;
  /** ISO 3166-1 alpha-2 for phone; null for email. */
  country: string | null;
}

/**
 * The destination a send goes to, in the form it is stored and counted in, or
 * the 422 that refuses it: `invalid_destination` for a phone number the library
 * does not accept, then `destination_not_allowed` for a country that
 * VERIFICATION_PHONE_COUNTRIES does not list.
 */
export function sendTarget(channel: Channel, address: string, abuse: AbuseSettings): SendTarget {
  if (channel === 'email')
    return { destination: normalizedDestination(channel, address), country: null };
  const phone = parsePhone(address, abuse.defaultCountry);
  if (!phone) {
    throw new AppError(
      'invalid_destination',
      abuse.defaultCountry === undefined && !address.trim().startsWith('+')
        ? 'The phone number has no country code (+) and no default country is configured'
        : undefined,
    );
  }
  if (abuse.phoneCountries !== '*' && !abuse.phoneCountries.has(phone.country)) {
    throw new AppError('destination_not_allowed', undefined, {
      details: { country: phone.country },
    });
  }
  return { destination: phone.e164, country: phone.country };
}

/**
 * The user's current address in the form codes store it (E.164 for phone), to
 * tell whether a code was sent to it; undefined when it cannot hold a code.
 */
export function storedFormOf(
  channel: Channel,
  address: string | null,
  abuse: AbuseSettings,
): string | undefined {
  if (address === null) return undefined;
  if (channel === 'email') return normalizedDestination(channel, address);
  return parsePhone(address, abuse.defaultCountry)?.e164;
}
