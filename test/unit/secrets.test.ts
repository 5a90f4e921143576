import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { checkApiSettingsAtStart } from '../../lib/apiSettings';
import { ConfigError } from '../../lib/errors';
import { resetSecretCache } from '../../lib/secrets';
import { envForStartCheck, runtimeEnv } from '../../lib/settings';

// The AWS boundary is the SDK client: these mocks answer GetSecretValue and
// GetParameter as the services would.
const sm = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);

const PEPPER = 'pepper-from-secrets-manager-0123456789';
const JWT = 'jwt-secret-from-ssm-0123456789-0123456789';
const DB_URL = 'postgres://app:s3cret@db.internal:5432/app?sslmode=verify-full';

beforeEach(() => {
  sm.reset();
  ssm.reset();
  resetSecretCache();
});

afterAll(() => {
  sm.restore();
  ssm.restore();
});

describe('runtimeEnv with *_SECRET_ID settings', () => {
  it('returns the environment untouched, with no AWS call, when no secret id is set', async () => {
    const env = { DATABASE_URL: 'postgres://localhost/x', AUTH_JWT_SECRET: 'y'.repeat(32) };
    expect(await runtimeEnv(env)).toBe(env);
    expect(sm.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });

  it('reads Secrets Manager secrets and decrypted SSM SecureStrings into the settings', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'prod/db-url' }).resolves({ SecretString: DB_URL });
    sm.on(GetSecretValueCommand, {
      SecretId: 'arn:aws:secretsmanager:us-east-2:123456789012:secret:pepper-AbCdEf',
    }).resolves({ SecretString: PEPPER });
    ssm
      .on(GetParameterCommand, { Name: '/verification/jwt', WithDecryption: true })
      .resolves({ Parameter: { Value: JWT } });

    const env = await runtimeEnv({
      STAGE: 'prod',
      DATABASE_URL_SECRET_ID: 'prod/db-url',
      VERIFICATION_CODE_PEPPER_SECRET_ID:
        'arn:aws:secretsmanager:us-east-2:123456789012:secret:pepper-AbCdEf',
      AUTH_JWT_SECRET_SECRET_ID: 'ssm:/verification/jwt',
      DATABASE_URL: '', // serverless.yml passes unset settings as empty strings
    });

    expect(env).toEqual({
      STAGE: 'prod',
      DATABASE_URL: DB_URL,
      VERIFICATION_CODE_PEPPER: PEPPER,
      AUTH_JWT_SECRET: JWT,
    });
    expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({
      Name: '/verification/jwt',
      WithDecryption: true,
    });
    // A secret given by ARN is read in the ARN's region.
    const pepperCall = sm
      .commandCalls(GetSecretValueCommand)
      .find((c) => c.args[0].input.SecretId?.startsWith('arn:'));
    expect(await pepperCall?.thisValue.config.region()).toBe('us-east-2');
  });

  it('reads each secret once per container, however often runtimeEnv runs', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: DB_URL });
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JWT } });
    const raw = { DATABASE_URL_SECRET_ID: 'db', AUTH_JWT_SECRET_SECRET_ID: 'ssm:/jwt' };

    const results = await Promise.all([runtimeEnv(raw), runtimeEnv(raw)]);
    results.push(await runtimeEnv(raw));

    for (const env of results) expect(env.DATABASE_URL).toBe(DB_URL);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('takes the key named like the setting from a JSON secret', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ VERIFICATION_CODE_PEPPER: PEPPER, AUTH_JWT_SECRET: JWT }),
    });
    const env = await runtimeEnv({
      VERIFICATION_CODE_PEPPER_SECRET_ID: 'app-secrets',
      AUTH_JWT_SECRET_SECRET_ID: 'app-secrets',
    });
    expect(env.VERIFICATION_CODE_PEPPER).toBe(PEPPER);
    expect(env.AUTH_JWT_SECRET).toBe(JWT);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('builds DATABASE_URL from an RDS-style JSON secret, host and sslmode overridable', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'rds-full' }).resolves({
      SecretString: JSON.stringify({
        engine: 'postgres',
        host: 'db.cluster-abc.eu-west-1.rds.amazonaws.com',
        port: 5432,
        username: 'app',
        password: 'p@ss:w/rd',
        dbname: 'verification',
      }),
    });
    // RDS-managed master user secrets hold only the user and password.
    sm.on(GetSecretValueCommand, { SecretId: 'rds-managed' }).resolves({
      SecretString: JSON.stringify({ username: 'postgres', password: 'pw' }),
    });

    const full = await runtimeEnv({ DATABASE_URL_SECRET_ID: 'rds-full' });
    expect(full.DATABASE_URL).toBe(
      'postgres://app:p%40ss%3Aw%2Frd@db.cluster-abc.eu-west-1.rds.amazonaws.com:5432/verification?sslmode=verify-full',
    );
    const url = new URL(full.DATABASE_URL as string);
    expect(decodeURIComponent(url.password)).toBe('p@ss:w/rd');

    const proxied = await runtimeEnv({
      DATABASE_URL_SECRET_ID: 'rds-managed',
      DATABASE_HOST: 'proxy.proxy-abc.eu-west-1.rds.amazonaws.com',
      DATABASE_NAME: 'verification',
      DATABASE_SSLMODE: 'require',
    });
    expect(proxied.DATABASE_URL).toBe(
      'postgres://postgres:pw@proxy.proxy-abc.eu-west-1.rds.amazonaws.com:5432/verification?sslmode=require',
    );

    await expect(runtimeEnv({ DATABASE_URL_SECRET_ID: 'rds-managed' })).rejects.toThrow(
      'DATABASE_URL_SECRET_ID names a JSON secret without "host"; set DATABASE_HOST',
    );
  });

  it('names the setting, never the value, when a secret cannot be read, and retries later', async () => {
    const denied = Object.assign(new Error('User is not authorized to perform GetSecretValue'), {
      name: 'AccessDeniedException',
    });
    sm.on(GetSecretValueCommand).rejectsOnce(denied).resolves({ SecretString: PEPPER });

    const env = { VERIFICATION_CODE_PEPPER_SECRET_ID: 'pepper' };
    const err = await runtimeEnv(env).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).setting).toBe('VERIFICATION_CODE_PEPPER_SECRET_ID');
    expect((err as Error).message).toBe(
      'Configuration error: VERIFICATION_CODE_PEPPER_SECRET_ID could not be read from Secrets Manager secret pepper: AccessDeniedException: User is not authorized to perform GetSecretValue',
    );

    // The failure is not cached: the next request reads again.
    expect((await runtimeEnv(env)).VERIFICATION_CODE_PEPPER).toBe(PEPPER);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('names the setting for a missing SSM parameter and for unusable secret contents', async () => {
    ssm
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    await expect(runtimeEnv({ AUTH_JWT_SECRET_SECRET_ID: 'ssm:/missing' })).rejects.toThrow(
      'AUTH_JWT_SECRET_SECRET_ID could not be read from SSM parameter /missing: ParameterNotFound',
    );

    sm.on(GetSecretValueCommand, { SecretId: 'binary' }).resolves({
      SecretBinary: new Uint8Array([1]),
    });
    await expect(runtimeEnv({ DATABASE_URL_SECRET_ID: 'binary' })).rejects.toThrow(
      'DATABASE_URL_SECRET_ID could not be read from Secrets Manager secret binary: Error: the secret has no SecretString',
    );

    sm.on(GetSecretValueCommand, { SecretId: 'json' }).resolves({
      SecretString: JSON.stringify({ other: 'x' }),
    });
    await expect(runtimeEnv({ AUTH_JWT_SECRET_SECRET_ID: 'json' })).rejects.toThrow(
      'AUTH_JWT_SECRET_SECRET_ID names a JSON secret without a "AUTH_JWT_SECRET" key',
    );
  });

  it('refuses X together with X_SECRET_ID, naming X, before any AWS call', async () => {
    const env = { DATABASE_URL: 'postgres://h/db', DATABASE_URL_SECRET_ID: 'db' };
    await expect(runtimeEnv(env)).rejects.toThrow(
      'Configuration error: DATABASE_URL and DATABASE_URL_SECRET_ID are both set; set exactly one',
    );
    expect(() => envForStartCheck(env)).toThrow(ConfigError);
    expect(sm.calls()).toHaveLength(0);
  });
});

