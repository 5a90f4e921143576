import type { VerificationEvent } from '../types';
import { STATUS_TEXT, userText } from './format';

const CAUSE_TEXT: Readonly<Record<string, string>> = {
  code: 'a code was verified',
  staff_approval: 'staff approved a request',
  address_change: 'the address changed',
  revocation: 'staff revoked it',
};

const str = (value: unknown): string => (typeof value === 'string' ? value : String(value ?? '?'));

function status(value: unknown): string {
  return typeof value === 'string' && value in STATUS_TEXT
    ? STATUS_TEXT[value as keyof typeof STATUS_TEXT]
    : str(value);
}

/** One history entry in words. */
export function describeEvent(event: VerificationEvent): string {
  const d = event.details;
  const channel = event.channel ?? 'unknown channel';
  switch (event.type) {
    case 'code_sent':
      return `Code sent by ${channel} to ${str(d.destination)} (language ${str(d.locale)})`;
    case 'code_delivery_failed':
      return `${event.channel === 'email' ? 'An email' : 'A phone'} code could not be delivered`;
    case 'code_verified':
      return `${channel === 'phone' ? 'Phone' : 'Email'} verified with a code`;
    case 'code_rejected': {
      const left = Number(d.attemptsRemaining);
      const attempts =
        left === 0 ? 'no attempts left' : `${left} attempt${left === 1 ? '' : 's'} left`;
      return `Wrong ${channel} code entered (${attempts})`;
    }
    case 'status_changed':
      return `Status changed from "${status(d.from)}" to "${status(d.to)}": ${CAUSE_TEXT[str(d.cause)] ?? str(d.cause)}`;
    case 'verification_revoked':
      return `${channel === 'phone' ? 'Phone' : 'Email'} verification revoked. Reason: ${str(d.reason)}`;
    case 'approval_requested':
      return `Request filed: ${str(d.requestType)}`;
    case 'approval_decided':
      return `Request ${str(d.decision)}`;
  }
  return `${str(event.type)} ${JSON.stringify(d)}`;
}

/** Who did it: a member of staff, or nobody named (the user themself, or the database). */
export function actorText(event: VerificationEvent): string {
  if (event.actorId !== null) return userText(event.actorId);
  return event.type === 'status_changed' && event.details.cause === 'address_change'
    ? 'the database (an address changed)'
    : 'the user';
}
