import { AppError } from '../../lib/errors';
import { validate } from '../../lib/http';
import type { InputSource } from '../../lib/validationMessages';
import {
  approveBodySchema,
  cancelBodySchema,
  createRequestSchema,
  listQuerySchema,
  rejectBodySchema,
  requestIdSchema,
} from '../../functions/staffApprovals/schemas';
import { issueCodeBody, verifyCodeBody } from '../../functions/verification/schemas';

/** The 400 message `validate` answers for a value, or the parsed value when it passes. */
function outcome(
  schema: Parameters<typeof validate>[0],
  value: unknown,
  source: InputSource = { kind: 'body' },
): unknown {
  try {
    return { ok: validate(schema, value, source) };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    expect(err).toMatchObject({ status: 400, code: 'invalid_request' });
    return err.message;
  }
}

// The messages clients get, written for a person: they name the field, query
// parameter or path parameter and say what is wrong in words.
describe('endpoint schemas: 400 messages and parsed values', () => {
  it.each([
    [issueCodeBody, { channel: 'email' }, { ok: { channel: 'email' } }],
    [issueCodeBody, {}, 'channel must be "phone" or "email"'],
    [issueCodeBody, { channel: 'EMAIL' }, 'channel must be "phone" or "email"'],
    [issueCodeBody, { channel: 'email', extra: 1 }, 'Unknown field: extra'],
    [issueCodeBody, 'email', 'The body must be a JSON object'],
    [verifyCodeBody, { channel: 'phone' }, 'code is required'],
    [verifyCodeBody, { channel: 'phone', code: 123456 }, 'code must be a string'],
    [
      verifyCodeBody,
      { channel: 'phone', code: '12345a' },
      'code must be a string of digits, such as "012345"',
    ],
    [
      verifyCodeBody,
      { channel: 'phone', code: '1'.repeat(11) },
      'code must be at most 10 characters long',
    ],
    [
      verifyCodeBody,
      { channel: 'phone', code: '0123' },
      { ok: { channel: 'phone', code: '0123' } },
    ],
  ])('verification %#', (schema, value, expected) => {
    expect(outcome(schema, value)).toEqual(expected);
  });

  it.each([
    [
      createRequestSchema,
      { requestType: 'abc', userId: 7 },
      { ok: { requestType: 'abc', userId: 7 } },
    ],
    [createRequestSchema, {}, 'requestType is required'],
    [
      createRequestSchema,
      { requestType: 'Abc' },
      'requestType must be 3 to 64 characters: a lowercase letter, then lowercase letters, digits or underscores',
    ],
    [createRequestSchema, { requestType: 'abc', userId: 1.5 }, 'userId must be a whole number'],
    [createRequestSchema, { requestType: 'abc', userId: 0 }, 'userId must be at least 1'],
    [
      createRequestSchema,
      { requestType: 'abc', userId: 2147483648 },
      'userId must be at most 2147483647',
    ],
    [createRequestSchema, { requestType: 'abc', details: [] }, 'details must be a JSON object'],
    [
      createRequestSchema,
      { requestType: 'abc', details: { pad: 'x'.repeat(5000) } },
      'details must be at most 4096 bytes of JSON',
    ],
    [
      createRequestSchema,
      { requestType: 'abc', details: { k: 'a\0' } },
      'details must contain no NUL characters or unpaired surrogates',
    ],
    [
      createRequestSchema,
      { requestType: 'abc', status: 'x', extra: 1 },
      'Unknown fields: status, extra',
    ],
    [approveBodySchema, {}, { ok: {} }],
    [approveBodySchema, { note: 'x'.repeat(2001) }, 'note must be at most 2000 characters long'],
    [approveBodySchema, { note: 'a\uD800b' }, 'note contains characters that cannot be stored'],
    [rejectBodySchema, { note: '  \t ' }, 'note must not be empty'],
    [rejectBodySchema, {}, 'note is required'],
    [cancelBodySchema, { note: 'x' }, 'Unknown field: note'],
  ])('staff approvals, bodies %#', (schema, value, expected) => {
    expect(outcome(schema, value)).toEqual(expected);
  });

  const path: InputSource = { kind: 'path', name: 'id' };
  const query: InputSource = { kind: 'query' };
  // Every row names its source: a row shorter than the test function's
  // parameter list would hand Jest a `done` callback instead.
  it.each([
    [
      requestIdSchema,
      '0000000A-0000-4000-8000-00000000000B',
      { ok: '0000000a-0000-4000-8000-00000000000b' },
      path,
    ],
    [
      requestIdSchema,
      'abc',
      'The path parameter id must be a uuid (such as 3f2c6b0e-8d4a-4c1e-9b7a-5d2f1e0c9a84)',
      path,
    ],
    [
      listQuerySchema,
      { status: 'pending', userId: '7', limit: '100' },
      { ok: { status: 'pending', userId: 7, limit: 100 } },
      query,
    ],
    [
      listQuerySchema,
      { status: 'bogus' },
      'The query parameter status must be one of "pending", "approved", "rejected", "cancelled"',
      query,
    ],
    [
      listQuerySchema,
      // API Gateway joins a repeated parameter's values with commas.
      { status: 'pending,approved' },
      'The query parameter status was given more than once: give it once, as one of "pending", "approved", "rejected", "cancelled"',
      query,
    ],
    ...['1.5', '-1', '0', '101', ''].map((limit) => [
      listQuerySchema,
      { limit },
      'The query parameter limit must be a whole number from 1 to 100',
      query,
    ]),
    [
      listQuerySchema,
      { userId: '2147483648' },
      'The query parameter userId must be a user id: a whole number from 1 to 2147483647',
      query,
    ],
    [listQuerySchema, { cursor: '' }, 'The query parameter cursor must not be empty', query],
    [listQuerySchema, { sort: 'x' }, 'Unknown query parameter: sort', query],
  ] as [Parameters<typeof validate>[0], unknown, unknown, InputSource][])(
    'staff approvals, path and query %#',
    (schema, value, expected, source) => {
      expect(outcome(schema, value, source)).toEqual(expected);
    },
  );
});
