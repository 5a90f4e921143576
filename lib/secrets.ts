import { ConfigError } from './errors';
import type { Env } from './env';

/** Settings that may be given as `X_SECRET_ID` instead of `X` (SPEC §6). */
export const SECRET_SETTINGS = [
  'DATABASE_URL',
  'VERIFICATION_CODE_PEPPER',
  'AUTH_JWT_SECRET',
  'CODE_WEBHOOK_SECRET',
];

/** Where a secret lives: a Secrets Manager secret (name or ARN) or an SSM SecureString. */
export type SecretRef =
  | { store: 'secretsmanager'; id: string; region: string | undefined }
  | { store: 'ssm'; name: string; region: string | undefined };

export interface SecretSource {
  /** The setting the value is for, such as `DATABASE_URL`. */
  setting: string;
  /** The variable that named the secret, such as `DATABASE_URL_SECRET_ID`. */
  variable: string;
  ref: SecretRef;
}

const present = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';

/** The region inside an ARN (`arn:aws:ssm:eu-west-1:...`), so a secret in another region works. */
function regionOfArn(arn: string): string | undefined {
  const parts = arn.split(':');
  return parts[0] === 'arn' && parts[3] ? parts[3] : undefined;
}

export function parseSecretRef(variable: string, raw: string): SecretRef {
  const value = raw.trim();
  if (value.startsWith('ssm:')) {
    const name = value.slice('ssm:'.length);
    if (!name || name === '/') {
      throw new ConfigError(variable, 'names no SSM parameter (expected ssm:/parameter/name)');
    }
    return { store: 'ssm', name, region: regionOfArn(name) };
  }
  return { store: 'secretsmanager', id: value, region: regionOfArn(value) };
}

/**
 * The secret-backed settings of an environment. Setting both `X` and
 * `X_SECRET_ID` is a configuration error: which one wins would be a guess.
 */
export function secretSources(env: Env): SecretSource[] {
  const sources: SecretSource[] = [];
  for (const setting of SECRET_SETTINGS) {
    const variable = `${setting}_SECRET_ID`;
    const id = env[variable];
    if (!present(id)) continue;
    if (present(env[setting])) {
      throw new ConfigError(setting, `and ${variable} are both set; set exactly one`);
    }
    sources.push({ setting, variable, ref: parseSecretRef(variable, id) });
  }
  return sources;
}

/** Reads the secret string a reference points at (the AWS boundary; tests mock the clients). */
export type SecretReader = (ref: SecretRef) => Promise<string>;

// SDK clients per service and region, made on first use: a container with no
// *_SECRET_ID never loads the SDK.
const clients = new Map<string, unknown>();

// Fail in seconds rather than at the function timeout when, say, a VPC has no
// route or endpoint to the service.
const CLIENT_OPTIONS = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 3000, requestTimeout: 5000 },
};

function cachedClient<T>(key: string, make: () => T): T {
  if (!clients.has(key)) clients.set(key, make());
  return clients.get(key) as T;
}

export const awsSecretReader: SecretReader = async (ref) => {
  if (ref.store === 'secretsmanager') {
    const sm = await import('@aws-sdk/client-secrets-manager');
    const c = cachedClient(
      `secretsmanager:${ref.region ?? ''}`,
      () => new sm.SecretsManagerClient({ ...CLIENT_OPTIONS, region: ref.region }),
    );
    const out = await c.send(new sm.GetSecretValueCommand({ SecretId: ref.id }));
    if (typeof out.SecretString !== 'string') {
      throw new Error('the secret has no SecretString (binary secrets are not supported)');
    }
    return out.SecretString;
  }
  const ssm = await import('@aws-sdk/client-ssm');
  const c = cachedClient(
    `ssm:${ref.region ?? ''}`,
    () => new ssm.SSMClient({ ...CLIENT_OPTIONS, region: ref.region }),
  );
  const out = await c.send(new ssm.GetParameterCommand({ Name: ref.name, WithDecryption: true }));
  const value = out.Parameter?.Value;
  if (typeof value !== 'string') throw new Error('the parameter has no value');
  return value;
};

