import * as z from 'zod/mini';
import { isLanguageTag } from '../../lib/delivery/locale';

/**
 * The bodies of the send and the verify, apart from the other endpoints'
 * schemas (./schemas.ts): building a zod schema is work done at every cold
 * start of the bundle that holds it, and these two functions start most often
 * (BENCHMARKS.md).
 */
export const channel = z.enum(['phone', 'email']);

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
