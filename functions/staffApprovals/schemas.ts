import { z } from 'zod';
import { REQUEST_STATUSES } from '../../models';

/**
 * One schema per endpoint (SPEC §4): bodies and query strings are strict, so an
 * unknown field is a 400. Path ids are checked with `requestIdSchema`.
 */

/** Any uuid PostgreSQL accepts, in its canonical 8-4-4-4-12 form. */
export const requestIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
    message: 'must be a uuid',
  })
  .transform((id) => id.toLowerCase());

export const MAX_DETAILS_BYTES = 4096;
export const MAX_DETAILS_DEPTH = 8;
export const MAX_NOTE_LENGTH = 2000;

// PostgreSQL text and jsonb refuse NUL, and jsonb refuses unpaired surrogates:
// refuse them here so they are a 400, not a database error.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const storableText = (s: string) => !s.includes('\0') && !LONE_SURROGATE.test(s);

function storableJson(value: unknown, depth: number): boolean {
  if (depth > MAX_DETAILS_DEPTH) return false;
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.every((v) => storableJson(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).every(([k, v]) => storableText(k) && storableJson(v, depth + 1));
  }
  return true;
}

const detailsSchema = z
  .record(z.string(), z.unknown())
  .refine((d) => Buffer.byteLength(JSON.stringify(d), 'utf8') <= MAX_DETAILS_BYTES, {
    message: `must be at most ${MAX_DETAILS_BYTES} bytes of JSON`,
  })
  .refine((d) => storableJson(d, 1), {
    message: `must nest at most ${MAX_DETAILS_DEPTH} levels and contain no NUL characters or unpaired surrogates`,
  });

const noteSchema = z
  .string()
  .max(MAX_NOTE_LENGTH)
  .refine(storableText, { message: 'contains characters that cannot be stored' });

const userIdSchema = z.number().int().min(1).max(2147483647);

export const createRequestSchema = z
  .object({
    requestType: z.string().regex(/^[a-z][a-z0-9_]{2,63}$/, {
      message: 'must match ^[a-z][a-z0-9_]{2,63}$',
    }),
    details: detailsSchema.optional(),
    userId: userIdSchema.optional(),
  })
  .strict();
export type CreateRequestBody = z.infer<typeof createRequestSchema>;

/** Query strings arrive as text: numbers are parsed here, strictly. */
const wholeNumber = z.string().regex(/^\d{1,12}$/, { message: 'must be a whole number' });

export const listQuerySchema = z
  .object({
    status: z.enum(REQUEST_STATUSES).optional(),
    userId: wholeNumber.transform(Number).pipe(userIdSchema).optional(),
    limit: wholeNumber.transform(Number).pipe(z.number().int().min(1).max(100)).optional(),
    cursor: z.string().min(1).max(512).optional(),
  })
  .strict();
export type ListQuery = z.infer<typeof listQuerySchema>;

export const approveBodySchema = z.object({ note: noteSchema.optional() }).strict();

export const rejectBodySchema = z
  .object({
    note: noteSchema.refine((s) => s.trim().length > 0, { message: 'must not be empty' }),
  })
  .strict();

/** Cancel takes no input: no body, or an empty JSON object. */
export const cancelBodySchema = z.object({}).strict();
