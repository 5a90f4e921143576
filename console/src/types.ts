/** The API's answers as the console reads them (openapi.yaml is the reference). */

import type { EventType } from '../../lib/events/types';

export type Channel = 'phone' | 'email';
export type RequestStatus = 'pending' | 'approved' | 'rejected' | 'cancelled';
export type VerificationStatus = 'unverified' | 'phone_verified' | 'email_verified' | 'verified';

export interface ApprovalRequest {
  id: string;
  userId: number;
  requestedBy: number | null;
  requestType: string;
  details: Record<string, unknown>;
  status: RequestStatus;
  reviewedBy: number | null;
  reviewedAt: string | null;
  reviewNote: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RequestPage {
  items: ApprovalRequest[];
  nextCursor: string | null;
}

export interface VerificationInfo {
  userId: number;
  status: VerificationStatus;
  isPhoneVerified: boolean;
  isEmailVerified: boolean;
  isFullyVerified: boolean;
}

// The service's own list of event types (lib/events/types.ts imports nothing a
// browser lacks): a new type reaches the console's filter with no second list.
export { EVENT_TYPES } from '../../lib/events/types';
export type { EventType };

export interface VerificationEvent {
  id: string;
  type: EventType;
  channel: Channel | null;
  actorId: number | null;
  details: Record<string, unknown>;
  createdAt: string;
}

export interface EventPage {
  items: VerificationEvent[];
  nextCursor: string | null;
}

/** An error answer (`{"error": {...}}`), or a failure of the console's own. */
export interface ApiFailure {
  /** The HTTP status; 0 when no answer arrived. */
  status: number;
  code: string;
  message: string;
  /** Seconds, from a Retry-After header. */
  retryAfter?: number;
}
