import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { exportJWK, generateKeyPair, JWK, KeyLike, SignJWT } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { authenticate, authSettings, createTokenVerifier } from '../../lib/auth';
import { createDatabase, Database } from '../../lib/db';
import { AppError } from '../../lib/errors';
import { buildUser } from '../helpers/factories';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens';

const event = (token?: string) =>
  ({ headers: token ? { authorization: `Bearer ${token}` } : {} }) as APIGatewayProxyEventV2;

describe('authSettings', () => {
  it('refuses both a JWKS URL and a secret, and neither', () => {
    expect(() =>
      authSettings({ AUTH_JWKS_URL: 'https://x/jwks', AUTH_JWT_SECRET: TEST_JWT_SECRET }),
    ).toThrow(/Configuration error: AUTH_JWKS_URL and AUTH_JWT_SECRET are both set/);
    expect(() =>
      authSettings({ AUTH_JWKS_URL: 'https://x/jwks', AUTH_JWT_SECRET_SECRET_ID: 'arn:x' }),
    ).toThrow(/both set/);
    expect(() => authSettings({})).toThrow(/Configuration error: AUTH_JWKS_URL/);
  });

  it('takes a JWKS URL over https, or over http on a loopback address off production', () => {
    const prod = { STAGE: 'prod', AUTH_ISSUER: 'https://issuer', AUTH_AUDIENCE: 'client-1' };
    expect(authSettings({ AUTH_JWKS_URL: 'https://x/jwks' }).jwksUrl).toBe('https://x/jwks');
    expect(authSettings({ AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks' }).jwksUrl).toBeTruthy();
    expect(authSettings({ AUTH_JWKS_URL: 'http://localhost:9/jwks' }).jwksUrl).toBeTruthy();
    expect(() => authSettings({ AUTH_JWKS_URL: 'http://idp.example.com/jwks' })).toThrow(
      /Configuration error: AUTH_JWKS_URL must be an https:\/\/ URL/,
    );
    expect(() => authSettings({ ...prod, AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks' })).toThrow(
      /Configuration error: AUTH_JWKS_URL must be an https:\/\/ URL/,
    );
    expect(authSettings({ ...prod, AUTH_JWKS_URL: 'https://x/jwks' }).issuer).toBe(
      'https://issuer',
    );
  });

  it('requires AUTH_ISSUER and AUTH_AUDIENCE on production', () => {
    const base = { STAGE: 'staging', AUTH_JWKS_URL: 'https://x/jwks' };
    expect(() => authSettings({ ...base, AUTH_AUDIENCE: 'a' })).toThrow(
      /Configuration error: AUTH_ISSUER is required on a production stage/,
    );
    expect(() => authSettings({ ...base, AUTH_ISSUER: 'i' })).toThrow(
      /Configuration error: AUTH_AUDIENCE is required on a production stage/,
    );
    expect(() => authSettings({ ...base, STAGE: 'dev' })).not.toThrow();
  });

  it('names AUTH_MAX_TOKEN_AGE_SECONDS when it is not a positive whole number', () => {
    const base = { AUTH_JWT_SECRET: TEST_JWT_SECRET };
    expect(authSettings({ ...base, AUTH_MAX_TOKEN_AGE_SECONDS: '3600' }).maxTokenAgeSeconds).toBe(
      3600,
    );
    expect(() => authSettings({ ...base, AUTH_MAX_TOKEN_AGE_SECONDS: 'hour' })).toThrow(
      /Configuration error: AUTH_MAX_TOKEN_AGE_SECONDS/,
    );
  });
});

describe('createTokenVerifier (HS256): exp, token age and token_use', () => {
  const key = new TextEncoder().encode(TEST_JWT_SECRET);
  const hs = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' });
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses a token without exp, however well signed', async () => {
    const verify = createTokenVerifier(authSettings({ AUTH_JWT_SECRET: TEST_JWT_SECRET }));
    await expect(verify(await hs({ sub: '1' }).setIssuedAt().sign(key))).rejects.toThrow(/exp/);
    await expect(verify(await tokenFor(1))).resolves.toMatchObject({ sub: '1' });
  });

  it('refuses a token issued longer ago than AUTH_MAX_TOKEN_AGE_SECONDS, or without iat', async () => {
    const verify = createTokenVerifier(
      authSettings({ AUTH_JWT_SECRET: TEST_JWT_SECRET, AUTH_MAX_TOKEN_AGE_SECONDS: '600' }),
    );
    const old = await hs({ sub: '1' })
      .setIssuedAt(now() - 3600)
      .setExpirationTime(now() + 3600)
      .sign(key);
    await expect(verify(old)).rejects.toThrow();
    const noIat = await hs({ sub: '1' }).setExpirationTime('1h').sign(key);
    await expect(verify(noIat)).rejects.toThrow();
    await expect(verify(await tokenFor(1))).resolves.toBeTruthy();
  });

  it('with AUTH_TOKEN_USE, refuses a token whose token_use differs (a Cognito ID token)', async () => {
    const verify = createTokenVerifier(
      authSettings({ AUTH_JWT_SECRET: TEST_JWT_SECRET, AUTH_TOKEN_USE: 'access' }),
    );
    const token = (use?: string) =>
      tokenFor(1, { claims: use === undefined ? {} : { token_use: use } });
    await expect(verify(await token('access'))).resolves.toBeTruthy();
    await expect(verify(await token('id'))).rejects.toThrow(/token_use/);
    await expect(verify(await token())).rejects.toThrow(/token_use/);
  });
});

describe('createTokenVerifier with a JWKS (RS256) served over HTTP', () => {
  let server: http.Server;
  let jwksUrl: string;
  let privateKey: KeyLike;
  let otherKey: KeyLike;
  let fetches = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = http.createServer((_req, res) => {
      fetches += 1;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const sign = (claims: Record<string, unknown>, key = privateKey, expiresIn = '5m') =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(key);

  const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_test';

  it('checks signature, expiry, issuer and audience (aud, or Cognito client_id)', async () => {
    const verify = createTokenVerifier(
      authSettings({ AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: 'client-1' }),
    );
    await expect(
      verify(await sign({ iss: ISSUER, aud: 'client-1', sub: '1' })),
    ).resolves.toMatchObject({ sub: '1' });
    await expect(verify(await sign({ iss: ISSUER, aud: ['x', 'client-1'] }))).resolves.toBeTruthy();
    // A Cognito access token has client_id and no aud.
    await expect(verify(await sign({ iss: ISSUER, client_id: 'client-1' }))).resolves.toBeTruthy();
    for (const bad of [
      { iss: ISSUER, aud: 'client-2' },
      { iss: ISSUER, client_id: 'client-2' },
      { iss: ISSUER },
      { iss: 'https://evil.example', aud: 'client-1' },
      { aud: 'client-1' },
    ]) {
      await expect(verify(await sign(bad))).rejects.toThrow();
    }
    await expect(verify(await sign({ iss: ISSUER, aud: 'client-1' }, otherKey))).rejects.toThrow();
    await expect(
      verify(await sign({ iss: ISSUER, aud: 'client-1' }, privateKey, '-1m')),
    ).rejects.toThrow();
    // An HS256 token signed with some secret is not accepted by a JWKS verifier.
    await expect(verify(await tokenFor(1))).rejects.toThrow();
    // The key set is fetched once and cached.
    expect(fetches).toBe(1);
  });

  it('reads the user id from a custom claim (AUTH_USER_ID_CLAIM)', async () => {
    const testDb: TestDatabase = await createTestDatabase();
    const db: Database = createDatabase({
      databaseUrl: testDb.url,
      caFile: undefined,
      connectTimeoutMs: 3000,
    });
    try {
      const settings = authSettings({
        AUTH_JWKS_URL: jwksUrl,
        AUTH_USER_ID_CLAIM: 'custom:user_id',
      });
      const deps = {
        verify: createTokenVerifier(settings),
        userIdClaim: settings.userIdClaim,
        users: db.models.User,
      };
      const user = await buildUser(db.models);
      const found = await authenticate(
        event(await sign({ sub: 'cognito-uuid', 'custom:user_id': String(user.id) })),
        deps,
      );
      expect(found.id).toBe(user.id);

      const refusals: [string | undefined, string][] = [
        [undefined, 'A valid bearer token is required'],
        ['garbage', 'The bearer token is invalid or expired'],
        [await sign({ sub: String(user.id) }), 'The token names no user'],
        [await sign({ 'custom:user_id': 'abc' }), 'The token names no user'],
        [await sign({ 'custom:user_id': '1.5' }), 'The token names no user'],
        [await sign({ 'custom:user_id': '99999999999' }), 'The token names no user'],
        [await sign({ 'custom:user_id': '2147483000' }), 'The token names an unknown user'],
      ];
      for (const [token, message] of refusals) {
        const err = await authenticate(event(token), deps).catch((e: AppError) => e);
        expect(err).toMatchObject({ status: 401, code: 'unauthorized', message });
      }
    } finally {
      await db.sequelize.close();
      await testDb.drop();
    }
  });
});
