import type { ApiContext } from '../../lib/app';
import type { HttpEvent } from '../../lib/http';
import { validate } from '../../lib/http';
import type { StaffApprovalDeps } from '../../lib/staffApprovals/service';
import { requestIdSchema } from './schemas';

/** The service's dependencies from the container's context. */
export function depsOf(ctx: ApiContext): StaffApprovalDeps {
  return {
    sequelize: ctx.db.sequelize,
    now: ctx.now,
    maxPendingPerUser: ctx.settings.staffApprovals.maxPendingPerUser,
  };
}

/** The `{id}` path parameter, or a 400 `invalid_request`. */
export function requestIdOf(event: HttpEvent): string {
  return validate(requestIdSchema, event.pathParameters?.id ?? '', { kind: 'path', name: 'id' });
}
