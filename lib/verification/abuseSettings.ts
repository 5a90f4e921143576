import { ConfigError } from '../errors';
import type { Env } from '../env';
import { intSetting, optionalSetting, stageOf } from '../settings';
import { isKnownCountry } from './phone';

/** The settings against SMS pumping and scripted sends (README, "Abuse resistance"). */
export interface AbuseSettings {
  /** VERIFICATION_DEFAULT_COUNTRY: the country of numbers without `+`; none: such numbers are invalid. */
  defaultCountry: string | undefined;
  /** VERIFICATION_PHONE_COUNTRIES: `*` (any) or the countries phone codes may be sent to. */
  phoneCountries: '*' | ReadonlySet<string>;
  /** VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY; undefined: no budget. */
  countryBudgets: CountryBudgets | undefined;
  /** VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR; undefined: no limit. */
  maxSendsPerIpPerHour: number | undefined;
}

export interface CountryBudgets {
  byCountry: ReadonlyMap<string, number>;
  /** The `*` entry: the budget of each country not listed; undefined: no budget for them. */
  other: number | undefined;
}

const MAX_BUDGET = 10_000_000;

function country(setting: string, raw: string): string {
  const code = raw.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(code)) {
    throw new ConfigError(setting, `has "${raw.trim()}", which is not an ISO 3166-1 alpha-2 code`);
  }
  if (!isKnownCountry(code))
    throw new ConfigError(setting, `has an unknown country code "${code}"`);
  return code;
}

export function parseDefaultCountry(raw: string | undefined): string | undefined {
  return raw === undefined ? undefined : country('VERIFICATION_DEFAULT_COUNTRY', raw);
}

/** `*` or a comma-separated list of alpha-2 codes; required on a production stage. */
export function parsePhoneCountries(
  raw: string | undefined,
  isProduction: boolean,
): '*' | ReadonlySet<string> {
  const name = 'VERIFICATION_PHONE_COUNTRIES';
  if (raw === undefined) {
    if (isProduction) {
      throw new ConfigError(
        name,
        'is required on a production stage: "*" or the countries phone codes may be sent to, such as "US,CA"',
      );
    }
    return '*';
  }
  if (raw.trim() === '*') return '*';
  return new Set(raw.split(',').map((part) => country(name, part)));
}

/** `US:1000,GB:200,*:50`: sends per hour to each listed country, `*` for each other one. */
export function parseCountryBudgets(raw: string | undefined): CountryBudgets | undefined {
  const name = 'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY';
  if (raw === undefined) return undefined;
  const byCountry = new Map<string, number>();
  let other: number | undefined;
  for (const part of raw.split(',')) {
    const match = /^\s*([^:\s]+)\s*:\s*(\S+)\s*$/.exec(part);
    if (!match) {
      throw new ConfigError(
        name,
        `has "${part.trim()}"; each entry is COUNTRY:NUMBER, such as US:1000`,
      );
    }
    const [, key = '', count = ''] = match;
    if (!/^\d+$/.test(count) || Number(count) > MAX_BUDGET) {
      throw new ConfigError(
        name,
        `has "${part.trim()}"; the number must be a whole number from 0 to ${MAX_BUDGET}`,
      );
    }
    const code = key === '*' ? '*' : country(name, key);
    if ((code === '*' && other !== undefined) || byCountry.has(code)) {
      throw new ConfigError(name, `lists "${code}" twice`);
    }
    if (code === '*') other = Number(count);
    else byCountry.set(code, Number(count));
  }
  return { byCountry, other };
}

/** The phone-send budget of a country, or undefined when it has none. */
export function countryBudget(
  budgets: CountryBudgets | undefined,
  code: string,
): number | undefined {
  return budgets === undefined ? undefined : (budgets.byCountry.get(code) ?? budgets.other);
}

export function abuseSettings(env: Env): AbuseSettings {
  const { isProduction } = stageOf(env);
  const ipLimit = optionalSetting(env, 'VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR');
  return {
    defaultCountry: parseDefaultCountry(optionalSetting(env, 'VERIFICATION_DEFAULT_COUNTRY')),
    phoneCountries: parsePhoneCountries(
      optionalSetting(env, 'VERIFICATION_PHONE_COUNTRIES'),
      isProduction,
    ),
    countryBudgets: parseCountryBudgets(
      optionalSetting(env, 'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY'),
    ),
    maxSendsPerIpPerHour:
      ipLimit === undefined
        ? undefined
        : intSetting(env, 'VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR', 0, { min: 1, max: 1_000_000 }),
  };
}
