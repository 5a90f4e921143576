import { stageOf } from '../../lib/settings';

// The settings rules of the security baseline, one describe per rule.

describe('production by default', () => {
  it.each(['prod', 'production', 'staging', 'prd', 'PROD', 'qa'])('%s is production', (stage) => {
    expect(stageOf({ STAGE: stage }).isProduction).toBe(true);
  });

  it.each(['dev', 'local', 'test', 'ci', 'DEV'])('%s is not production', (stage) => {
    expect(stageOf({ STAGE: stage }).isProduction).toBe(false);
  });

  it('is dev, not production, when STAGE is unset', () => {
    expect(stageOf({})).toEqual({ stage: 'dev', isProduction: false });
  });

  it('exempts the stages listed in NON_PRODUCTION_STAGES, and only those', () => {
    const env = { NON_PRODUCTION_STAGES: 'bench, Sandbox' };
    expect(stageOf({ ...env, STAGE: 'bench' }).isProduction).toBe(false);
    expect(stageOf({ ...env, STAGE: 'sandbox' }).isProduction).toBe(false);
    expect(stageOf({ ...env, STAGE: 'staging' }).isProduction).toBe(true);
  });
});
