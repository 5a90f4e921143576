import * as z from 'zod/mini';
import { jsonDeeperThan } from '../../lib/jsonDepth';
import { REQUEST_STATUSES } from '../../models';
import { queryInteger } from '../queryParams';

/**
 * One schema per endpoint (SPEC §4): bodies and query strings are strict, so an
 * unknown field is a 400. Path ids are checked with `requestIdSchema`. Written
 * with zod/mini's functions (`.check(...)`) rather than full zod's methods, so a
 * bundle carries only the checks used here (see `lib/http.ts`).
 */

/** Any uuid PostgreSQL accepts, in its canonical 8-4-4-4-12 form. */
export const requestIdSchema = z.pipe(
  z
    .string()
    .check(
      z.regex(
        /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
        'must be a uuid (such as 3f2c6b0e-8d4a-4c1e-9b7a-5d2f1e0c9a84)',
      ),
    ),
  z.transform((id: string) => id.toLowerCase()),
);

export const MAX_DETAILS_BYTES = 4096;
export const MAX_DETAILS_DEPTH = 8;
export const MAX_NOTE_LENGTH = 2000;

// PostgreSQL text and jsonb refuse NUL, and jsonb refuses unpaired surrogates:
// refuse them here so they are a 400, not a database error.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const storableText = (s: string) => !s.includes('\0') && !LONE_SURROGATE.test(s);

/** Every string and key storable; iterative (the depth is checked first, without recursion). */
function storableJson(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node === 'string') {
      if (!storableText(node)) return false;
    } else if (Array.isArray(node)) {
      stack.push(...node);
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (!storableText(k)) return false;
        stack.push(v);
      }
    }
  }
  return true;
}

// The depth check runs first and aborts: JSON.stringify below recurses.
const detailsSchema = z.record(z.string(), z.unknown()).check(
  z.refine((d) => !jsonDeeperThan(d, MAX_DETAILS_DEPTH), {
    message: `must nest at most ${MAX_DETAILS_DEPTH} levels`,
    abort: true,
  }),
  z.refine(
    (d) => Buffer.byteLength(JSON.stringify(d), 'utf8') <= MAX_DETAILS_BYTES,
    `must be at most ${MAX_DETAILS_BYTES} bytes of JSON`,
  ),
  z.refine(storableJson, 'must contain no NUL characters or unpaired surrogates'),
);

const noteSchema = z
  .string()
  .check(
    z.maxLength(MAX_NOTE_LENGTH),
    z.refine(storableText, 'contains characters that cannot be stored'),
  );

const userIdSchema = z.number().check(z.int(), z.gte(1), z.lte(2147483647));

export const createRequestSchema = z.strictObject({
  requestType: z
    .string()
    .check(
      z.regex(
        /^[a-z][a-z0-9_]{2,63}$/,
        'must be 3 to 64 characters: a lowercase letter, then lowercase letters, digits or underscores',
      ),
    ),
  details: z.optional(detailsSchema),
  userId: z.optional(userIdSchema),
});
export type CreateRequestBody = z.infer<typeof createRequestSchema>;

export const listQuerySchema = z.strictObject({
  status: z.optional(z.enum(REQUEST_STATUSES)),
  userId: z.optional(queryInteger(1, 2147483647, 'a user id: a whole number')),
  limit: z.optional(queryInteger(1, 100)),
  cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
});
export type ListQuery = z.infer<typeof listQuerySchema>;

export const approveBodySchema = z.strictObject({ note: z.optional(noteSchema) });

export const rejectBodySchema = z.strictObject({
  note: noteSchema.check(z.refine((s) => s.trim().length > 0, 'must not be empty')),
});

/** Cancel takes no input: no body, or an empty JSON object. */
export const cancelBodySchema = z.strictObject({});
