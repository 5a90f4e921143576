import { forbidden } from './errors';

/**
 * Every authorization rule of the API, in one place: who may see a staff
 * approval request, file, list, review or cancel one, and read another user's
 * verification. Rules are predicates; the caller decides the answer (a 403, or
 * a 404 that hides whether the thing exists). Where a rule must hold at the
 * moment of a write, the service repeats it in that statement's WHERE clause
 * and names the rule beside it.
 */

/** Who is calling: the signed-in user (a User model satisfies this). */
export interface Caller {
  id: number;
  isStaff: boolean;
}

/** The people a staff approval request is about and from. */
export interface RequestParties {
  /** The subject. */
  userId: number;
  /** The requester; null once that user is deleted. */
  requestedBy: number | null;
}

const isParty = (caller: Caller, request: RequestParties) =>
  request.userId === caller.id || request.requestedBy === caller.id;

/** Staff see every request; others see those they filed or that are about them. */
export const canSeeRequest = (caller: Caller, request: RequestParties): boolean =>
  caller.isStaff || isParty(caller, request);

/** Anyone may file a request about themselves; only staff about another user. */
export const canFileRequestAbout = (caller: Caller, subjectId: number): boolean =>
  caller.isStaff || subjectId === caller.id;

/** Listing by subject: one's own requests, or anyone's for staff (no subject: what one can see). */
export const canListRequestsAbout = (caller: Caller, subjectId: number | undefined): boolean =>
  subjectId === undefined || caller.isStaff || subjectId === caller.id;

/** A reviewer is staff, and neither the requester nor the subject (maker-checker). */
export const canReviewRequest = (caller: Caller, request: RequestParties): boolean =>
  caller.isStaff && !isParty(caller, request);

/** Only the requester may withdraw a request. */
export const canCancelRequest = (caller: Caller, request: RequestParties): boolean =>
  request.requestedBy === caller.id;

/** Staff may read any user's verification; anyone else only their own. */
export const canReadVerification = (caller: Caller, userId: number): boolean =>
  caller.isStaff || caller.id === userId;

/** Staff see the address a manual verification recorded whole; anyone else masked. */
export const canSeeFullDestination = (caller: Caller): boolean => caller.isStaff;

/** Approve and reject are for staff only, checked before anything else (SPEC §4). */
export function requireStaff(caller: Caller): void {
  if (!caller.isStaff) throw forbidden('Only staff may review requests');
}
