import type { ApiContext } from '../../lib/app';
import type { StaffApprovalDeps } from '../../lib/staffApprovals/service';
import { requestIdSchema } from './schemas';

/** The service's dependencies from the container's context. */
export function depsOf(ctx: ApiContext): StaffApprovalDeps {
  return {
    sequelize: ctx.db.sequelize,
    now: ctx.now,
    maxPendingPerUser: ctx.settings.staffApprovals.maxPendingPerUser,
    events: ctx.events,
    metrics: ctx.metrics,
  };
}

/** The `{id}` path parameter of the routes about one request. */
export const requestIdParams = { id: requestIdSchema };
