// The production alarms of the template (deploy/alarms.cjs), without packaging.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { productionAlarms } = require('../../deploy/alarms.cjs') as {
  productionAlarms(input: {
    stage: string;
    env: Record<string, string | undefined>;
    namespace: string;
    service: string;
    refs: { httpApi: string; migrateFunction: string };
  }): {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    Outputs: Record<string, { Value: unknown }>;
  };
};

const input = (stage: string, env: Record<string, string | undefined> = {}) => ({
  stage,
  env,
  namespace: 'VerificationService',
  service: 'verification-service',
  refs: { httpApi: 'HttpApi', migrateFunction: 'MigrateLambdaFunction' },
});

const types = (stage: string, env: Record<string, string | undefined> = {}) =>
  Object.entries(productionAlarms(input(stage, env)).Resources).map(([id, r]) => `${id} ${r.Type}`);

describe('deploy/alarms.cjs', () => {
  it('adds nothing off production (dev, local, test, ci and NON_PRODUCTION_STAGES)', () => {
    for (const stage of ['dev', 'local', 'test', 'ci']) {
      expect(productionAlarms(input(stage, { ALARM_EMAIL: 'a@example.com' }))).toEqual({
        Resources: {},
        Outputs: {},
      });
    }
    expect(types('qa', { NON_PRODUCTION_STAGES: 'qa' })).toEqual([]);
  });

  it('with neither setting: a topic of its own, unsubscribed (CI packages prod bare)', () => {
    expect(types('prod')).toEqual([
      'AlarmTopic AWS::SNS::Topic',
      'ApiServerErrorsAlarm AWS::CloudWatch::Alarm',
      'CodeDeliveryFailuresAlarm AWS::CloudWatch::Alarm',
      'CountryBudgetTrippedAlarm AWS::CloudWatch::Alarm',
      'OutboxBacklogAlarm AWS::CloudWatch::Alarm',
      'MigrationFailedAlarm AWS::CloudWatch::Alarm',
    ]);
  });

  it('with ALARM_EMAIL: the topic and an email subscription; with ALARM_TOPIC_ARN: that topic only', () => {
    expect(types('prod', { ALARM_EMAIL: ' oncall@example.com ' }).slice(0, 2)).toEqual([
      'AlarmTopic AWS::SNS::Topic',
      'AlarmEmailSubscription AWS::SNS::Subscription',
    ]);
    const arn = 'arn:aws:sns:eu-west-1:123456789012:ops';
    const own = productionAlarms(input('prod', { ALARM_TOPIC_ARN: arn }));
    expect(Object.values(own.Resources).map((r) => r.Type)).not.toContain('AWS::SNS::Topic');
    for (const r of Object.values(own.Resources)) expect(r.Properties.AlarmActions).toEqual([arn]);
    expect(own.Outputs.AlarmTopicArn?.Value).toBe(arn);
  });

  it.each([
    [{ ALARM_TOPIC_ARN: 'arn:aws:sqs:eu-west-1:123456789012:q' }, /ALARM_TOPIC_ARN must be/],
    [{ ALARM_TOPIC_ARN: 'ops' }, /ALARM_TOPIC_ARN must be/],
    [{ ALARM_EMAIL: 'a@example.com,b@example.com' }, /ALARM_EMAIL must be one email address/],
    [
      { ALARM_EMAIL: 'a@example.com', ALARM_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:ops' },
      /ALARM_EMAIL and ALARM_TOPIC_ARN exclude each other/,
    ],
  ])('refuses %j, naming the setting', (env, message) => {
    expect(() => productionAlarms(input('prod', env))).toThrow(message);
  });
});
