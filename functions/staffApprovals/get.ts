import { apiContext, checkApiSettingsAtStart } from '../../lib/app';
import { httpHandler, json } from '../../lib/http';
import { getRequest } from '../../lib/staffApprovals/service';
import { depsOf, requestIdOf } from './common';

checkApiSettingsAtStart();

/** GET /staff-approval-requests/{id} */
export const handler = httpHandler(async (event) => {
  const ctx = await apiContext();
  const caller = await ctx.authenticate(event);
  return json(200, await getRequest(depsOf(ctx), caller, requestIdOf(event)));
});
