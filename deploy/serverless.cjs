'use strict';
// Parts of serverless.yml computed at package time from the caller's environment
// and the stage parameters, without calling AWS (`serverless package` runs with no
// credentials): the IAM roles, scoped to the configured secrets and sender, and the
// optional VPC attachment. Account and region are CloudFormation pseudo-parameters
// (Fn::Sub), resolved by CloudFormation at deploy time.

const { isProductionStage } = require('../lib/stages.cjs');

const SERVICE = 'verification-service';
const SECRET_SETTINGS = ['DATABASE_URL', 'VERIFICATION_CODE_PEPPER', 'AUTH_JWT_SECRET'];
/** The sending function's secrets: those, and the webhook's signing secret. */
const SEND_SECRETS = [...SECRET_SETTINGS, 'CODE_WEBHOOK_SECRET'];
/** Functions that use the database role. */
const DATABASE_FUNCTIONS = ['migrate', 'health', 'cleanupCodes'];
/** The one function that sends codes: the pepper and the senders (SES, SNS). */
const SEND_FUNCTIONS = ['issueVerificationCode'];
/** The one function that checks codes: the pepper, no sender. */
const VERIFY_FUNCTIONS = ['verifyVerificationCode'];
/** The secrets of every HTTP API function but those two: no pepper. */
const API_SECRETS = ['DATABASE_URL', 'AUTH_JWT_SECRET'];
/** The scheduled publisher of the event outbox: the database and the event bus. */
const PUBLISH_FUNCTIONS = ['publishEvents'];
/** The staff console's static page and assets: its logs, nothing else. */
const CONSOLE_FUNCTIONS = ['console'];

const sub = (template) => ({ 'Fn::Sub': template });
const arnPrefix = (service) =>
  `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}`;

function list(value) {
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function present(env, name) {
  return typeof env[name] === 'string' && env[name].trim() !== '';
}

/**
 * The IAM resource of an X_SECRET_ID value. A secret name matches its ARN's random
 * six-character suffix (`name-??????`); an ARN without that suffix gets it too.
 */
function secretResource(id) {
  const value = id.trim();
  if (value.startsWith('ssm:')) {
    const name = value.slice('ssm:'.length);
    if (name.startsWith('arn:')) return { store: 'ssm', resource: name };
    return {
      store: 'ssm',
      resource: sub(`${arnPrefix('ssm')}:parameter/${name.replace(/^\//, '')}`),
    };
  }
  if (value.startsWith('arn:')) {
    return {
      store: 'secretsmanager',
      resource: /-[A-Za-z0-9]{6}$/.test(value) ? value : `${value}-??????`,
    };
  }
  return {
    store: 'secretsmanager',
    resource: sub(`${arnPrefix('secretsmanager')}:secret:${value}-??????`),
  };
}

/** Read access to the secrets of these settings, and nothing else. */
function secretStatements(env, settings) {
  const sm = [];
  const ssm = [];
  for (const setting of settings) {
    const variable = `${setting}_SECRET_ID`;
    if (!present(env, variable)) continue;
    const { store, resource } = secretResource(env[variable]);
    (store === 'ssm' ? ssm : sm).push(resource);
  }
  const statements = [];
  if (sm.length) {
    statements.push({ Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: sm });
  }
  if (ssm.length) statements.push({ Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: ssm });
  // Secrets encrypted with the AWS-managed keys need no KMS statement; a
  // customer-managed key does, and only through these two services.
  const keys = list(env.SECRETS_KMS_KEY_ARNS);
  if (keys.length && statements.length) {
    statements.push({
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: keys,
      Condition: {
        StringEquals: {
          'kms:ViaService': [
            sub('secretsmanager.${AWS::Region}.amazonaws.com'),
            sub('ssm.${AWS::Region}.amazonaws.com'),
          ],
        },
      },
    });
  }
  return statements;
}

/** The delivery adapters named by CODE_DELIVERY (and any CODE_DELIVERY_* setting). */
function deliveries(env) {
  const names = new Set();
  for (const [key, value] of Object.entries(env)) {
    if (key === 'CODE_DELIVERY' || key.startsWith('CODE_DELIVERY_')) {
      for (const word of String(value)
        .toLowerCase()
        .split(/[^a-z]+/))
        names.add(word);
    }
  }
  return names;
}

function deliveryStatements(env) {
  const used = deliveries(env);
  const statements = [];
  if (used.has('ses')) {
    if (!present(env, 'SES_FROM_ADDRESS')) {
      throw new Error('CODE_DELIVERY uses ses but SES_FROM_ADDRESS is not set');
    }
    const raw = env.SES_FROM_ADDRESS.trim();
    const address = (/<([^>]+)>/.exec(raw)?.[1] ?? raw).trim();
    const domain = address.slice(address.lastIndexOf('@') + 1);
    if (!address.includes('@') || !domain) {
      throw new Error(`SES_FROM_ADDRESS is not an email address: "${raw}"`);
    }
    // SES authorises against the verified identity: the domain or the address,
    // in the region SES is used from.
    const region = present(env, 'SES_REGION') ? env.SES_REGION.trim() : '${AWS::Region}';
    const identity = (name) =>
      sub(`arn:\${AWS::Partition}:ses:${region}:\${AWS::AccountId}:identity/${name}`);
    statements.push({
      Effect: 'Allow',
      Action: ['ses:SendEmail'],
      Resource: [identity(domain), identity(address)],
      Condition: { StringEquals: { 'ses:FromAddress': address } },
    });
  }
  if (used.has('sns')) {
    // SMS sent straight to a phone number has no ARN to scope; excluding every
    // ARN leaves phone numbers only, so no topic can be published to.
    statements.push({
      Effect: 'Allow',
      Action: ['sns:Publish'],
      NotResource: sub('arn:${AWS::Partition}:sns:*:*:*'),
    });
  }
  return statements;
}

/**
 * events:PutEvents on the one bus EVENT_BUS_NAME names (a name or an ARN), for
 * the functions that publish verification events; none without a bus.
 */
function eventStatements(env) {
  const bus = String(env.EVENT_BUS_NAME ?? '').trim();
  if (!bus) return [];
  return [
    {
      Effect: 'Allow',
      Action: ['events:PutEvents'],
      Resource: bus.startsWith('arn:') ? bus : sub(`${arnPrefix('events')}:event-bus/${bus}`),
    },
  ];
}

function logStatement(stage, functionNames) {
  return {
    Effect: 'Allow',
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Resource: functionNames.map((name) =>
      sub(`${arnPrefix('logs')}:log-group:/aws/lambda/${SERVICE}-${stage}-${name}:*`),
    ),
  };
}

function role(statements, hasVpc) {
  const managed = hasVpc
    ? [sub('arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole')]
    : [];
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: ['lambda.amazonaws.com'] },
            Action: ['sts:AssumeRole'],
          },
        ],
      },
      ManagedPolicyArns: managed,
      Policies: [
        {
          PolicyName: 'least-privilege',
          PolicyDocument: { Version: '2012-10-17', Statement: statements },
        },
      ],
    },
  };
}