// Secret strings by reference, read once per container. A failed read is
// forgotten so that the next request tries again.
const cache = new Map<string, Promise<string>>();

/** Forgets cached secrets and SDK clients (tests; a container never needs it). */
export function resetSecretCache(): void {
  cache.clear();
  clients.clear();
}

function describe(ref: SecretRef): string {
  return ref.store === 'ssm' ? `SSM parameter ${ref.name}` : `Secrets Manager secret ${ref.id}`;
}

function readCached(source: SecretSource, reader: SecretReader): Promise<string> {
  const key = JSON.stringify(source.ref);
  let value = cache.get(key);
  if (!value) {
    value = reader(source.ref).catch((err: unknown) => {
      cache.delete(key);
      const e = err as { name?: string; message?: string };
      throw new ConfigError(
        source.variable,
        `could not be read from ${describe(source.ref)}: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`,
      );
    });
    cache.set(key, value);
  }
  return value;
}

function jsonObject(raw: string): Record<string, unknown> | undefined {
  if (!raw.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * DATABASE_URL from an RDS-style JSON secret: `username` and `password`, with
 * `host`, `port` and `dbname` from the secret (rotation-template secrets carry
 * them) or from DATABASE_HOST / DATABASE_PORT / DATABASE_NAME, which win when set
 * (an RDS Proxy endpoint; RDS-managed master secrets hold only the user and
 * password). `sslmode` is DATABASE_SSLMODE, verify-full unless set.
 */
function databaseUrlFromJson(secret: Record<string, unknown>, env: Env, variable: string): string {
  const field = (key: string): string | undefined => {
    const v = secret[key];
    return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  };
  const engine = field('engine');
  if (engine !== undefined && !engine.startsWith('postgres')) {
    throw new ConfigError(variable, `names a secret for engine "${engine}", not PostgreSQL`);
  }
  const username = field('username');
  const password = field('password');
  const host = env.DATABASE_HOST?.trim() || field('host');
  const port = env.DATABASE_PORT?.trim() || field('port') || '5432';
  const dbname = env.DATABASE_NAME?.trim() || field('dbname') || 'postgres';
  if (!username || password === undefined) {
    throw new ConfigError(variable, 'names a JSON secret without "username" and "password"');
  }
  if (!host) {
    throw new ConfigError(variable, 'names a JSON secret without "host"; set DATABASE_HOST');
  }
  const sslmode = env.DATABASE_SSLMODE?.trim() || 'verify-full';
  const e = encodeURIComponent;
  return `postgres://${e(username)}:${e(password)}@${host}:${port}/${e(dbname)}?sslmode=${e(sslmode)}`;
}

/**
 * The value of a setting from its secret string: the string itself, or, when it
 * is a JSON object, its key named like the setting (one secret for several
 * settings), or for DATABASE_URL an RDS-style `{username, password, ...}` secret.
 */
export function settingValue(source: SecretSource, raw: string, env: Env): string {
  const obj = jsonObject(raw);
  let value: string | undefined;
  if (!obj) value = raw;
  else if (typeof obj[source.setting] === 'string') value = obj[source.setting] as string;
  else if (source.setting === 'DATABASE_URL' && 'username' in obj) {
    value = databaseUrlFromJson(obj, env, source.variable);
  } else {
    throw new ConfigError(source.variable, `names a JSON secret without a "${source.setting}" key`);
  }
  if (value.trim() === '') throw new ConfigError(source.variable, 'names an empty secret');
  return value;
}

/**
 * The environment with every `X_SECRET_ID` replaced by `X` read from its store.
 * Without any `X_SECRET_ID` the environment is returned as it is and no AWS SDK
 * is loaded.
 */
export async function resolveSecretSettings(
  env: Env,
  reader: SecretReader = awsSecretReader,
): Promise<Env> {
  const sources = secretSources(env);
  if (sources.length === 0) return env;
  const values = await Promise.all(sources.map((s) => readCached(s, reader)));
  const resolved: Env = { ...env };
  sources.forEach((source, i) => {
    resolved[source.setting] = settingValue(source, values[i] as string, env);
    delete resolved[source.variable];
  });
  return resolved;
}
