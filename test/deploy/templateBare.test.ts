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
