import { ConfigError } from '../../lib/errors';
import { abuseSettings, countryBudget } from '../../lib/verification/abuseSettings';
import { parsePhone } from '../../lib/verification/phone';
import { verificationSettings } from '../../lib/verification/settings';

function configError(env: Record<string, string>): ConfigError {
  try {
    abuseSettings(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('abuse settings', () => {
  it('defaults off production: no default country, any country, no budget, no address limit', () => {
    expect(abuseSettings({})).toEqual({
      defaultCountry: undefined,
      phoneCountries: '*',
      countryBudgets: undefined,
      maxSendsPerIpPerHour: undefined,
    });
    expect(verificationSettings({ VERIFICATION_CODE_PEPPER: 'p'.repeat(16) }).abuse).toEqual(
      abuseSettings({}),
    );
  });

  it('parses every setting', () => {
    const settings = abuseSettings({
      VERIFICATION_DEFAULT_COUNTRY: 'us',
      VERIFICATION_PHONE_COUNTRIES: 'US, ca,GB',
      VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:1000, gb:200,*:50,FR:0',
      VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: '20',
    });
    expect(settings.defaultCountry).toBe('US');
    expect(settings.phoneCountries).toEqual(new Set(['US', 'CA', 'GB']));
    expect(settings.maxSendsPerIpPerHour).toBe(20);
    expect(countryBudget(settings.countryBudgets, 'US')).toBe(1000);
    expect(countryBudget(settings.countryBudgets, 'GB')).toBe(200);
    expect(countryBudget(settings.countryBudgets, 'FR')).toBe(0);
    expect(countryBudget(settings.countryBudgets, 'DE')).toBe(50);
    // Without `*`, an unlisted country has no budget.
    const listed = abuseSettings({ VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:5' });
    expect(countryBudget(listed.countryBudgets, 'DE')).toBeUndefined();
  });

  it('requires VERIFICATION_PHONE_COUNTRIES on a production stage, and accepts `*` there', () => {
    expect(configError({ STAGE: 'prod' }).setting).toBe('VERIFICATION_PHONE_COUNTRIES');
    expect(configError({ STAGE: 'prod' }).message).toContain('required on a production stage');
    expect(abuseSettings({ STAGE: 'prod', VERIFICATION_PHONE_COUNTRIES: '*' }).phoneCountries).toBe(
      '*',
    );
  });

  it.each<[string, Record<string, string>]>([
    [
      'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY',
      { VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'U$' },
    ],
    [
      'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY',
      { VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:-1' },
    ],
    [
      'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY',
      { VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:abc' },
    ],
    [
      'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY',
      { VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'XX:10' },
    ],
    [
      'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY',
      { VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:1,US:2' },
    ],
    [
      'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY',
      { VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:1.5' },
    ],
    [
      'VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY',
      { VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY: 'US:10,' },
    ],
    ['VERIFICATION_PHONE_COUNTRIES', { VERIFICATION_PHONE_COUNTRIES: 'US,U$' }],
    ['VERIFICATION_PHONE_COUNTRIES', { VERIFICATION_PHONE_COUNTRIES: 'US,XX' }],
    ['VERIFICATION_PHONE_COUNTRIES', { VERIFICATION_PHONE_COUNTRIES: 'USA' }],
    ['VERIFICATION_DEFAULT_COUNTRY', { VERIFICATION_DEFAULT_COUNTRY: 'ZZ' }],
    ['VERIFICATION_DEFAULT_COUNTRY', { VERIFICATION_DEFAULT_COUNTRY: '*' }],
    ['VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR', { VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: '0' }],
    ['VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR', { VERIFICATION_MAX_SENDS_PER_IP_PER_HOUR: 'ten' }],
  ])('names %s for %j', (setting, env) => {
    const err = configError(env);
    expect(err.setting).toBe(setting);
    expect(err.message).toContain(`Configuration error: ${setting}`);
  });
});

describe('parsePhone (libphonenumber-js, max metadata)', () => {
  it.each<[string, string | undefined, string | undefined, string | undefined]>([
    ['+1 (201) 555-0123', undefined, '+12015550123', 'US'],
    ['+12015550123', undefined, '+12015550123', 'US'],
    ['(201) 555-0123', 'US', '+12015550123', 'US'],
    ['06 12 34 56 78', 'FR', '+33612345678', 'FR'],
    ['+33 6 12 34 56 78', 'US', '+33612345678', 'FR'],
    ['2015550123', undefined, undefined, undefined],
    ['+15555550100', undefined, undefined, undefined],
    ['+861234567890', undefined, undefined, undefined],
    ['not a number', 'US', undefined, undefined],
  ])('%s read in %s is %s (%s)', (raw, defaultCountry, e164, country) => {
    const parsed = parsePhone(raw, defaultCountry);
    expect(parsed === undefined ? [undefined, undefined] : [parsed.e164, parsed.country]).toEqual([
      e164,
      country,
    ]);
  });
});
