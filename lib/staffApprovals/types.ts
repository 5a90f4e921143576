import type { Sequelize } from 'sequelize';
import type { RequestStatus } from '../../models';
import type { EventPublisher } from '../events/types';
import type { ApprovalMetrics } from '../metrics';

/** What the staff approval service needs; tests pass their own clock. */
export interface StaffApprovalDeps {
  sequelize: Sequelize;
  now: () => Date;
  /** STAFF_APPROVAL_MAX_PENDING_PER_USER: more pending requests about one user are 409. */
  maxPendingPerUser: number;
  /** Publishes the events a decision or filing wrote, right after its commit. */
  events?: EventPublisher;
  /** Decisions, as CloudWatch metrics. */
  metrics?: ApprovalMetrics;
}

export interface ApprovalRequestJson {
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

export interface CreateInput {
  requestType: string;
  details?: Record<string, unknown> | undefined;
  userId?: number | undefined;
}

export interface ListInput {
  status?: RequestStatus | undefined;
  userId?: number | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface ListResult {
  items: ApprovalRequestJson[];
  nextCursor: string | null;
}

export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;
export const MANUAL_VERIFICATION = 'manual_verification';
