import type { Channel } from '../../models/verification';

/** Every type of verification_events, in the order a story usually runs. */
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

/** The types that also go to the outbox and out to EventBridge. */
export const PUBLISHED_TYPES: readonly EventType[] = [
  'status_changed',
  'verification_revoked',
  'approval_requested',
  'approval_decided',
];

/** An EventBridge event's Detail: the event's own fields and its details. */
export interface EventDetail {
  /** Stable: the verification_events id, as a string. Consumers drop duplicates by it. */
  eventId: string;
  userId: number;
  actorId: number | null;
  channel: Channel | null;
  /** ISO 8601 UTC with milliseconds. */
  occurredAt: string;
  [detail: string]: unknown;
}

/** One outbox row as it is published: DetailType and Detail. */
export interface OutboxMessage {
  type: EventType;
  detail: EventDetail;
}

/**
 * Publishes events right after the commit that wrote them (best effort: it
 * never throws; what it could not publish stays for the scheduled publisher).
 */
export interface EventPublisher {
  /**
   * `ordered`: the caller already knows the user has no older unpublished
   * event (it read that in the statement that wrote these). Otherwise the
   * publisher checks, and leaves the messages to the scheduled run if there is
   * one, so a user's events never overtake each other.
   */
  publishNow(messages: readonly OutboxMessage[], options?: { ordered?: boolean }): Promise<void>;
}
