import { apiContext, checkApiSettingsAtStart } from '../../lib/app';
import { httpHandler, json, validate } from '../../lib/http';
import { listRequests } from '../../lib/staffApprovals/service';
import { depsOf } from './common';
import { listQuerySchema } from './schemas';

checkApiSettingsAtStart();

/** GET /staff-approval-requests?status&userId&limit&cursor */
export const handler = httpHandler(async (event) => {
  const ctx = await apiContext();
  const caller = await ctx.authenticate(event);
  const query = validate(listQuerySchema, event.queryStringParameters ?? {}, { kind: 'query' });
  return json(200, await listRequests(depsOf(ctx), caller, query));
});
