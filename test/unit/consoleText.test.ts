import { ERRORS } from '../../lib/errors';
import {
  filtersFromQuery,
  listPath,
  MAX_SCAN_PAGES,
  PAGE_SIZE,
  queryFromFilters,
  readScreen,
  SCAN_PAGE_SIZE,
} from '../../console/src/queue';
import { CONSOLE_ERROR_CODES, describeFailure, ERROR_TEXT } from '../../console/src/text/errors';
import { actorText, describeEvent } from '../../console/src/text/events';
import { decidedText } from '../../console/src/text/requests';
import { queryHasToken, tokenExpiry, tokenFromFragment } from '../../console/src/token';
import type {
  ApprovalRequest,
  EventType,
  RequestPage,
  VerificationEvent,
} from '../../console/src/types';
import { EVENT_TYPES } from '../../console/src/types';

// The staff console's logic that needs no page: error words, event words,
// the token in the address, the queue's paging. The page itself is tested in
// Chromium (test/browser/console.test.ts).

describe('error words', () => {
  it('has words for every code the API can answer, and for the console’s own', () => {
    expect(Object.keys(ERROR_TEXT).sort()).toEqual(
      [...Object.keys(ERRORS), ...CONSOLE_ERROR_CODES].sort(),
    );
  });

  it('says what the code means, then the service’s message, then when to retry', () => {
    expect(
      describeFailure({
        status: 503,
        code: 'service_unavailable',
        message: 'The service is temporarily unavailable; try again shortly',
        retryAfter: 5,
      }),
    ).toEqual({
      summary: 'The service is temporarily unavailable: its database did not answer.',
      detail: 'The service is temporarily unavailable; try again shortly. Try again in 5 seconds.',
    });
    expect(describeFailure({ status: 409, code: 'not_pending', message: 'Done.' })).toEqual({
      summary: 'This request has already been decided or cancelled.',
      detail: 'Done.',
    });
  });

  it('still says something for a code it does not know', () => {
    expect(describeFailure({ status: 418, code: 'teapot', message: 'short and stout' })).toEqual({
      summary: 'The service refused the request (418, teapot).',
      detail: 'short and stout.',
    });
  });
});

const event = (
  type: EventType,
  details: Record<string, unknown>,
  extra: Partial<VerificationEvent> = {},
): VerificationEvent => ({
  id: '1',
  type,
  channel: 'email',
  actorId: null,
  details,
  createdAt: '2026-11-30T09:14:05.120Z',
  ...extra,
});

describe('event words', () => {
  it('describes every event type', () => {
    const examples: Record<EventType, [Record<string, unknown>, string]> = {
      code_sent: [
        { codeId: 'c', destination: 'j***@example.com', locale: 'fr' },
        'Code sent by email to j***@example.com (language fr)',
      ],
      code_delivery_failed: [{ codeId: 'c' }, 'An email code could not be delivered'],
      code_verified: [{ codeId: 'c' }, 'Email verified with a code'],
      code_rejected: [
        { codeId: 'c', attemptsRemaining: 0 },
        'Wrong email code entered (no attempts left)',
      ],
      status_changed: [
        { from: 'verified', to: 'phone_verified', cause: 'revocation' },
        'Status changed from "Phone and email verified" to "Phone verified": staff revoked it',
      ],
      verification_revoked: [
        { reason: 'mailbox taken over' },
        'Email verification revoked. Reason: mailbox taken over',
      ],
      approval_requested: [
        { requestId: 'r', requestType: 'manual_verification' },
        'Request filed: manual_verification',
      ],
      approval_decided: [{ requestId: 'r', decision: 'approved' }, 'Request approved'],
    };
    expect(Object.keys(examples).sort()).toEqual([...EVENT_TYPES].sort());
    for (const [type, [details, words]] of Object.entries(examples)) {
      expect(describeEvent(event(type as EventType, details))).toBe(words);
    }
    expect(
      describeEvent(event('code_rejected', { attemptsRemaining: 1 }, { channel: 'phone' })),
    ).toBe('Wrong phone code entered (1 attempt left)');
  });

  it('names who acted: staff, the database for an address change, else the user', () => {
    expect(actorText(event('verification_revoked', {}, { actorId: 7 }))).toBe('user 7');
    expect(actorText(event('status_changed', { cause: 'address_change' }))).toBe(
      'the database (an address changed)',
    );
    expect(actorText(event('code_sent', {}))).toBe('the user');
  });
});

const request = (overrides: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  id: '3f2b8c1e-6a4d-4f0e-9b7a-2c5d8e1f0a93',
  userId: 4,
  requestedBy: 4,
  requestType: 'manual_verification',
  details: {},
  status: 'pending',
  reviewedBy: null,
  reviewedAt: null,
  reviewNote: null,
  createdAt: '2026-11-30T09:00:00.000Z',
  updatedAt: '2026-11-30T09:00:00.000Z',
  ...overrides,
});

