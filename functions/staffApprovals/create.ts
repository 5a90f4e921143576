import { httpHandler } from '../../lib/route';
import { createRequest } from '../../lib/staffApprovals/service';
import { depsOf } from './common';
import { createRequestSchema } from './schemas';

/** POST /staff-approval-requests */
export const handler = httpHandler(
  { auth: 'user', body: createRequestSchema, status: 201, idempotent: true },
  async ({ caller, body, ctx, idempotency }) =>
    createRequest(depsOf(ctx), caller, body, idempotency),
);
