import * as z from 'zod/mini';
import { EVENT_TYPES } from '../../lib/events/types';
import { queryInteger } from '../queryParams';
import { channel } from './codeSchemas';

export { issueCodeBody, verifyCodeBody } from './codeSchemas';

const USER_ID_MESSAGE = 'must be a user id: a whole number from 1 to 2147483647';

/** A path user id: a positive integer in canonical form that fits users.id (int4). */
export const userIdParam = z.pipe(
  z.string().check(
    z.regex(/^[1-9][0-9]{0,9}$/, USER_ID_MESSAGE),
    z.refine((s) => Number(s) <= 2147483647, USER_ID_MESSAGE),
  ),
  z.transform(Number),
);

/** POST /users/{id}/verification/revoke. */
export const revokeBody = z.strictObject({
  channel,
  reason: z.string().check(
    z.maxLength(2000),
    z.refine((s) => s.trim().length > 0, 'must be 1 to 2000 characters, not only spaces'),
  ),
});

/** GET /users/{id}/verification/events and /users/me/verification/events. */
export const eventsQuery = z.strictObject({
  type: z.optional(z.enum(EVENT_TYPES)),
  limit: z.optional(queryInteger(1, 100)),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
});
