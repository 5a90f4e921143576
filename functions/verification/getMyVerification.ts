import { httpHandler } from '../../lib/route';

/** GET /users/me/verification: the caller's VerificationInfo. */
export const handler = httpHandler({ auth: 'user' }, async ({ caller }) => caller.verificationInfo);
