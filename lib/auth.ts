import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
// jose's own entry point re-exports all of jose, its JWKS client (and with it
// node:http and node:https) included: the verifier alone keeps a cold start
// from loading the rest. The JWKS client is loaded when a key set is first needed.
import { jwtVerify } from 'jose/jwt/verify';
import type { User } from '../models';
import { ConfigError, unauthorized } from './errors';
import { header, HttpEvent } from './http';
import type { Env } from './env';
import { intSetting, optionalSetting, stageOf } from './settings';

export interface AuthSettings {
  jwksUrl: string | undefined;
  jwtSecret: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  userIdClaim: string;
  /** Tokens whose `iat` is older are refused (AUTH_MAX_TOKEN_AGE_SECONDS). */
  maxTokenAgeSeconds: number | undefined;
  /** When set, the `token_use` claim must equal it (AUTH_TOKEN_USE, e.g. `access`). */
  tokenUse: string | undefined;
}

/** Hosts a plain-http JWKS URL may name off production. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Exactly one of AUTH_JWKS_URL and AUTH_JWT_SECRET must be set. The JWKS URL is
 * https (off production also http on a loopback address); production requires
 * AUTH_ISSUER and AUTH_AUDIENCE.
 */
export function authSettings(env: Env): AuthSettings {
  const { isProduction } = stageOf(env);
  const jwksUrl = optionalSetting(env, 'AUTH_JWKS_URL');
  const jwtSecret = optionalSetting(env, 'AUTH_JWT_SECRET');
  const secretId = optionalSetting(env, 'AUTH_JWT_SECRET_SECRET_ID');
  if (jwksUrl && (jwtSecret || secretId)) {
    throw new ConfigError(
      'AUTH_JWKS_URL',
      'and AUTH_JWT_SECRET are both set; set exactly one (JWKS for RS256/ES256, secret for HS256)',
    );
  }
  if (!jwksUrl && !jwtSecret && !secretId) {
    throw new ConfigError(
      'AUTH_JWKS_URL',
      'or AUTH_JWT_SECRET is required (JWKS for RS256/ES256, secret for HS256)',
    );
  }
  if (jwksUrl) {
    let parsed: URL;
    try {
      parsed = new URL(jwksUrl);
    } catch {
      throw new ConfigError('AUTH_JWKS_URL', `is not a valid URL: "${jwksUrl}"`);
    }
    const plainAllowed = !isProduction && isLoopback(parsed.hostname);
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && plainAllowed)) {
      throw new ConfigError(
        'AUTH_JWKS_URL',
        isProduction
          ? 'must be an https:// URL'
          : 'must be an https:// URL (http:// only on a loopback address, off production)',
      );
    }
  }
  const issuer = optionalSetting(env, 'AUTH_ISSUER');
  const audience = optionalSetting(env, 'AUTH_AUDIENCE');
  if (isProduction && !issuer) {
    throw new ConfigError('AUTH_ISSUER', 'is required on a production stage (the `iss` of tokens)');
  }
  if (isProduction && !audience) {
    throw new ConfigError(
      'AUTH_AUDIENCE',
      'is required on a production stage (the `aud`, or Cognito `client_id`, of tokens)',
    );
  }
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    throw new ConfigError('AUTH_JWT_SECRET', 'must be at least 32 characters (256 bits for HS256)');
  }
  return {
    jwksUrl,
    jwtSecret,
    issuer,
    audience,
    userIdClaim: optionalSetting(env, 'AUTH_USER_ID_CLAIM') ?? 'sub',
    maxTokenAgeSeconds: optionalSetting(env, 'AUTH_MAX_TOKEN_AGE_SECONDS')
      ? intSetting(env, 'AUTH_MAX_TOKEN_AGE_SECONDS', 0, { min: 1 })
      : undefined,
    tokenUse: optionalSetting(env, 'AUTH_TOKEN_USE')?.trim(),
  };
}

export type TokenVerifier = (token: string) => Promise<JWTPayload>;

/**
 * Verifies a JWT's signature, expiry (required), age, issuer, audience and
 * `token_use`. The JWKS is fetched on first use and cached by jose (refetched
 * when an unknown `kid` appears).
 */
export function createTokenVerifier(settings: AuthSettings): TokenVerifier {
  const options: JWTVerifyOptions = {
    issuer: settings.issuer,
    // A token without `exp` would be valid forever.
    requiredClaims: ['exp'],
    // jose then also requires `iat`.
    ...(settings.maxTokenAgeSeconds === undefined
      ? {}
      : { maxTokenAge: settings.maxTokenAgeSeconds }),
  };
  let verifySignature: (token: string) => Promise<{ payload: JWTPayload }>;
  if (settings.jwksUrl) {
    const url = new URL(settings.jwksUrl);
    let keySet: Promise<JWTVerifyGetKey> | undefined;
    verifySignature = async (token) => {
      keySet ??= import('jose/jwks/remote').then(({ createRemoteJWKSet }) =>
        createRemoteJWKSet(url, { timeoutDuration: 3000, cacheMaxAge: 10 * 60 * 1000 }),
      );
      return jwtVerify(token, await keySet, { ...options, algorithms: ['RS256', 'ES256'] });
    };
  } else {
    const secret = new TextEncoder().encode(settings.jwtSecret ?? '');
    verifySignature = (token) => jwtVerify(token, secret, { ...options, algorithms: ['HS256'] });
  }
  return async (token) => {
    const { payload } = await verifySignature(token);
    if (settings.tokenUse !== undefined && payload.token_use !== settings.tokenUse) {
      // Cognito ID tokens and access tokens share a key set and an issuer.
      throw new Error('token_use mismatch');
    }
    if (settings.audience !== undefined) {
      // Cognito access tokens carry `client_id` instead of `aud`.
      const aud = payload.aud;
      const ok =
        aud !== undefined
          ? (Array.isArray(aud) ? aud : [aud]).includes(settings.audience)
          : payload.client_id === settings.audience;
      if (!ok) throw new Error('audience mismatch');
    }
    return payload;
  };
}

/** The bearer token of a request, or a 401. */
export function bearerToken(event: HttpEvent): string {
  const value = header(event, 'authorization');
  const match = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  if (!match?.[1]) throw unauthorized();
  return match[1];
}

/** The users.id named by the configured claim, if it is a positive integer. */
export function userIdFromClaims(payload: JWTPayload, claim: string): number | undefined {
  const raw = payload[claim];
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw : '';
  if (!/^[1-9]\d{0,9}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= 2147483647 ? id : undefined;
}

export interface AuthDeps {
  verify: TokenVerifier;
  userIdClaim: string;
  users: typeof User;
}

/**
 * The user id of a valid token, or a 401, without reading the database: callers
 * that read the user row anyway must answer 401 themselves when it is missing.
 */
export async function authenticatedUserId(
  event: HttpEvent,
  deps: Pick<AuthDeps, 'verify' | 'userIdClaim'>,
): Promise<number> {
  const token = bearerToken(event);
  let payload: JWTPayload;
  try {
    payload = await deps.verify(token);
  } catch {
    throw unauthorized('The bearer token is invalid or expired');
  }
  const userId = userIdFromClaims(payload, deps.userIdClaim);
  if (userId === undefined) throw unauthorized('The token names no user');
  return userId;
}

/** The signed-in user, or a 401 (missing, bad or expired token, or unknown user). */
export async function authenticate(event: HttpEvent, deps: AuthDeps): Promise<User> {
  const userId = await authenticatedUserId(event, deps);
  const user = await deps.users.findByPk(userId);
  if (!user) throw unauthorized('The token names an unknown user');
  return user;
}
