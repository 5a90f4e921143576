import type { ApiFailure } from '../types';

/**
 * What each error code means to a member of staff, and what to do about it.
 * Shown above the service's own `error.message`, which says what exactly was
 * wrong. Every code the API can answer has an entry (a unit test compares
 * this table with the service's catalogue); the last two are the console's own.
 */
export const ERROR_TEXT: Readonly<Record<string, string>> = {
  invalid_request: 'The service did not accept what was sent.',
  unauthorized:
    'Your token was refused: it has expired, is not valid for this service, or its user no longer exists.',
  forbidden: 'Your account may not do this: it needs a staff account.',
  self_review:
    'Another member of staff must do this: you filed this request, it is about you, or it is your own verification.',
  not_found: 'Nothing was found: it does not exist, or your account cannot see it.',
  no_active_code: 'There is no active code for this channel.',
  already_verified: 'This channel is already verified.',
  duplicate_pending: 'A pending request of this type already exists for this user.',
  not_pending: 'This request has already been decided or cancelled.',
  destination_changed:
    "The user's address for this channel changed after the request was filed, so approving it would verify an address nobody checked. Nothing was verified; the user can file a new request.",
  too_many_pending: 'This user has too many pending requests.',
  not_verified: 'That channel is not verified, so there is nothing to revoke.',
  idempotency_key_in_use:
    'The same action is still being carried out. Wait a moment and try again.',
  code_expired: 'The code has expired.',
  invalid_code: 'The code is not correct.',
  no_destination:
    'The user has no address for this channel, so it cannot be verified. Nothing was changed.',
  invalid_destination: 'The phone number is not a valid number.',
  destination_not_allowed: 'Codes cannot be sent to phone numbers of this country.',
  invalid_details:
    'The request names no valid channel (phone or email), so approving it cannot verify anything.',
  idempotency_key_reused:
    'The service took this for a repeat of a different action. Reload the page and try again.',
  rate_limited: 'Too many codes were requested.',
  too_many_attempts: 'Too many wrong codes were entered.',
  country_rate_limited: 'Too many codes were sent to phone numbers of this country.',
  internal_error:
    'The service failed unexpectedly. Try again; if it keeps failing, tell the team that runs it.',
  delivery_failed: 'The code could not be delivered.',
  service_unavailable: 'The service is temporarily unavailable: its database did not answer.',
  network_error: 'The service could not be reached. Check your connection and try again.',
  unexpected_answer: 'The service gave an answer the console does not understand.',
};

/** Codes that are the console's own, not the API's. */
export const CONSOLE_ERROR_CODES = ['network_error', 'unexpected_answer'] as const;

export interface ErrorWords {
  /** What happened, in words, from the error code. */
  summary: string;
  /** The service's own message, and when to try again. */
  detail: string;
}

/** An API failure in words: the meaning of its code, then the service's message. */
export function describeFailure(failure: ApiFailure): ErrorWords {
  const summary =
    ERROR_TEXT[failure.code] ??
    `The service refused the request (${failure.status || 'no answer'}, ${failure.code}).`;
  const parts = [sentence(failure.message)];
  if (failure.retryAfter !== undefined) {
    const s = failure.retryAfter;
    parts.push(`Try again in ${s} second${s === 1 ? '' : 's'}.`);
  }
  return { summary, detail: parts.filter(Boolean).join(' ') };
}

/** Text ending as a sentence does. */
export function sentence(text: string): string {
  const t = text.trim();
  return t === '' || /[.!?]$/.test(t) ? t : `${t}.`;
}
