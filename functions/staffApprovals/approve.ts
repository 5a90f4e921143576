import { apiContext, checkApiSettingsAtStart } from '../../lib/app';
import { httpHandler, json, parseBody } from '../../lib/http';
import { requireStaff } from '../../lib/policies';
import { decideRequest } from '../../lib/staffApprovals/service';
import { depsOf, requestIdOf } from './common';
import { approveBodySchema } from './schemas';

checkApiSettingsAtStart();

/** POST /staff-approval-requests/{id}/approve `{note?}` */
export const handler = httpHandler(async (event) => {
  const ctx = await apiContext();
  const caller = await ctx.authenticate(event);
  // The role comes first: a non-staff caller is 403 whatever the id or body.
  requireStaff(caller);
  const id = requestIdOf(event);
  const { note } = parseBody(event, approveBodySchema, { optional: true });
  return json(200, await decideRequest(depsOf(ctx), caller, id, 'approved', note));
});
