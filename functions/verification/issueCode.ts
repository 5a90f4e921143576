import { checkApiSettingsAtStart } from '../../lib/app';
import { httpHandler, json, parseBody } from '../../lib/http';
import { verificationContext } from '../../lib/verification/context';
import { issueCode } from '../../lib/verification/service';
import { checkVerificationSettingsAtStart } from '../../lib/verification/settings';
import { issueCodeBody } from './schemas';

checkApiSettingsAtStart();
checkVerificationSettingsAtStart();

/** POST /verification/codes: send a code for a channel to the caller's address. */
export const handler = httpHandler(async (event) => {
  const { api, deps } = await verificationContext();
  // The service reads (and locks) the user row itself; an unknown user is a 401 there.
  const userId = await api.authenticatedUserId(event);
  const { channel } = parseBody(event, issueCodeBody);
  return json(201, await issueCode(deps, userId, channel));
});
