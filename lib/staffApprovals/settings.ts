import type { Env } from '../env';
import { intSetting } from '../settings';

export interface StaffApprovalSettings {
  /** At most this many pending requests about one user (a bounded queue). */
  maxPendingPerUser: number;
}

export function staffApprovalSettings(env: Env): StaffApprovalSettings {
  return {
    maxPendingPerUser: intSetting(env, 'STAFF_APPROVAL_MAX_PENDING_PER_USER', 10, {
      min: 1,
      max: 1000,
    }),
  };
}