describe('start checks with *_SECRET_ID settings', () => {
  it('counts X_SECRET_ID as present without reading it', () => {
    expect(() =>
      checkApiSettingsAtStart({
        DATABASE_URL_SECRET_ID: 'db',
        AUTH_JWT_SECRET_SECRET_ID: 'ssm:/jwt',
      }),
    ).not.toThrow();
    expect(envForStartCheck({ VERIFICATION_CODE_PEPPER_SECRET_ID: 'p' })).toMatchObject({
      VERIFICATION_CODE_PEPPER: expect.stringMatching(/^.{16,}$/),
    });
    expect(sm.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });

  it('still names what is missing or malformed', () => {
    expect(() => checkApiSettingsAtStart({ AUTH_JWT_SECRET_SECRET_ID: 'ssm:/jwt' })).toThrow(
      'DATABASE_URL is required',
    );
    expect(() => checkApiSettingsAtStart({ DATABASE_URL_SECRET_ID: 'db' })).toThrow(
      'AUTH_JWKS_URL or AUTH_JWT_SECRET is required',
    );
    expect(() => envForStartCheck({ AUTH_JWT_SECRET_SECRET_ID: 'ssm:' })).toThrow(
      'AUTH_JWT_SECRET_SECRET_ID names no SSM parameter',
    );
  });
});
