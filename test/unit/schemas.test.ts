import { AppError } from '../../lib/errors';
import { validate } from '../../lib/http';
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
function outcome(schema: Parameters<typeof validate>[0], value: unknown): unknown {
  try {
    return { ok: validate(schema, value) };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    expect(err).toMatchObject({ status: 400, code: 'invalid_request' });
    return err.message;
  }
}

// The schemas use zod/mini with the English locale: these are the messages clients
// have been getting (from full zod), pinned so that a change of build shows here.
describe('endpoint schemas: 400 messages and parsed values', () => {
  it.each([
    [issueCodeBody, { channel: 'email' }, { ok: { channel: 'email' } }],
    [issueCodeBody, {}, 'channel: Invalid option: expected one of "phone"|"email"'],
    [
      issueCodeBody,
      { channel: 'EMAIL' },
      'channel: Invalid option: expected one of "phone"|"email"',
    ],
    [issueCodeBody, { channel: 'email', extra: 1 }, 'Unknown field(s): extra'],
    [issueCodeBody, 'email', 'body: Invalid input: expected object, received string'],
    [
      verifyCodeBody,
      { channel: 'phone' },
      'code: Invalid input: expected string, received undefined',
    ],
    [
      verifyCodeBody,
      { channel: 'phone', code: 123456 },
      'code: Invalid input: expected string, received number',
    ],
    [verifyCodeBody, { channel: 'phone', code: '12345a' }, 'code: must be digits'],
    [
      verifyCodeBody,
      { channel: 'phone', code: '1'.repeat(11) },
      'code: Too big: expected string to have <=10 characters',
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
      requestIdSchema,
      '0000000A-0000-4000-8000-00000000000B',
      { ok: '0000000a-0000-4000-8000-00000000000b' },
    ],
    [requestIdSchema, 'abc', 'body: must be a uuid'],
    [
      createRequestSchema,
      { requestType: 'abc', userId: 7 },
      { ok: { requestType: 'abc', userId: 7 } },
    ],
    [createRequestSchema, {}, 'requestType: Invalid input: expected string, received undefined'],
    [createRequestSchema, { requestType: 'Abc' }, 'requestType: must match ^[a-z][a-z0-9_]{2,63}$'],
    [
      createRequestSchema,
      { requestType: 'abc', userId: 1.5 },
      'userId: Invalid input: expected int, received number',
    ],
    [
      createRequestSchema,
      { requestType: 'abc', userId: 0 },
      'userId: Too small: expected number to be >=1',
    ],
    [
      createRequestSchema,
      { requestType: 'abc', userId: 2147483648 },
      'userId: Too big: expected number to be <=2147483647',
    ],
    [
      createRequestSchema,
      { requestType: 'abc', details: [] },
      'details: Invalid input: expected record, received array',
    ],
    [
      createRequestSchema,
      { requestType: 'abc', details: { pad: 'x'.repeat(5000) } },
      'details: must be at most 4096 bytes of JSON',
    ],
    [
      createRequestSchema,
      { requestType: 'abc', details: { k: 'a\0' } },
      'details: must nest at most 8 levels and contain no NUL characters or unpaired surrogates',
    ],
    [
      createRequestSchema,
      { requestType: 'abc', status: 'x', extra: 1 },
      'Unknown field(s): status, extra',
    ],
    [
      listQuerySchema,
      { status: 'pending', userId: '7', limit: '100' },
      { ok: { status: 'pending', userId: 7, limit: 100 } },
    ],
    [
      listQuerySchema,
      { status: 'bogus' },
      'status: Invalid option: expected one of "pending"|"approved"|"rejected"|"cancelled"',
    ],
    [listQuerySchema, { limit: '1.5' }, 'limit: must be a whole number'],
    [listQuerySchema, { limit: '101' }, 'limit: Too big: expected number to be <=100'],
    [
      listQuerySchema,
      { userId: '2147483648' },
      'userId: Too big: expected number to be <=2147483647',
    ],
    [listQuerySchema, { cursor: '' }, 'cursor: Too small: expected string to have >=1 characters'],
    [approveBodySchema, {}, { ok: {} }],
    [
      approveBodySchema,
      { note: 'x'.repeat(2001) },
      'note: Too big: expected string to have <=2000 characters',
    ],
    [approveBodySchema, { note: 'a\uD800b' }, 'note: contains characters that cannot be stored'],
    [rejectBodySchema, { note: '  \t ' }, 'note: must not be empty'],
    [rejectBodySchema, {}, 'note: Invalid input: expected string, received undefined'],
    [cancelBodySchema, { note: 'x' }, 'Unknown field(s): note'],
  ])('staff approvals %#', (schema, value, expected) => {
    expect(outcome(schema, value)).toEqual(expected);
  });
});
