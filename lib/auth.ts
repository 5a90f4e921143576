import { createRemoteJWKSet, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import type { User } from '../models';
import { ConfigError, unauthorized } from './errors';
import { header, HttpEvent } from './http';
import type { Env } from './env';
import { optionalSetting } from './settings';

export interface AuthSettings {
  jwksUrl: string | undefined;
  jwtSecret: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
  userIdClaim: string;
}

/** Exactly one of AUTH_JWKS_URL and AUTH_JWT_SECRET must be set. */
export function authSettings(env: Env): AuthSettings {
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
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new ConfigError('AUTH_JWKS_URL', 'must be an https:// URL');
    }
  }
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    throw new ConfigError('AUTH_JWT_SECRET', 'must be at least 32 characters (256 bits for HS256)');
  }
  return {
    jwksUrl,
    jwtSecret,
    issuer: optionalSetting(env, 'AUTH_ISSUER'),
    audience: optionalSetting(env, 'AUTH_AUDIENCE'),
    userIdClaim: optionalSetting(env, 'AUTH_USER_ID_CLAIM') ?? 'sub',
  };
}

export type TokenVerifier = (token: string) => Promise<JWTPayload>;

/**
 * Verifies a JWT's signature, expiry, issuer and audience. The JWKS is fetched on
 * first use and cached by jose (refetched when an unknown `kid` appears).
 */
export function createTokenVerifier(settings: AuthSettings): TokenVerifier {
  const options = { issuer: settings.issuer };
  let verifySignature: (token: string) => Promise<{ payload: JWTPayload }>;
  if (settings.jwksUrl) {
    const keySet: JWTVerifyGetKey = createRemoteJWKSet(new URL(settings.jwksUrl), {
      timeoutDuration: 3000,
      cacheMaxAge: 10 * 60 * 1000,
    });
    verifySignature = (token) =>
      jwtVerify(token, keySet, { ...options, algorithms: ['RS256', 'ES256'] });
  } else {
    const secret = new TextEncoder().encode(settings.jwtSecret ?? '');
    verifySignature = (token) => jwtVerify(token, secret, { ...options, algorithms: ['HS256'] });
  }
  return async (token) => {
    const { payload } = await verifySignature(token);
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
