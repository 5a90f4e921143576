import { CfnResource, Packaged, packageService, resourcesOf, statementsOf } from './package';

// What CI does: `serverless package --stage prod` with nothing configured.
describe('serverless package --stage prod with nothing set', () => {
  let pkg: Packaged;

  beforeAll(async () => {
    pkg = await packageService('prod', {});
  }, 180_000);

  afterAll(() => pkg?.cleanup());

  it('packages offline, outside any VPC, with roles that grant logs only', () => {
    const functions = resourcesOf(pkg.template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const [, fn] of functions) expect(fn.Properties.VpcConfig).toBeUndefined();
    for (const [, role] of resourcesOf(pkg.template, 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns).toEqual([]);
      for (const s of statementsOf(role as CfnResource)) {
        expect(s.Action).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      }
    }
  });

  it('throttles the HTTP API at the default rate (100 per second) and burst (200)', () => {
    expect(pkg.template.Resources.HttpApiStage?.Properties.DefaultRouteSettings).toEqual({
      DetailedMetricsEnabled: false,
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
  });
});

// Production by default: a stage nobody listed gets the production rules.
describe('serverless package --stage staging (a stage not named anywhere)', () => {
  let pkg: Packaged;

  beforeAll(async () => {
    pkg = await packageService('staging', { DATABASE_URL: 'postgres://u:SUPERSECRET@h/db' });
  }, 180_000);

  afterAll(() => pkg?.cleanup());

  it('takes no plain secret and keeps logs for the production retention', () => {
    expect(pkg.allText).not.toContain('SUPERSECRET');
    for (const [, g] of resourcesOf(pkg.template, 'AWS::Logs::LogGroup')) {
      expect(g.Properties.RetentionInDays).toBe(90);
    }
  });
});

describe('serverless package --stage dev', () => {
  let pkg: Packaged;

  beforeAll(async () => {
    pkg = await packageService('dev', { API_THROTTLE_RATE: '5', API_THROTTLE_BURST: '5' });
  }, 180_000);

  afterAll(() => pkg?.cleanup());

  it('sets no route throttling, whatever API_THROTTLE_* say', () => {
    const settings = pkg.template.Resources.HttpApiStage?.Properties.DefaultRouteSettings as object;
    expect(settings).not.toHaveProperty('ThrottlingRateLimit');
    expect(settings).not.toHaveProperty('ThrottlingBurstLimit');
  });
});

describe('serverless package --stage prod with a bad throttling setting', () => {
  it.each([
    ['API_THROTTLE_RATE', 'fast'],
    ['API_THROTTLE_RATE', '0'],
    ['API_THROTTLE_BURST', '12.5'],
    ['API_THROTTLE_BURST', '-1'],
  ])(
    'fails, naming %s (%s)',
    async (name, value) => {
      const failure = await packageService('prod', { [name]: value }).then(
        () => undefined,
        (err: { stdout?: string; stderr?: string }) => `${err.stdout}${err.stderr}`,
      );
      expect(failure).toContain(`${name} must be a`);
    },
    60_000,
  );
});
