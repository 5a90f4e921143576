import * as z from 'zod/mini';
import { isLanguageTag } from '../../lib/delivery/locale';
import { EVENT_TYPES } from '../../lib/events/types';
import { queryInteger } from '../queryParams';

const channel = z.enum(['phone', 'email']);
const USER_ID_MESSAGE = 'must be a user id: a whole number from 1 to 2147483647';

/** POST /verification/codes. `locale` chooses the message's language (else Accept-Language). */
export const issueCodeBody = z.strictObject({
  channel,
  locale: z.optional(
    z
      .string()
      .check(z.refine(isLanguageTag, 'must be a BCP 47 language tag, such as "es" or "pt-BR"')),
  ),
});

/**
 * POST /verification/verify. The configured length is checked by the service
 * (before any attempt is counted); the schema bounds the type and size.
 */
export const verifyCodeBody = z.strictObject({
  channel,
  code: z
    .string()
    .check(z.maxLength(10), z.regex(/^[0-9]+$/, 'must be a string of digits, such as "012345"')),
});

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
