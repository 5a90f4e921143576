import { httpHandler } from '../../lib/route';
import { listRequests } from '../../lib/staffApprovals/service';
import { depsOf } from './common';
import { listQuerySchema } from './schemas';

/** GET /staff-approval-requests?status&userId&limit&cursor */
export const handler = httpHandler(
  { auth: 'user', query: listQuerySchema },
  async ({ caller, query, ctx }) => listRequests(depsOf(ctx), caller, query),
);
