import * as z from 'zod/mini';

/**
 * 400 messages written for the person reading the answer, not for the
 * validator. zod/mini carries no texts of its own (every issue would read
 * "Invalid input"), so this module supplies them: `describeIssue` is installed
 * as zod's error map and says what is wrong with a value ("is required", "must
 * be at most 100"); `messageFor` puts the name of the offending input in front
 * ("the query parameter limit must be at most 100"). A check that carries its
 * own message (`z.regex(re, 'must be a uuid')`) keeps it.
 */

/** Where a validated value came from: the message names it. */
export type InputSource = { kind: 'body' } | { kind: 'query' } | { kind: 'path'; name: string };

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a JSON object',
  record: 'a JSON object',
  array: 'a list',
};

/** `"a"`, `"a" or "b"`, `one of "a", "b", "c"`. */
function choices(values: readonly unknown[]): string {
  const shown = values.map((v) => JSON.stringify(v));
  if (shown.length === 1) return `${shown[0]}`;
  if (shown.length === 2) return `${shown[0]} or ${shown[1]}`;
  return `one of ${shown.join(', ')}`;
}

/** What is wrong with a value, as the end of a sentence whose subject is the value. */
export function describeIssue(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      // API Gateway joins a repeated query parameter's values with commas.
      if (typeof issue.input === 'string' && issue.input.includes(',')) {
        return `was given more than once: give it once, as ${choices(issue.values)}`;
      }
      return `must be ${choices(issue.values)}`;
    case 'too_small':
      if (issue.origin === 'string') {
        return Number(issue.minimum) <= 1
          ? 'must not be empty'
          : `must be at least ${issue.minimum} characters long`;
      }
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters long`;
      return `must be at most ${issue.maximum}`;
    case 'invalid_format':
      return 'is not in the expected format';
    default:
      return 'is not valid';
  }
}

/** The subject of the message: which field, parameter or body. */
function subject(path: readonly PropertyKey[], source: InputSource): string {
  const field = path.map(String).join('.');
  if (source.kind === 'path') return `the path parameter ${source.name}`;
  if (source.kind === 'query') return field ? `the query parameter ${field}` : 'the query string';
  return field || 'the body';
}

/** One sentence for the first problem zod found. */
export function messageFor(error: z.core.$ZodError, source: InputSource): string {
  const issue = error.issues[0];
  if (!issue) return 'The request is not valid';
  if (issue.code === 'unrecognized_keys') {
    const what = source.kind === 'query' ? 'query parameter' : 'field';
    const plural = issue.keys.length > 1 ? 's' : '';
    return `Unknown ${what}${plural}: ${issue.keys.join(', ')}`;
  }
  // A body field keeps its own spelling ("userId must be ..."); the other
  // subjects are phrases and start the sentence with a capital.
  const said = subject(issue.path, source);
  const lead = said.startsWith('the ') ? `T${said.slice(1)}` : said;
  return `${lead} ${issue.message}`;
}

z.config({ customError: describeIssue });
