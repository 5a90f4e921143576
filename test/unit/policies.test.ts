import { AppError } from '../../lib/errors';
import {
  canCancelRequest,
  canFileRequestAbout,
  canListRequestsAbout,
  canReadVerification,
  canReviewRequest,
  canSeeRequest,
  Caller,
  RequestParties,
  requireStaff,
} from '../../lib/policies';

const SUBJECT = 1;
const REQUESTER = 2;
const OTHER = 3;
const user = (id: number): Caller => ({ id, isStaff: false });
const staff = (id: number): Caller => ({ id, isStaff: true });

/** A request from REQUESTER about SUBJECT, or (requester gone) with requestedBy null. */
const request: RequestParties = { userId: SUBJECT, requestedBy: REQUESTER };
const orphan: RequestParties = { userId: SUBJECT, requestedBy: null };
const selfFiled: RequestParties = { userId: SUBJECT, requestedBy: SUBJECT };

describe('staff approval request policies', () => {
  // caller, request, see, review, cancel
  it.each([
    ['the subject', user(SUBJECT), request, true, false, false],
    ['the requester', user(REQUESTER), request, true, false, true],
    ['another user', user(OTHER), request, false, false, false],
    ['staff, the subject', staff(SUBJECT), request, true, false, false],
    ['staff, the requester', staff(REQUESTER), request, true, false, true],
    ['other staff', staff(OTHER), request, true, true, false],
    ['other staff, requester gone', staff(OTHER), orphan, true, true, false],
    ['the subject, requester gone', user(SUBJECT), orphan, true, false, false],
    ['staff, subject and requester', staff(SUBJECT), selfFiled, true, false, true],
    ['the subject who filed it', user(SUBJECT), selfFiled, true, false, true],
  ] as const)('%s: see %s, review %s, cancel %s', (_who, caller, req, see, review, cancel) => {
    expect(canSeeRequest(caller, req)).toBe(see);
    expect(canReviewRequest(caller, req)).toBe(review);
    expect(canCancelRequest(caller, req)).toBe(cancel);
  });

  // caller, subject, file, list
  it.each([
    ['a user about themselves', user(SUBJECT), SUBJECT, true, true],
    ['a user about another', user(SUBJECT), OTHER, false, false],
    ['staff about another', staff(SUBJECT), OTHER, true, true],
    ['a user, no subject named', user(SUBJECT), undefined, undefined, true],
  ] as const)('%s: file %s, list %s', (_who, caller, subject, file, list) => {
    if (subject !== undefined) expect(canFileRequestAbout(caller, subject)).toBe(file);
    expect(canListRequestsAbout(caller, subject)).toBe(list);
  });

  it('lets only staff review, with a 403 forbidden for anyone else', () => {
    expect(() => requireStaff(staff(OTHER))).not.toThrow();
    let thrown: unknown;
    try {
      requireStaff(user(OTHER));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect(thrown).toMatchObject({ status: 403, code: 'forbidden' });
  });
});

describe('verification policies', () => {
  it.each([
    ['a user, their own', user(SUBJECT), SUBJECT, true],
    ['a user, another', user(SUBJECT), OTHER, false],
    ['staff, another', staff(SUBJECT), OTHER, true],
  ] as const)('%s: read %s', (_who, caller, userId, read) => {
    expect(canReadVerification(caller, userId)).toBe(read);
  });
});
