import { routeHandler } from '../../lib/httpRoute';
import { verificationContext } from '../../lib/verification/context';
import { verifyCode } from '../../lib/verification/service';
import { checkVerificationSettingsAtStart } from '../../lib/verification/settings';
import { verifyCodeBody } from './codeSchemas';

/** POST /verification/verify: check a code and mark the channel verified. */
export const handler = routeHandler(
  {
    auth: 'token',
    context: verificationContext,
    startChecks: [checkVerificationSettingsAtStart],
    body: verifyCodeBody,
    idempotent: true,
  },
  async ({ caller, body, ctx, idempotency }) =>
    verifyCode(ctx.deps, caller, body.channel, body.code, idempotency),
);
