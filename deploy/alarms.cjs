'use strict';
// A Serverless plugin that adds the production alarms to the template at
// package time: CloudWatch alarms on the HTTP API's 5xx answers, failed code
// deliveries, country budgets tripping, the event outbox falling behind and
// failed migrations, with their actions to one SNS topic. Off production the
// template has none of it. What to do when each fires: docs/operations.md.
//
// The topic: ALARM_TOPIC_ARN (an existing topic), or else one the stack
// creates, subscribed to ALARM_EMAIL when that is set. With neither (CI runs
// `serverless package --stage prod` bare) the stack creates the topic without
// a subscription; its ARN is the stack output AlarmTopicArn, to subscribe to.

const { isProductionStage } = require('../lib/stages.cjs');

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const EMAIL = /^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/;

const TOPIC = 'AlarmTopic';

function setting(env, name) {
  const value = String(env[name] ?? '').trim();
  return value === '' ? undefined : value;
}

/**
 * Where alarms notify: `{ arn, resources }` (the topic's ARN, and the topic and
 * subscription the stack creates, if any). A bad value fails the package,
 * naming the setting: it is template configuration.
 */
function alarmTopic(env, service) {
  const topicArn = setting(env, 'ALARM_TOPIC_ARN');
  const email = setting(env, 'ALARM_EMAIL');
  if (topicArn !== undefined && !SNS_TOPIC_ARN.test(topicArn)) {
    throw new Error(
      `ALARM_TOPIC_ARN must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), got "${topicArn}"`,
    );
  }
  if (email !== undefined && !EMAIL.test(email)) {
    throw new Error(`ALARM_EMAIL must be one email address, got "${email}"`);
  }
  if (topicArn !== undefined && email !== undefined) {
    throw new Error(
      'ALARM_EMAIL and ALARM_TOPIC_ARN exclude each other: with a topic of your own, subscribe the address to it there',
    );
  }
  if (topicArn !== undefined) return { arn: topicArn, resources: {} };
  const resources = {
    [TOPIC]: {
      Type: 'AWS::SNS::Topic',
      // Not encrypted with the AWS-managed SNS key: CloudWatch may not use it.
      Properties: { DisplayName: `${service} alarms` },
    },
  };
  if (email !== undefined) {
    resources.AlarmEmailSubscription = {
      Type: 'AWS::SNS::Subscription',
      // AWS emails the address a link to confirm; until then it receives nothing.
      Properties: { TopicArn: { Ref: TOPIC }, Protocol: 'email', Endpoint: email },
    };
  }
  return { arn: { Ref: TOPIC }, resources };
}

const stat = (id, namespace, name, dimensions, statistic, period) => ({
  Id: id,
  MetricStat: {
    Metric: {
      Namespace: namespace,
      MetricName: name,
      Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
    },
    Period: period,
    Stat: statistic,
  },
  ReturnData: false,
});
const expression = (id, text, label, returnData = false) => ({
  Id: id,
  Expression: text,
  Label: label,
  ReturnData: returnData,
});

/**
 * The alarms, each with its threshold and why. `refs` are the template's
 * logical ids: `httpApi` (the HTTP API) and `migrateFunction`.
 */
