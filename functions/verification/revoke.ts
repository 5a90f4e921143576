import { httpHandler } from '../../lib/route';
import { revokeVerification } from '../../lib/verification/revoke';
import { revokeBody, userIdParam } from './schemas';

/** POST /users/{id}/verification/revoke `{channel, reason}`: staff take back a verified channel. */
export const handler = httpHandler(
  { auth: 'staff', params: { id: userIdParam }, body: revokeBody, idempotent: true },
  async ({ caller, params, body, ctx }) =>
    revokeVerification(
      { sql: ctx.sql, now: ctx.now, events: ctx.events },
      caller,
      params.id,
      body.channel,
      body.reason,
    ),
);
