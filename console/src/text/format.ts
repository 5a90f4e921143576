import type { Channel, RequestStatus, VerificationStatus } from '../types';

/** Words for a user's verification status. */
export const STATUS_TEXT: Readonly<Record<VerificationStatus, string>> = {
  unverified: 'Nothing verified',
  phone_verified: 'Phone verified',
  email_verified: 'Email verified',
  verified: 'Phone and email verified',
};

/** Words for a request's status. */
export const REQUEST_STATUS_TEXT: Readonly<Record<RequestStatus, string>> = {
  pending: 'Pending',
  approved: 'Approved',
  rejected: 'Rejected',
  cancelled: 'Cancelled',
};

export const CHANNEL_TEXT: Readonly<Record<Channel, string>> = { phone: 'Phone', email: 'Email' };

/** `user 12`, or the words for a missing one. */
export function userText(id: number | null, missing = 'a deleted account'): string {
  return id === null ? missing : `user ${id}`;
}

const dateTime = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'medium',
  timeStyle: 'medium',
  timeZone: 'UTC',
});

/** An ISO timestamp as `30 Nov 2026, 10:14:05 UTC` (one zone for every reader of a report). */
export function timeText(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${dateTime.format(date)} UTC`;
}

/** A detail value as text: strings as they are, anything else as JSON. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '(none)';
  return JSON.stringify(value);
}
