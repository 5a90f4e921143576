import { randomBytes } from 'node:crypto';
import type { Models, Role, User, VerificationStatus } from '../../models';

let counter = 0;

/** A unique suffix, so that tests sharing a database never collide. */
export function unique(): string {
  counter += 1;
  return `${process.pid}${counter}${randomBytes(3).toString('hex')}`;
}

/** A phone number in E.164 that no other test process or call uses. */
export function uniquePhone(): string {
  counter += 1;
  const pid = String(process.pid % 100000).padStart(5, '0');
  return `+1${pid}${String(counter).padStart(6, '0')}`;
}

export interface UserOverrides {
  email?: string | null;
  phone?: string | null;
  name?: string | null;
  role?: Role;
  verificationStatus?: VerificationStatus;
}

export async function buildUser(models: Models, overrides: UserOverrides = {}): Promise<User> {
  const id = unique();
  return models.User.create({
    email: overrides.email === undefined ? `user-${id}@example.com` : overrides.email,
    phone: overrides.phone === undefined ? uniquePhone() : overrides.phone,
    name: overrides.name === undefined ? `User ${id}` : overrides.name,
    role: overrides.role ?? 'user',
    verificationStatus: overrides.verificationStatus ?? 'unverified',
  });
}
