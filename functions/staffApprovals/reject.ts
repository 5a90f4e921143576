import { apiContext, checkApiSettingsAtStart } from '../../lib/app';
import { httpHandler, json, parseBody } from '../../lib/http';
import { requireStaff } from '../../lib/policies';
import { decideRequest } from '../../lib/staffApprovals/service';
import { depsOf, requestIdOf } from './common';
import { rejectBodySchema } from './schemas';

checkApiSettingsAtStart();

/** POST /staff-approval-requests/{id}/reject `{note}` */
export const handler = httpHandler(async (event) => {
  const ctx = await apiContext();
  const caller = await ctx.authenticate(event);
  // The role comes first: a non-staff caller is 403 whatever the id or body.
  requireStaff(caller);
  const id = requestIdOf(event);
  const { note } = parseBody(event, rejectBodySchema);
  return json(200, await decideRequest(depsOf(ctx), caller, id, 'rejected', note));
});
