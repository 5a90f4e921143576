import { httpHandler } from '../../lib/route';
import { verificationContext } from '../../lib/verification/context';
import { issueCode } from '../../lib/verification/service';
import { checkVerificationSettingsAtStart } from '../../lib/verification/settings';
import { issueCodeBody } from './schemas';

/** POST /verification/codes: send a code for a channel to the caller's address. */
export const handler = httpHandler(
  {
    auth: 'token',
    context: verificationContext,
    startChecks: [checkVerificationSettingsAtStart],
    body: issueCodeBody,
    status: 201,
    idempotent: true,
  },
  async ({ caller, body, ctx, sourceIp, idempotency }) =>
    issueCode(ctx.deps, caller, body.channel, { sourceIp, idempotency }),
);
