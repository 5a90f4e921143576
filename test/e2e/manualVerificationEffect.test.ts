import type { Database } from '../../lib/db';
import { ApiCall } from '../helpers/api';
import { buildUser } from '../helpers/factories';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { tokenFor } from '../helpers/tokens';

/**
 * An approved manual_verification request shows in GET /users/{id}/verification
 * (that route comes from the verification API; enable this file once both are merged).
 */

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

it('approving manual_verification joins the channel to the verified ones, over HTTP', async () => {
  const user = await buildUser(db.models, { verificationStatus: 'email_verified' });
  const staff = await buildUser(db.models, { role: 'staff' });
  const userToken = await tokenFor(user.id);
  const staffToken = await tokenFor(staff.id);

  const before = await api('GET', `/users/${user.id}/verification`, { token: staffToken });
  expect(before.status).toBe(200);
  expect(before.body).toEqual({
    userId: user.id,
    status: 'email_verified',
    isPhoneVerified: false,
    isEmailVerified: true,
    isFullyVerified: false,
  });

  const filed = await api<{ id: string }>('POST', '/staff-approval-requests', {
    token: userToken,
    body: { requestType: 'manual_verification', details: { channel: 'phone' } },
  });
  expect(filed.status).toBe(201);
  const approved = await api('POST', `/staff-approval-requests/${filed.body.id}/approve`, {
    token: staffToken,
    body: { note: 'checked the ID document' },
  });
  expect(approved.status).toBe(200);

  const expected = {
    userId: user.id,
    status: 'verified',
    isPhoneVerified: true,
    isEmailVerified: true,
    isFullyVerified: true,
  };
  for (const token of [staffToken, userToken]) {
    const after = await api('GET', `/users/${user.id}/verification`, { token });
    expect(after.status).toBe(200);
    expect(after.body).toEqual(expected);
  }
  const mine = await api('GET', '/users/me/verification', { token: userToken });
  expect(mine.status).toBe(200);
  expect(mine.body).toEqual(expected);
});
