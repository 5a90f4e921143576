import { apiContext, checkApiSettingsAtStart } from '../../lib/app';
import { httpHandler, json, parseBody } from '../../lib/http';
import { createRequest } from '../../lib/staffApprovals/service';
import { depsOf } from './common';
import { createRequestSchema } from './schemas';

checkApiSettingsAtStart();

/** POST /staff-approval-requests */
export const handler = httpHandler(async (event) => {
  const ctx = await apiContext();
  const caller = await ctx.authenticate(event);
  const body = parseBody(event, createRequestSchema);
  return json(201, await createRequest(depsOf(ctx), caller, body));
});
