import { SignJWT } from 'jose';

/** The HS256 secret the tests configure the functions with. */
export const TEST_JWT_SECRET = 'test-secret-for-hs256-at-least-32-characters-long';

export async function tokenFor(
  userId: number | string,
  opts: {
    secret?: string;
    expiresIn?: string;
    claims?: Record<string, unknown>;
    claim?: string;
  } = {},
): Promise<string> {
  const claim = opts.claim ?? 'sub';
  const jwt = new SignJWT({
    ...opts.claims,
    ...(claim === 'sub' ? {} : { [claim]: String(userId) }),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '1h');
  if (claim === 'sub') jwt.setSubject(String(userId));
  return jwt.sign(new TextEncoder().encode(opts.secret ?? TEST_JWT_SECRET));
}
