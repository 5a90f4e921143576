import path from 'node:path';
import {
  alarmExpression,
  alarmsOf,
  CfnResource,
  metricsRead,
  Packaged,
  packageService,
  resourcesOf,
  Statement,
  statementsOf,
  zipEntries,
  zipText,
} from './package';

// Fake secret values in the caller's environment: none may reach the package.
const SECRETS = {
  DATABASE_URL: 'postgres://u:SUPERSECRET-DB@h/db',
  VERIFICATION_CODE_PEPPER: 'SUPERSECRET-PEPPER-0123456789',
  AUTH_JWT_SECRET: 'SUPERSECRET-JWT-0123456789012345678901234',
  CODE_WEBHOOK_SECRET: 'whsec_U1VQRVJTRUNSRVQtV0VCSE9PSy0wMTIzNDU2Nzg5',
};

const sub = (s: string) => ({ 'Fn::Sub': s });
const ARN = (service: string) =>
  `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}`;

describe('serverless package --stage prod (configured for production)', () => {
  let pkg: Packaged;
  let resources: Record<string, CfnResource>;
  let functions: [string, CfnResource][];

  beforeAll(async () => {
    pkg = await packageService('prod', {
      ...SECRETS,
      DATABASE_URL_SECRET_ID: 'prod/verification/database',
      VERIFICATION_CODE_PEPPER_SECRET_ID:
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/pepper-AbC123',
      AUTH_JWT_SECRET_SECRET_ID: 'ssm:/prod/verification/jwt-secret',
      CODE_WEBHOOK_SECRET_SECRET_ID: 'prod/verification/webhook',
      SECRETS_KMS_KEY_ARNS: 'arn:aws:kms:eu-west-1:123456789012:key/1111-2222',
      CODE_DELIVERY: 'ses,sns',
      SES_FROM_ADDRESS: 'Example <no-reply@mail.example.com>',
      VPC_SUBNET_IDS: 'subnet-0a, subnet-0b',
      VPC_SECURITY_GROUP_IDS: 'sg-0c',
      DATABASE_CA_FILE: '/var/runtime/ca-cert.pem',
      API_THROTTLE_RATE: '25.5',
      API_THROTTLE_BURST: '50',
      EVENT_BUS_NAME: 'verification-events',
      METRICS_NAMESPACE: 'VerificationService/prod',
      ALARM_EMAIL: 'oncall@example.com',
      CODE_PROVISIONED_CONCURRENCY: '2',
    });
    resources = pkg.template.Resources;
    functions = resourcesOf(pkg.template, 'AWS::Lambda::Function');
  }, 180_000);

  afterAll(() => pkg?.cleanup());

  it('puts no secret value in the template, the package state or any function', () => {
    for (const value of Object.values(SECRETS)) expect(pkg.allText).not.toContain(value);
    expect(pkg.allText).not.toContain('SUPERSECRET');
    expect(pkg.allText).not.toContain('whsec_');
    for (const [, fn] of functions) {
      const vars = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
      expect(vars.STAGE).toBe('prod');
      expect(vars.DATABASE_URL).toBe('');
    }
  });

  it('packs libphonenumber-js once, as phone-library.js at the root, which the send requires', async () => {
    const zip = path.join(pkg.dir, 'issueVerificationCode.zip');
    const entries = await zipEntries(zip);
    expect(entries).toEqual(
      expect.arrayContaining(['phone-library.js', 'functions/verification/issueCode.js']),
    );
    expect(entries.filter((e) => e.endsWith('phone-library.js'))).toEqual(['phone-library.js']);
    const send = await zipText(zip, 'functions/verification/issueCode.js');
    expect(send).toContain('require("../../phone-library.js")');
    expect(send).not.toContain('country_calling_codes');
  });

  it('runs every function on nodejs22.x', () => {
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const [, fn] of functions) expect(fn.Properties.Runtime).toBe('nodejs22.x');
  });

  it('runs one migration at a time, with a timeout above the statement timeout', () => {
    const migrate = resources.MigrateLambdaFunction as CfnResource;
    const vars = (migrate.Properties.Environment as { Variables: Record<string, string> })
      .Variables;
    expect(migrate.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(migrate.Properties.Timeout as number).toBeGreaterThan(
      Number(vars.MIGRATION_STATEMENT_TIMEOUT_MS) / 1000,
    );
    // It needs only the database: no auth key or pepper reaches it.
    expect(vars.DATABASE_URL_SECRET_ID).toBe('prod/verification/database');
    expect(vars.AUTH_JWT_SECRET_SECRET_ID).toBe('');
    expect(vars.VERIFICATION_CODE_PEPPER_SECRET_ID).toBe('');
  });

  it('keeps logs for the production retention', () => {
    const groups = resourcesOf(pkg.template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(functions.length);
    for (const [, g] of groups) expect(g.Properties.RetentionInDays).toBe(90);
  });

  it('throttles every route of the HTTP API at API_THROTTLE_RATE and API_THROTTLE_BURST', () => {
    expect(resources.HttpApiStage?.Properties.DefaultRouteSettings).toEqual({
      DetailedMetricsEnabled: false,
      ThrottlingRateLimit: 25.5,
      ThrottlingBurstLimit: 50,
    });
  });

  it('keeps CODE_PROVISIONED_CONCURRENCY environments of the send and the verify started, behind their routes', () => {
    const aliases = resourcesOf(pkg.template, 'AWS::Lambda::Alias');
    expect(aliases.map(([, a]) => [a.Properties.FunctionName, a.Properties.Name]).sort()).toEqual([
      [{ Ref: 'IssueVerificationCodeLambdaFunction' }, 'provisioned'],
      [{ Ref: 'VerifyVerificationCodeLambdaFunction' }, 'provisioned'],
    ]);
    for (const [, alias] of aliases) {
      expect(alias.Properties.ProvisionedConcurrencyConfig).toEqual({
        ProvisionedConcurrentExecutions: 2,
      });
    }
    // API Gateway invokes the alias, so requests reach the started environments.
    const aliasArn = (fn: string) => ({
      'Fn::Join': [':', [{ 'Fn::GetAtt': [fn, 'Arn'] }, 'provisioned']],
    });
    expect(resources.HttpApiIntegrationIssueVerificationCode?.Properties.IntegrationUri).toEqual(
      aliasArn('IssueVerificationCodeLambdaFunction'),
    );
    expect(resources.HttpApiIntegrationVerifyVerificationCode?.Properties.IntegrationUri).toEqual(
      aliasArn('VerifyVerificationCodeLambdaFunction'),
    );
    expect(resources.IssueVerificationCodeLambdaPermissionHttpApi?.Properties.FunctionName).toEqual(
      aliasArn('IssueVerificationCodeLambdaFunction'),
    );
    // The other routes invoke their function as before.
    expect(resources.HttpApiIntegrationGetMyVerification?.Properties.IntegrationUri).toEqual({
      'Fn::GetAtt': ['GetMyVerificationLambdaFunction', 'Arn'],
    });
  });

  it('schedules the code clean-up', () => {
    const rules = resourcesOf(pkg.template, 'AWS::Events::Rule');
    expect(rules.map(([, r]) => r.Properties.ScheduleExpression)).toContain('rate(1 hour)');
  });

  it('attaches every function to the stage VPC, with ENI permissions on its role', () => {
    for (const [, fn] of functions) {
      expect(fn.Properties.VpcConfig).toEqual({
        SubnetIds: ['subnet-0a', 'subnet-0b'],
        SecurityGroupIds: ['sg-0c'],
      });
    }
    for (const role of [
      'ApiFunctionRole',
      'ConsoleFunctionRole',
      'DatabaseFunctionRole',
      'SendCodeFunctionRole',
      'VerifyCodeFunctionRole',
    ]) {
      expect(resources[role]?.Properties.ManagedPolicyArns).toEqual([
        sub('arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'),
      ]);
    }
  });

  describe('alarms', () => {
    const NS = 'VerificationService/prod';
    const TOPIC = [{ Ref: 'AlarmTopic' }];
    const alarm = (id: string) => alarmsOf(pkg.template)[id] as Record<string, unknown>;

    it('creates the alarm topic, subscribes ALARM_EMAIL to it, and outputs its ARN', () => {
      expect(resources.AlarmTopic?.Type).toBe('AWS::SNS::Topic');
      expect(resources.AlarmEmailSubscription).toEqual({
        Type: 'AWS::SNS::Subscription',
        Properties: {
          TopicArn: { Ref: 'AlarmTopic' },
          Protocol: 'email',
          Endpoint: 'oncall@example.com',
        },
      });
      expect(pkg.template.Outputs?.AlarmTopicArn?.Value).toEqual({ Ref: 'AlarmTopic' });
    });

    it('passes METRICS_NAMESPACE to the functions whose metrics the alarms watch', () => {
      for (const [, fn] of functions) {
        const vars = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
        expect(vars.METRICS_NAMESPACE).toBe(NS);
      }
    });

    it('has exactly the five alarms, each notifying the topic on alarm and on recovery', () => {
      const all = alarmsOf(pkg.template);
      expect(Object.keys(all).sort()).toEqual([
        'ApiServerErrorsAlarm',
        'CodeDeliveryFailuresAlarm',
        'CountryBudgetTrippedAlarm',
        'MigrationFailedAlarm',
        'OutboxBacklogAlarm',
      ]);
      for (const props of Object.values(all)) {
        expect(props.AlarmActions).toEqual(TOPIC);
        expect(props.OKActions).toEqual(TOPIC);
        expect(props.AlarmDescription).toMatch(/Runbook: docs\/operations\.md#[a-z0-9-]+$/);
      }
    });

    it('API 5xx: over 5% of the HTTP API requests, at least 5 answers, two 5-minute periods', () => {
      const props = alarm('ApiServerErrorsAlarm');
      expect(metricsRead(props)).toEqual([
        'AWS/ApiGateway 5xx {"ApiId":{"Ref":"HttpApi"}} Sum/300',
        'AWS/ApiGateway Count {"ApiId":{"Ref":"HttpApi"}} Sum/300',
      ]);
      expect(alarmExpression(props)).toBe('IF(errors >= 5, 100 * errors / requests, 0)');
      expect(props).toMatchObject({
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 5,
        EvaluationPeriods: 2,
        DatapointsToAlarm: 2,
      });
    });

    it('delivery failures: over 10% of the deliveries of both channels, at least 3, in 5 minutes', () => {
      const props = alarm('CodeDeliveryFailuresAlarm');
      expect(metricsRead(props)).toEqual([
        `${NS} CodeDeliveryFailed {"Channel":"phone"} Sum/300`,
        `${NS} CodeDeliveryFailed {"Channel":"email"} Sum/300`,
        `${NS} CodeSent {"Channel":"phone"} Sum/300`,
        `${NS} CodeSent {"Channel":"email"} Sum/300`,
      ]);
      expect(alarmExpression(props)).toBe('IF(failed >= 3, 100 * failed / (failed + sent), 0)');
      expect(props).toMatchObject({
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 10,
        EvaluationPeriods: 1,
      });
    });

    it('country budgets: any send refused with country_rate_limited', () => {
      const props = alarm('CountryBudgetTrippedAlarm');
      expect(metricsRead(props)).toEqual([
        `${NS} SendRefused {"Reason":"country_rate_limited"} Sum/300`,
      ]);
      expect(props).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
    });

    it('outbox: the oldest unpublished event older than 5 minutes', () => {
      const props = alarm('OutboxBacklogAlarm');
      expect(metricsRead(props)).toEqual([`${NS} OutboxOldestAgeSeconds {} Maximum/60`]);
      expect(props).toMatchObject({
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 300,
        EvaluationPeriods: 1,
        TreatMissingData: 'missing',
      });
    });

    it("failed migration: the migrate function's Errors or its MigrationFailed", () => {
      const props = alarm('MigrationFailedAlarm');
      expect(metricsRead(props)).toEqual([
        'AWS/Lambda Errors {"FunctionName":{"Ref":"MigrateLambdaFunction"}} Sum/60',
        `${NS} MigrationFailed {} Sum/60`,
      ]);
      expect(alarmExpression(props)).toBe('FILL(errors, 0) + FILL(failed, 0)');
      expect(props).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
    });
  });

  describe('IAM', () => {
    const allStatements = (): Statement[] =>
      resourcesOf(pkg.template, 'AWS::IAM::Role').flatMap(([, r]) => statementsOf(r));

    const roleOf = (fn: string) =>
      (resources[`${fn}LambdaFunction`]?.Properties.Role as { 'Fn::GetAtt': [string, string] })[
        'Fn::GetAtt'
      ][0];
    const statements = (name: string) => statementsOf(resources[name] as CfnResource);
    const secretManagerRead = (...resources: unknown[]) => ({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: resources,
    });
    const DATABASE_SECRET = sub(
      `${ARN('secretsmanager')}:secret:prod/verification/database-??????`,
    );
    const PEPPER_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/pepper-AbC123';
    const WEBHOOK_SECRET = sub(`${ARN('secretsmanager')}:secret:prod/verification/webhook-??????`);
    const JWT_PARAMETER = {
      Effect: 'Allow',
      Action: ['ssm:GetParameter'],
      Resource: [sub(`${ARN('ssm')}:parameter/prod/verification/jwt-secret`)],
    };
    const KMS = {
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: ['arn:aws:kms:eu-west-1:123456789012:key/1111-2222'],
      Condition: {
        StringEquals: {
          'kms:ViaService': [
            sub('secretsmanager.${AWS::Region}.amazonaws.com'),
            sub('ssm.${AWS::Region}.amazonaws.com'),
          ],
        },
      },
    };
    const SES = {
      Effect: 'Allow',
      Action: ['ses:SendEmail'],
      Resource: [
        sub(`${ARN('ses')}:identity/mail.example.com`),
        sub(`${ARN('ses')}:identity/no-reply@mail.example.com`),
      ],
      Condition: { StringEquals: { 'ses:FromAddress': 'no-reply@mail.example.com' } },
    };
    const SNS = {
      Effect: 'Allow',
      Action: ['sns:Publish'],
      NotResource: sub('arn:${AWS::Partition}:sns:*:*:*'),
    };
    const PUT_EVENTS = {
      Effect: 'Allow',
      Action: ['events:PutEvents'],
      Resource: sub(`${ARN('events')}:event-bus/verification-events`),
    };
    const logs = (...fns: string[]) => ({
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: fns.map((f) =>
        sub(`${ARN('logs')}:log-group:/aws/lambda/verification-service-prod-${f}:*`),
      ),
    });

    it('puts each function on the role of its group', () => {
      expect(
        resourcesOf(pkg.template, 'AWS::IAM::Role')
          .map(([name]) => name)
          .sort(),
      ).toEqual([
        'ApiFunctionRole',
        'ConsoleFunctionRole',
        'DatabaseFunctionRole',
        'PublishEventsFunctionRole',
        'SendCodeFunctionRole',
        'VerifyCodeFunctionRole',
      ]);
      for (const name of ['Migrate', 'Health', 'CleanupCodes']) {
        expect(roleOf(name)).toBe('DatabaseFunctionRole');
      }
      expect(roleOf('PublishEvents')).toBe('PublishEventsFunctionRole');
      expect(roleOf('Console')).toBe('ConsoleFunctionRole');
      expect(roleOf('IssueVerificationCode')).toBe('SendCodeFunctionRole');
      expect(roleOf('VerifyVerificationCode')).toBe('VerifyCodeFunctionRole');
      for (const name of ['StaffApprovalCreate', 'StaffApprovalApprove', 'GetMyVerification']) {
        expect(resources[`${name}LambdaFunction`]?.Properties.Role).toEqual({
          'Fn::GetAtt': ['ApiFunctionRole', 'Arn'],
        });
      }
    });

    it('grants no wildcard action and no "*" resource; SMS publish excludes every SNS ARN', () => {
      for (const s of allStatements()) {
        for (const action of s.Action) expect(action).not.toContain('*');
        expect(s.Resource).not.toBe('*');
        if (s.Action.includes('sns:Publish')) expect(s).toEqual(SNS);
      }
    });

    it('lets issueVerificationCode read its secrets, pepper and webhook secret included, and send through SES and SNS only', () => {
      expect(statements('SendCodeFunctionRole')).toEqual([
        logs('issueVerificationCode'),
        secretManagerRead(DATABASE_SECRET, PEPPER_SECRET, WEBHOOK_SECRET),
        JWT_PARAMETER,
        KMS,
        SES,
        SNS,
      ]);
    });

    it('lets verifyVerificationCode read the pepper and publish its events, and send nothing', () => {
      expect(statements('VerifyCodeFunctionRole')).toEqual([
        logs('verifyVerificationCode'),
        secretManagerRead(DATABASE_SECRET, PEPPER_SECRET),
        JWT_PARAMETER,
        KMS,
        PUT_EVENTS,
      ]);
    });

    it('lets publishEvents read the database secret and put events on the one bus', () => {
      expect(statements('PublishEventsFunctionRole')).toEqual([
        logs('publishEvents'),
        secretManagerRead(DATABASE_SECRET),
        KMS,
        PUT_EVENTS,
      ]);
      const schedule = resourcesOf(pkg.template, 'AWS::Events::Rule').map(([, r]) => r);
      expect(schedule.map((r) => r.Properties.ScheduleExpression)).toContain('rate(1 minute)');
    });

    it('gives the other API functions the database and auth secrets, no pepper and no sender', () => {
      expect(statements('ApiFunctionRole')).toEqual([
        logs(
          'staffApprovalCreate',
          'staffApprovalList',
          'staffApprovalGet',
          'staffApprovalApprove',
          'staffApprovalReject',
          'staffApprovalCancel',
          'getMyVerification',
          'getUserVerification',
          'revokeVerification',
          'getMyVerificationEvents',
          'getUserVerificationEvents',
        ),
        secretManagerRead(DATABASE_SECRET),
        JWT_PARAMETER,
        KMS,
        PUT_EVENTS,
      ]);
      for (const name of ['StaffApprovalApprove', 'GetUserVerification']) {
        const vars = (
          resources[`${name}LambdaFunction`]?.Properties.Environment as {
            Variables: Record<string, string>;
          }
        ).Variables;
        expect(vars.VERIFICATION_CODE_PEPPER_SECRET_ID).toBe('');
        expect(vars.DATABASE_URL_SECRET_ID).toBe('prod/verification/database');
      }
    });

    it('lets the console function write its logs and nothing else: no secret, database or event', () => {
      expect(statements('ConsoleFunctionRole')).toEqual([logs('console')]);
      const vars = (
        resources.ConsoleLambdaFunction?.Properties.Environment as {
          Variables: Record<string, string>;
        }
      ).Variables;
      for (const name of [
        'DATABASE_URL_SECRET_ID',
        'AUTH_JWT_SECRET_SECRET_ID',
        'VERIFICATION_CODE_PEPPER_SECRET_ID',
      ]) {
        expect(vars[name]).toBe('');
      }
    });

    it('gives the webhook secret to issueVerificationCode alone', () => {
      for (const [name, fn] of functions) {
        const vars = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
        const sends = name === 'IssueVerificationCodeLambdaFunction';
        expect(vars.CODE_WEBHOOK_SECRET_SECRET_ID).toBe(
          sends ? 'prod/verification/webhook' : undefined,
        );
        expect(vars.CODE_WEBHOOK_SECRET).toBe(sends ? '' : undefined);
      }
    });

    it('gives the database role only the database secret and its own log groups', () => {
      const db = statementsOf(resources.DatabaseFunctionRole as CfnResource);
      expect(db).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: ['migrate', 'health', 'cleanupCodes'].map((f) =>
            sub(`${ARN('logs')}:log-group:/aws/lambda/verification-service-prod-${f}:*`),
          ),
        },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue'],
          Resource: [sub(`${ARN('secretsmanager')}:secret:prod/verification/database-??????`)],
        },
        expect.objectContaining({ Action: ['kms:Decrypt'] }),
      ]);
    });
  });
});