/** `{ subnetIds, securityGroupIds }` from the stage parameters, or null (no VPC). */
function vpcFrom(subnets, groups) {
  const subnetIds = list(subnets);
  const securityGroupIds = list(groups);
  if (!subnetIds.length && !securityGroupIds.length) return null;
  if (!subnetIds.length || !securityGroupIds.length) {
    throw new Error(
      'VPC_SUBNET_IDS and VPC_SECURITY_GROUP_IDS must be set together (comma-separated ids)',
    );
  }
  return { subnetIds, securityGroupIds };
}

/** Route throttling of the HTTP API on production stages, when the settings are unset. */
const THROTTLE_DEFAULTS = { rate: 100, burst: 200 };

/**
 * A number setting read at package time: `fallback` when unset or blank, else
 * a plain decimal (a whole number if asked) above 0, or 0 or more. A bad value
 * fails the package, naming the setting: it is template configuration.
 */
function numberSetting(env, name, fallback, { wholeNumber, zeroAllowed }) {
  const raw = String(env[name] ?? '').trim();
  if (raw === '') return fallback;
  const value = Number(raw);
  const ok =
    (wholeNumber ? /^\d+$/.test(raw) : /^\d+(\.\d+)?$/.test(raw)) && (zeroAllowed || value > 0);
  if (!ok) {
    throw new Error(
      `${name} must be a ${wholeNumber ? 'whole ' : ''}number ${zeroAllowed ? 'of 0 or more' : 'above 0'}, got "${env[name]}"`,
    );
  }
  return value;
}

/**
 * The HTTP API's default route throttling from API_THROTTLE_RATE (requests per
 * second, steady) and API_THROTTLE_BURST (requests at once). A bad value fails
 * the package, naming the setting: it is template configuration.
 */
function throttleFrom(env) {
  return {
    ThrottlingRateLimit: numberSetting(env, 'API_THROTTLE_RATE', THROTTLE_DEFAULTS.rate, {
      wholeNumber: false,
      zeroAllowed: false,
    }),
    ThrottlingBurstLimit: numberSetting(env, 'API_THROTTLE_BURST', THROTTLE_DEFAULTS.burst, {
      wholeNumber: true,
      zeroAllowed: false,
    }),
  };
}

/**
 * Provisioned concurrency of the send and the verify from
 * CODE_PROVISIONED_CONCURRENCY: that many of each function's execution
 * environments are started (the bundle loaded) ahead of requests and kept
 * ready, billed whether used or not. 0 or unset provisions none: every new
 * container starts on a request. A bad value fails the package, naming the
 * setting.
 */
function provisionedConcurrencyFrom(env) {
  return numberSetting(env, 'CODE_PROVISIONED_CONCURRENCY', 0, {
    wholeNumber: true,
    zeroAllowed: true,
  });
}

