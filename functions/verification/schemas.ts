import { z } from 'zod';

const channel = z.enum(['phone', 'email']);

/** POST /verification/codes */
export const issueCodeBody = z.object({ channel }).strict();

/**
 * POST /verification/verify. The configured length is checked by the service
 * (before any attempt is counted); the schema bounds the type and size.
 */
export const verifyCodeBody = z
  .object({
    channel,
    code: z
      .string()
      .max(10)
      .regex(/^[0-9]+$/, 'must be digits'),
  })
  .strict();
