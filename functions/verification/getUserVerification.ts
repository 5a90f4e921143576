import { apiContext, checkApiSettingsAtStart } from '../../lib/app';
import { notFound } from '../../lib/errors';
import { httpHandler, json } from '../../lib/http';
import { canReadVerification } from '../../lib/policies';
import { getVerification } from '../../lib/verification/service';
import { parseUserId } from './params';

checkApiSettingsAtStart();

/** GET /users/{id}/verification: staff, or that user; anyone else gets the same 404 as an unknown id. */
export const handler = httpHandler(async (event) => {
  const api = await apiContext();
  const caller = await api.authenticate(event);
  const userId = parseUserId(event.pathParameters?.id);
  if (!canReadVerification(caller, userId)) throw notFound('No such user');
  const info =
    caller.id === userId
      ? caller.verificationInfo
      : await getVerification({ sequelize: api.db.sequelize }, userId);
  if (!info) throw notFound('No such user');
  return json(200, info);
});
