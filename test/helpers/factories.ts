import { randomBytes } from 'node:crypto';
import type { Models, Role, User, VerificationStatus } from '../../models';

let counter = 0;

/** A unique suffix, so that tests sharing a database never collide. */
export function unique(): string {
  counter += 1;
  return `${process.pid}${counter}${randomBytes(3).toString('hex')}`;
}

// Area codes whose every exchange from 200 to 999 libphonenumber-js accepts.
const AREA_CODES = ['201', '202', '203', '205', '206', '207', '208', '209', '212', '213'];

/**
 * A valid US number in E.164 that no other call in this process uses (and,
 * by its exchange taken from the process id, most likely no other process).
 */
export function uniquePhone(): string {
  counter += 1;
  const area = AREA_CODES[Math.floor(counter / 10000) % AREA_CODES.length] as string;
  const exchange = 200 + (process.pid % 800);
  return `+1${area}${exchange}${String(counter % 10000).padStart(4, '0')}`;
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