function alarms({ namespace, service, stage, actions, refs }) {
  const name = (suffix) => `${service}-${stage}-${suffix}`;
  const runbook = (anchor) => `Runbook: docs/operations.md#${anchor}`;
  const common = {
    AlarmActions: actions,
    OKActions: actions,
  };
  return {
    // API 5xx: 500 (a bug), 502 delivery_failed and 503 (the database down or
    // full). A database failover or a deployment gives a few; alarm when more
    // than 5% of requests in a 5-minute period answer 5xx, with at least 5 of
    // them (so that 1 of 3 requests at night does not page), two periods in a row.
    ApiServerErrorsAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: name('api-5xx'),
        AlarmDescription: `More than 5% of HTTP API requests answered 5xx (at least 5 in 5 minutes), twice in a row. ${runbook('api-5xx')}`,
        Metrics: [
          stat('errors', 'AWS/ApiGateway', '5xx', { ApiId: { Ref: refs.httpApi } }, 'Sum', 300),
          stat('requests', 'AWS/ApiGateway', 'Count', { ApiId: { Ref: refs.httpApi } }, 'Sum', 300),
          expression(
            'rate',
            'IF(errors >= 5, 100 * errors / requests, 0)',
            '5xx answers (% of requests, periods with 5 or more)',
            true,
          ),
        ],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 5,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
        TreatMissingData: 'notBreaching',
        ...common,
      },
    },
    // Delivery failures (both attempts of the webhook, or SES/SNS refusing):
    // a provider outage fails nearly every send. Alarm when more than 10% of
    // the deliveries tried in 5 minutes failed, with at least 3 failures (a
    // bad number now and then is normal).
    CodeDeliveryFailuresAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: name('code-delivery-failures'),
        AlarmDescription: `More than 10% of code deliveries failed (at least 3 in 5 minutes). ${runbook('code-delivery-failures')}`,
        Metrics: [
          stat('failedPhone', namespace, 'CodeDeliveryFailed', { Channel: 'phone' }, 'Sum', 300),
          stat('failedEmail', namespace, 'CodeDeliveryFailed', { Channel: 'email' }, 'Sum', 300),
          stat('sentPhone', namespace, 'CodeSent', { Channel: 'phone' }, 'Sum', 300),
          stat('sentEmail', namespace, 'CodeSent', { Channel: 'email' }, 'Sum', 300),
          expression('failed', 'FILL(failedPhone, 0) + FILL(failedEmail, 0)', 'failed deliveries'),
          expression('sent', 'FILL(sentPhone, 0) + FILL(sentEmail, 0)', 'delivered codes'),
          expression(
            'rate',
            'IF(failed >= 3, 100 * failed / (failed + sent), 0)',
            'failed deliveries (% of deliveries, periods with 3 or more)',
            true,
          ),
        ],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 10,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        ...common,
      },
    },
    // A country budget (VERIFICATION_PHONE_SENDS_PER_HOUR_BY_COUNTRY) is set
    // above that country's real peak, so a single refusal means sends to it
    // reached the budget: SMS pumping, or growth the budget must follow. Real
    // users of that country are refused meanwhile.
    CountryBudgetTrippedAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: name('country-budget-tripped'),
        AlarmDescription: `A country budget refused phone sends (SendRefused, Reason country_rate_limited). ${runbook('country-budget-tripped')}`,
        Namespace: namespace,
        MetricName: 'SendRefused',
        Dimensions: [{ Name: 'Reason', Value: 'country_rate_limited' }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        TreatMissingData: 'notBreaching',
        ...common,
      },
    },
    // The outbox publisher runs every minute and reports the age of the oldest
    // event it could not publish. Events are published right after their
    // commit, so anything 5 minutes old means EventBridge refuses them or the
    // publisher fails. When it reports nothing the alarm shows
    // INSUFFICIENT_DATA (not OK): see the runbook.
    OutboxBacklogAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: name('outbox-oldest-event'),
        AlarmDescription: `The oldest unpublished event is older than 5 minutes (OutboxOldestAgeSeconds > 300). ${runbook('outbox-oldest-event')}`,
        Namespace: namespace,
        MetricName: 'OutboxOldestAgeSeconds',
        Dimensions: [],
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 300,
        TreatMissingData: 'missing',
        ...common,
      },
    },
    // The migrate function runs a few times per deployment: any failure counts.
    // A failed `invoke` (a throw, a timeout, a crash) is in the function's
    // Errors; a failed CloudFormation custom-resource run answers FAILED
    // instead of throwing, and is counted as MigrationFailed.
    MigrationFailedAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: name('migration-failed'),
        AlarmDescription: `A run of the migrate function failed. ${runbook('migration-failed')}`,
        Metrics: [
          stat(
            'errors',
            'AWS/Lambda',
            'Errors',
            { FunctionName: { Ref: refs.migrateFunction } },
            'Sum',
            60,
          ),
          stat('failed', namespace, 'MigrationFailed', {}, 'Sum', 60),
          expression('runs', 'FILL(errors, 0) + FILL(failed, 0)', 'failed migration runs', true),
        ],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        ...common,
      },
    },
  };
}

/**
 * The resources and outputs the production template gains: `{}` off production.
 * @param {{ stage: string, env: Record<string, string | undefined>, namespace: string,
 *   service: string, refs: { httpApi: string, migrateFunction: string } }} input
 */
function productionAlarms({ stage, env, namespace, service, refs }) {
  if (!isProductionStage(stage, env)) return { Resources: {}, Outputs: {} };
  const topic = alarmTopic(env, service);
  const actions = [topic.arn];
  return {
    Resources: { ...topic.resources, ...alarms({ namespace, service, stage, actions, refs }) },
    Outputs: {
      AlarmTopicArn: {
        Description: 'The SNS topic the alarms notify (subscribe to it)',
        Value: topic.arn,
      },
    },
  };
}

class ProductionAlarmsPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      // Fail fast on a bad setting, before anything is bundled.
      'before:package:cleanup': () => this.build(),
      'before:package:finalize': () => this.add(),
    };
  }

  build() {
    const { service } = this.serverless;
    const provider = this.serverless.getProvider('aws');
    const stage = provider.getStage();
    return productionAlarms({
      stage,
      env: process.env,
      // What the functions get (provider.environment), so the alarms watch their metrics.
      namespace: service.provider.environment?.METRICS_NAMESPACE || 'VerificationService',
      service: service.service,
      refs: {
        httpApi: provider.naming.getHttpApiLogicalId(),
        migrateFunction: provider.naming.getLambdaLogicalId('migrate'),
      },
    });
  }

  add() {
    const { Resources, Outputs } = this.build();
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    Object.assign(template.Resources, Resources);
    template.Outputs = { ...template.Outputs, ...Outputs };
  }
}

module.exports = ProductionAlarmsPlugin;
module.exports.productionAlarms = productionAlarms;
module.exports.alarmTopic = alarmTopic;
