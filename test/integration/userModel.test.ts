import { createDatabase, Database } from '../../lib/db';
import { QueryTypes } from 'sequelize';
import {
  Channel,
  VERIFICATION_STATUSES,
  VerificationStatus,
  withChannelVerified,
  withChannelVerifiedSql,
} from '../../models';
import { createTestDatabase, TestDatabase } from '../helpers/testDatabase';

let testDb: TestDatabase;
let db: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = createDatabase({ databaseUrl: testDb.url, caFile: undefined, connectTimeoutMs: 3000 });
});

afterAll(async () => {
  await db.sequelize.close();
  await testDb.drop();
});

const expected: Record<VerificationStatus, { phone: boolean; email: boolean }> = {
  unverified: { phone: false, email: false },
  phone_verified: { phone: true, email: false },
  email_verified: { phone: false, email: true },
  verified: { phone: true, email: true },
};

describe('User virtual properties', () => {
  it.each(VERIFICATION_STATUSES)('reflect the stored status %s', async (status) => {
    const created = await db.models.User.create({
      email: `${status}@example.com`,
      phone: null,
      name: 'Test',
      verificationStatus: status,
    });
    const user = await db.models.User.findByPk(created.id, { rejectOnEmpty: true });
    const e = expected[status];
    expect(user.isPhoneVerified).toBe(e.phone);
    expect(user.isEmailVerified).toBe(e.email);
    expect(user.verificationInfo).toEqual({
      userId: created.id,
      status,
      isPhoneVerified: e.phone,
      isEmailVerified: e.email,
      isFullyVerified: e.phone && e.email,
    });
    expect(user.toJSON()).toMatchObject({ isPhoneVerified: e.phone, isEmailVerified: e.email });
  });

  it('defaults a new user to unverified with role user', async () => {
    const user = await db.models.User.create({ email: 'new@example.com', phone: null, name: null });
    await user.reload();
    expect(user.verificationStatus).toBe('unverified');
    expect(user.role).toBe('user');
    expect(user.isStaff).toBe(false);
  });

  it('drops a verified channel when its address changes, keeping the other', async () => {
    const user = await db.models.User.create({
      email: 'both@example.com',
      phone: '+15550001111',
      name: null,
      verificationStatus: 'verified',
    });
    await db.sequelize.query(`UPDATE users SET email = 'changed@example.com' WHERE id = $1`, {
      bind: [user.id],
    });
    await user.reload();
    expect(user.verificationStatus).toBe('phone_verified');
    await db.sequelize.query(`UPDATE users SET phone = '+15550002222' WHERE id = $1`, {
      bind: [user.id],
    });
    await user.reload();
    expect(user.verificationStatus).toBe('unverified');
  });

  it('keeps the status when an update writes the same address', async () => {
    const user = await db.models.User.create({
      email: 'same@example.com',
      phone: null,
      name: null,
      verificationStatus: 'email_verified',
    });
    await db.sequelize.query(`UPDATE users SET email = email, name = 'x' WHERE id = $1`, {
      bind: [user.id],
    });
    await user.reload();
    expect(user.verificationStatus).toBe('email_verified');
  });
});

describe('withChannelVerifiedSql', () => {
  const cases = VERIFICATION_STATUSES.flatMap((status) =>
    (['phone', 'email'] as Channel[]).map((channel) => [status, channel] as const),
  );

  it.each(cases)(
    'computes in PostgreSQL what withChannelVerified(%s, %s) does',
    async (status, channel) => {
      const [row] = await db.sequelize.query<{ status: string }>(
        `SELECT ${withChannelVerifiedSql('s', channel)} AS status
       FROM (SELECT $1::enum_users_verification_status AS s) t`,
        { bind: [status], type: QueryTypes.SELECT },
      );
      expect(row?.status).toBe(withChannelVerified(status, channel));
    },
  );
});
