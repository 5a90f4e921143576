import * as z from 'zod/mini';

/**
 * Query strings arrive as text: a whole number from `min` to `max`, parsed
 * here strictly, with one message for every way to miss (`-1`, `1.5`, `101`).
 * Shared by the list endpoints; it imports zod alone, so every bundle may
 * carry it.
 */
export const queryInteger = (min: number, max: number, what = 'a whole number') => {
  const message = `must be ${what} from ${min} to ${max}`;
  return z.pipe(
    z.string().check(z.regex(/^\d{1,12}$/, message)),
    z.pipe(z.transform(Number), z.number().check(z.gte(min, message), z.lte(max, message))),
  );
};
