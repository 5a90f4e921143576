import { httpHandler } from '../../lib/route';
import { decideRequest } from '../../lib/staffApprovals/service';
import { depsOf, requestIdParams } from './common';
import { approveBodySchema } from './schemas';

/** POST /staff-approval-requests/{id}/approve `{note?}` */
export const handler = httpHandler(
  {
    auth: 'staff',
    params: requestIdParams,
    body: approveBodySchema,
    bodyOptional: true,
    idempotent: true,
  },
  async ({ caller, params, body, ctx, idempotency }) =>
    decideRequest(depsOf(ctx), caller, params.id, 'approved', body.note, idempotency),
);