describe('who decided', () => {
  it('names the reviewer, the time and the note, or the requester who cancelled', () => {
    expect(
      decidedText(
        request({
          status: 'approved',
          reviewedBy: 7,
          reviewedAt: '2026-11-30T10:14:05.000Z',
          reviewNote: 'seen on a call',
        }),
      ),
    ).toBe('It was approved by user 7 on 30 Nov 2026, 10:14:05 UTC. Their note: seen on a call.');
    expect(decidedText(request({ status: 'rejected', reviewedBy: null }))).toBe(
      'It was rejected by a deleted account.',
    );
    expect(
      decidedText(request({ status: 'cancelled', updatedAt: '2026-11-30T11:00:00.000Z' })),
    ).toBe('It was cancelled by its requester (user 4) on 30 Nov 2026, 11:00:00 UTC.');
  });
});

describe('the token in the address', () => {
  const jwt = (payload: object) =>
    ['e30', Buffer.from(JSON.stringify(payload)).toString('base64url'), 'sig'].join('.');

  it('takes a token only from a #token= fragment', () => {
    expect(tokenFromFragment('#token=abc.def.ghi')).toBe('abc.def.ghi');
    expect(tokenFromFragment('#token=')).toBeUndefined();
    expect(tokenFromFragment('#/queue?token=abc')).toBeUndefined();
    expect(tokenFromFragment('')).toBeUndefined();
  });

  it('notices a token in the query string', () => {
    expect(queryHasToken('?token=abc')).toBe(true);
    expect(queryHasToken('?x=1')).toBe(false);
  });

  it('reads exp without trusting anything else', () => {
    expect(tokenExpiry(jwt({ sub: '1', exp: 1796050078 }))).toBe(1796050078000);
    // base64url characters that base64 spells differently (- and _).
    expect(tokenExpiry(jwt({ n: '>>>???', exp: 2 }))).toBe(2000);
    expect(tokenExpiry(jwt({ sub: '1' }))).toBeUndefined();
    expect(tokenExpiry('not a token')).toBeUndefined();
    expect(tokenExpiry('a.!!!.c')).toBeUndefined();
  });
});

describe('the queue', () => {
  it('keeps its filters in the address: pending unless told, any for every status', () => {
    expect(filtersFromQuery(new URLSearchParams(''))).toEqual({
      status: 'pending',
      requestType: undefined,
      userId: undefined,
    });
    const filters = filtersFromQuery(new URLSearchParams('status=any&type=kyc_check&user=12'));
    expect(filters).toEqual({ status: undefined, requestType: 'kyc_check', userId: '12' });
    expect(filtersFromQuery(new URLSearchParams(queryFromFilters(filters)))).toEqual(filters);
  });

  it('asks the API for status, user and limit; the type is matched here', () => {
    expect(listPath({ status: 'pending', requestType: 'x_y', userId: '3' }, 20, 'c1')).toBe(
      'staff-approval-requests?status=pending&userId=3&limit=20&cursor=c1',
    );
  });

  const rows = (n: number, type: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => request({ id: String(i), requestType: type(i) }));

  it('reads one page of PAGE_SIZE without a type filter', async () => {
    const asked: string[] = [];
    const screen = await readScreen(
      async (path) => {
        asked.push(path);
        return { items: rows(PAGE_SIZE, () => 'a_b'), nextCursor: 'next' };
      },
      { status: 'pending', requestType: undefined, userId: undefined },
      'start',
    );
    expect(asked).toEqual([
      `staff-approval-requests?status=pending&limit=${PAGE_SIZE}&cursor=start`,
    ]);
    expect(screen).toMatchObject({ cursor: 'next', scanned: PAGE_SIZE });
  });

  it('with a type filter, reads pages until a screen is full, the list ends or the scan limit', async () => {
    // One match in four: a screen of PAGE_SIZE takes a page of 100 (25 matches).
    let pages = 0;
    const page = async (): Promise<RequestPage> => {
      pages += 1;
      return {
        items: rows(SCAN_PAGE_SIZE, (i) => (i % 4 === 0 ? 'wanted' : 'other')),
        nextCursor: `c${pages}`,
      };
    };
    const filters = { status: undefined, requestType: 'wanted', userId: undefined };
    expect(await readScreen(page, filters, null)).toMatchObject({ cursor: 'c1', scanned: 100 });
    expect(pages).toBe(1);

    // No match anywhere: stops after MAX_SCAN_PAGES, with a cursor to go on from.
    pages = 0;
    const none = await readScreen(
      async () => ({ items: rows(SCAN_PAGE_SIZE, () => 'other'), nextCursor: `n${++pages}` }),
      filters,
      null,
    );
    expect(none).toEqual({
      items: [],
      cursor: `n${MAX_SCAN_PAGES}`,
      scanned: MAX_SCAN_PAGES * 100,
    });

    // The list ends: no cursor.
    const end = await readScreen(
      async () => ({ items: rows(3, () => 'wanted'), nextCursor: null }),
      filters,
      null,
    );
    expect(end).toMatchObject({ cursor: null, scanned: 3 });
    expect(end.items).toHaveLength(3);
  });
});
