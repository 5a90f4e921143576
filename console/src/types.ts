/** The API's answers as the console reads them (openapi.yaml is the reference). */

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

export const EVENT_TYPES = [
  'code_sent',
  'code_delivery_failed',
  'code_verified',
  'code_rejected',
  'status_changed',
  'verification_revoked',
  'approval_requested',
  'approval_decided',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

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
