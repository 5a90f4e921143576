import { httpHandler } from '../../lib/route';
import { decideRequest } from '../../lib/staffApprovals/service';
import { depsOf, requestIdParams } from './common';
import { rejectBodySchema } from './schemas';

/** POST /staff-approval-requests/{id}/reject `{note}` */
export const handler = httpHandler(
  { auth: 'staff', params: requestIdParams, body: rejectBodySchema, idempotent: true },
  async ({ caller, params, body, ctx, idempotency }) =>
    decideRequest(depsOf(ctx), caller, params.id, 'rejected', body.note, idempotency),
);
