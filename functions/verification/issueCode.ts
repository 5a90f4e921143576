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
  },
  async ({ caller, body, ctx, sourceIp, header, timeLeftMs }) =>
    issueCode(ctx.deps, caller, body.channel, {
      sourceIp,
      locale: body.locale,
      acceptLanguage: header('accept-language'),
      timeLeftMs,
    }),
);
