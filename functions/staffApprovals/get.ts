import { httpHandler } from '../../lib/route';
import { getRequest } from '../../lib/staffApprovals/service';
import { depsOf, requestIdParams } from './common';

/** GET /staff-approval-requests/{id} */
export const handler = httpHandler(
  { auth: 'user', params: requestIdParams },
  async ({ caller, params, ctx }) => getRequest(depsOf(ctx), caller, params.id),
);
