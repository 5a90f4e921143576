import {
  alarmsOf,
  CfnResource,
  metricsRead,
  Packaged,
  packageService,
  resourcesOf,
  statementsOf,
} from './package';

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

  it('creates the alarm topic with no subscription, for every alarm, in the default namespace', () => {
    const topics = resourcesOf(pkg.template, 'AWS::SNS::Topic');
    expect(topics.map(([id]) => id)).toEqual(['AlarmTopic']);
    expect(resourcesOf(pkg.template, 'AWS::SNS::Subscription')).toEqual([]);
    expect(pkg.template.Outputs?.AlarmTopicArn?.Value).toEqual({ Ref: 'AlarmTopic' });
    const alarms = Object.values(alarmsOf(pkg.template));
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    expect(metricsRead(alarmsOf(pkg.template).CountryBudgetTrippedAlarm ?? {})).toEqual([
      'VerificationService SendRefused {"Reason":"country_rate_limited"} Sum/300',
    ]);
  });

  it('provisions no concurrency: API Gateway invokes the send and the verify themselves', () => {
    expect(resourcesOf(pkg.template, 'AWS::Lambda::Alias')).toEqual([]);
    expect(
      pkg.template.Resources.HttpApiIntegrationIssueVerificationCode?.Properties.IntegrationUri,
    ).toEqual({ 'Fn::GetAtt': ['IssueVerificationCodeLambdaFunction', 'Arn'] });
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
    pkg = await packageService('staging', {
      DATABASE_URL: 'postgres://u:SUPERSECRET@h/db',
      ALARM_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:ops-alarms',
    });
  }, 180_000);

  afterAll(() => pkg?.cleanup());

  it('has the production alarms, notifying ALARM_TOPIC_ARN; the stack makes no topic', () => {
    const alarms = Object.values(alarmsOf(pkg.template));
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:ops-alarms']);
      expect(alarm.AlarmName).toMatch(/^verification-service-staging-/);
    }
    expect(resourcesOf(pkg.template, 'AWS::SNS::Topic')).toEqual([]);
    expect(pkg.template.Outputs?.AlarmTopicArn?.Value).toBe(
      'arn:aws:sns:eu-west-1:123456789012:ops-alarms',
    );
  });

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
    pkg = await packageService('dev', {
      API_THROTTLE_RATE: '5',
      API_THROTTLE_BURST: '5',
      ALARM_EMAIL: 'oncall@example.com',
    });
  }, 180_000);

  afterAll(() => pkg?.cleanup());

  it('has no alarm and no alarm topic, whatever ALARM_EMAIL says', () => {
    expect(alarmsOf(pkg.template)).toEqual({});
    expect(resourcesOf(pkg.template, 'AWS::SNS::Topic')).toEqual([]);
    expect(resourcesOf(pkg.template, 'AWS::SNS::Subscription')).toEqual([]);
    expect(pkg.template.Outputs?.AlarmTopicArn).toBeUndefined();
  });

  it('sets no route throttling, whatever API_THROTTLE_* say', () => {
    const settings = pkg.template.Resources.HttpApiStage?.Properties.DefaultRouteSettings as object;
    expect(settings).not.toHaveProperty('ThrottlingRateLimit');
    expect(settings).not.toHaveProperty('ThrottlingBurstLimit');
  });
});

describe('serverless package --stage prod with a bad throttling or alarm setting', () => {
  it.each([
    ['API_THROTTLE_RATE', 'fast', 'API_THROTTLE_RATE must be a'],
    ['API_THROTTLE_RATE', '0', 'API_THROTTLE_RATE must be a'],
    ['API_THROTTLE_BURST', '12.5', 'API_THROTTLE_BURST must be a'],
    ['API_THROTTLE_BURST', '-1', 'API_THROTTLE_BURST must be a'],
    ['ALARM_TOPIC_ARN', 'ops-alarms', 'ALARM_TOPIC_ARN must be an SNS topic ARN'],
    ['ALARM_EMAIL', 'oncall', 'ALARM_EMAIL must be one email address'],
  ])(
    'fails, naming %s (%s)',
    async (name, value, message) => {
      const failure = await packageService('prod', { [name]: value }).then(
        () => undefined,
        (err: { stdout?: string; stderr?: string }) => `${err.stdout}${err.stderr}`,
      );
      expect(failure).toContain(message);
    },
    60_000,
  );
});
