import { httpHandler } from '../../lib/route';
import { cancelRequest } from '../../lib/staffApprovals/service';
import { depsOf, requestIdParams } from './common';
import { cancelBodySchema } from './schemas';

/** POST /staff-approval-requests/{id}/cancel (no body, or `{}`) */
export const handler = httpHandler(
  {
    auth: 'user',
    params: requestIdParams,
    body: cancelBodySchema,
    bodyOptional: true,
    idempotent: true,
  },
  async ({ caller, params, ctx, idempotency }) =>
    cancelRequest(depsOf(ctx), caller, params.id, idempotency),
);
