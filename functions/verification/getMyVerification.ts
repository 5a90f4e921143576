import { apiContext, checkApiSettingsAtStart } from '../../lib/app';
import { httpHandler, json } from '../../lib/http';

checkApiSettingsAtStart();

/** GET /users/me/verification: the caller's VerificationInfo. */
export const handler = httpHandler(async (event) => {
  const api = await apiContext();
  const user = await api.authenticate(event);
  return json(200, user.verificationInfo);
});