async function context({ resolveVariable, resolveConfigurationProperty }) {
  const stage = await resolveVariable('sls:stage');
  const vpc = vpcFrom(
    await resolveVariable('param:vpcSubnetIds'),
    await resolveVariable('param:vpcSecurityGroupIds'),
  );
  const functions = Object.keys((await resolveConfigurationProperty(['functions'])) ?? {});
  return { stage, vpc, functions };
}

module.exports = {
  /**
   * The secret settings' plain values from the caller's environment, or empty
   * strings on a production stage, so that no secret value is resolved into the
   * packaged state at all.
   */
  plainSecrets: async ({ resolveVariable }) => {
    const allowed = !isProductionStage(await resolveVariable('sls:stage'), process.env);
    return Object.fromEntries(
      SEND_SECRETS.map((name) => [name, (allowed && process.env[name]) || '']),
    );
  },

  /** provider.logRetentionInDays: 90 days on production, 30 elsewhere. */
  logRetentionInDays: async ({ resolveVariable }) =>
    isProductionStage(await resolveVariable('sls:stage'), process.env) ? 90 : 30,

  /** provisionedConcurrency of the send and the verify (0: none). */
  provisionedConcurrency: async () => provisionedConcurrencyFrom(process.env),

  /** provider.vpc: attached only when the stage has subnets and security groups. */
  vpc: async (ctx) => (await context(ctx)).vpc,

  /**
   * Properties assigned over those of the HttpApiStage serverless generates:
   * route throttling (every route, /health included) on production stages,
   * nothing elsewhere. DefaultRouteSettings is replaced whole, so it keeps the
   * provider.httpApi.metrics flag serverless put there.
   */
  httpApiStageProperties: async ({ resolveVariable, resolveConfigurationProperty }) => {
    if (!isProductionStage(await resolveVariable('sls:stage'), process.env)) return {};
    const metrics = await resolveConfigurationProperty(['provider', 'httpApi', 'metrics']);
    return {
      DefaultRouteSettings: {
        DetailedMetricsEnabled: Boolean(metrics),
        ...throttleFrom(process.env),
      },
    };
  },

  /** The role of the HTTP API functions (the provider default): no pepper, no sender. */
  apiRole: async (ctx) => {
    const { stage, vpc, functions } = await context(ctx);
    const own = [
      ...DATABASE_FUNCTIONS,
      ...SEND_FUNCTIONS,
      ...VERIFY_FUNCTIONS,
      ...PUBLISH_FUNCTIONS,
      ...CONSOLE_FUNCTIONS,
    ];
    const apiFunctions = functions.filter((f) => !own.includes(f));
    return role(
      [
        logStatement(stage, apiFunctions.length ? apiFunctions : ['*']),
        ...secretStatements(process.env, API_SECRETS),
        // Staff decisions, filings and revocations publish their events.
        ...eventStatements(process.env),
      ],
      Boolean(vpc),
    );
  },

  /** The role of issueVerificationCode: the pepper, the webhook secret and the configured senders. */
  sendCodeRole: async (ctx) => {
    const { stage, vpc } = await context(ctx);
    return role(
      [
        logStatement(stage, SEND_FUNCTIONS),
        ...secretStatements(process.env, SEND_SECRETS),
        ...deliveryStatements(process.env),
      ],
      Boolean(vpc),
    );
  },

  /** The role of verifyVerificationCode: the pepper, and no sender. */
  verifyCodeRole: async (ctx) => {
    const { stage, vpc } = await context(ctx);
    return role(
      [
        logStatement(stage, VERIFY_FUNCTIONS),
        ...secretStatements(process.env, SECRET_SETTINGS),
        // A verify publishes the status change it made.
        ...eventStatements(process.env),
      ],
      Boolean(vpc),
    );
  },

  /** The role of publishEvents: the database secret, the event bus and its logs. */
  publishEventsRole: async (ctx) => {
    const { stage, vpc } = await context(ctx);
    return role(
      [
        logStatement(stage, PUBLISH_FUNCTIONS),
        ...secretStatements(process.env, ['DATABASE_URL']),
        ...eventStatements(process.env),
      ],
      Boolean(vpc),
    );
  },

  /** The role of the console function: its own logs; no secret, database or event bus. */
  consoleRole: async (ctx) => {
    const { stage, vpc } = await context(ctx);
    return role([logStatement(stage, CONSOLE_FUNCTIONS)], Boolean(vpc));
  },

  /** The role of migrate, health and cleanupCodes: the database secret and their logs. */
  databaseRole: async (ctx) => {
    const { stage, vpc } = await context(ctx);
    return role(
      [logStatement(stage, DATABASE_FUNCTIONS), ...secretStatements(process.env, ['DATABASE_URL'])],
      Boolean(vpc),
    );
  },

  // For unit tests.
  secretResource,
  secretStatements,
  deliveryStatements,
  eventStatements,
  vpcFrom,
  throttleFrom,
  provisionedConcurrencyFrom,
};
