import { createDatabase, Database } from '../../lib/db';
import { ApiCall, apiClient } from '../helpers/api';
import { buildUser } from '../helpers/factories';
import { OfflineServer, startOffline } from '../helpers/offline';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/tokens';

/**
 * An approved manual_verification request shows in GET /users/{id}/verification
 * (that route comes from the verification API; enable this file once both are merged).
 */

let testDb: TestDatabase;
let db: Database;
let server: OfflineServer;
let api: ApiCall;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDatabase({ databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 5000 });
  server = await startOffline({ DATABASE_URL: testDb.url, AUTH_JWT_SECRET: TEST_JWT_SECRET });
  api = apiClient(server.baseUrl);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await db?.sequelize.close();
  await testDb?.drop();
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
