import { apiContext, checkApiSettingsAtStart } from '../../lib/app';
import { httpHandler, json, parseBody } from '../../lib/http';
import { cancelRequest } from '../../lib/staffApprovals/service';
import { depsOf, requestIdOf } from './common';
import { cancelBodySchema } from './schemas';

checkApiSettingsAtStart();

/** POST /staff-approval-requests/{id}/cancel (no body, or `{}`) */
export const handler = httpHandler(async (event) => {
  const ctx = await apiContext();
  const caller = await ctx.authenticate(event);
  const id = requestIdOf(event);
  parseBody(event, cancelBodySchema, { optional: true });
  return json(200, await cancelRequest(depsOf(ctx), caller, id));
});
