import { checkApiSettingsAtStart } from '../../lib/app';
import { httpHandler, json, parseBody } from '../../lib/http';
import { verificationContext } from '../../lib/verification/context';
import { verifyCode } from '../../lib/verification/service';
import { checkVerificationSettingsAtStart } from '../../lib/verification/settings';
import { verifyCodeBody } from './schemas';

checkApiSettingsAtStart();
checkVerificationSettingsAtStart();

/** POST /verification/verify: check a code and mark the channel verified. */
export const handler = httpHandler(async (event) => {
  const { api, deps } = await verificationContext();
  // The service reads the user row itself; an unknown user is a 401 there.
  const userId = await api.authenticatedUserId(event);
  const { channel, code } = parseBody(event, verifyCodeBody);
  return json(200, await verifyCode(deps, userId, channel, code));
});
