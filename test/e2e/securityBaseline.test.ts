import { SignJWT } from 'jose';
import type { Database } from '../../lib/db';
import { ApiCall, expectErrorShape } from '../helpers/api';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { buildUser } from '../helpers/factories';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens';

/** The security baseline over HTTP, through serverless-offline. */

let stack: ApiStack;
let db: Database;
let api: ApiCall;

beforeAll(async () => {
  stack = await startApiStack();
  ({ db, api } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('tokens', () => {
  it('answers 401 to a well-signed token without exp', async () => {
    const user = await buildUser(db.models);
    const noExp = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(String(user.id))
      .setIssuedAt()
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const res = await api('GET', '/users/me/verification', { token: noExp });
    expectErrorShape(res, 401, 'unauthorized');
    const ok = await api('GET', '/users/me/verification', { token: await tokenFor(user.id) });
    expect(ok.status).toBe(200);
  });
});

describe('answers', () => {
  it('carry Cache-Control: no-store, successes and errors alike', async () => {
    const user = await buildUser(db.models);
    const ok = await api('GET', '/users/me/verification', { token: await tokenFor(user.id) });
    const refused = await api('GET', '/users/me/verification');
    const health = await api('GET', '/health');
    for (const res of [ok, refused, health]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });
});
