import * as z from 'zod/mini';

const channel = z.enum(['phone', 'email']);

/** POST /verification/codes */
export const issueCodeBody = z.strictObject({ channel });

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
