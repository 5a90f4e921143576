import { routeHandler } from '../../lib/httpRoute';
import { sendCodeContext } from '../../lib/verification/context';
import { issueCode } from '../../lib/verification/service';
import { checkSendSettingsAtStart } from '../../lib/verification/settings';
import { issueCodeBody } from './codeSchemas';

/** POST /verification/codes: send a code for a channel to the caller's address. */
export const handler = routeHandler(
  {
    auth: 'token',
    context: sendCodeContext,
    startChecks: [checkSendSettingsAtStart],
    body: issueCodeBody,
    status: 201,
    idempotent: true,
  },
  async ({ caller, body, ctx, sourceIp, idempotency, header, timeLeftMs }) =>
    issueCode(ctx.deps, caller, body.channel, {
      sourceIp,
      idempotency,
      locale: body.locale,
      acceptLanguage: header('accept-language'),
      timeLeftMs,
    }),
);
