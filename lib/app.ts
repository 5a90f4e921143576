import type { User } from '../models';
import { apiSettings } from './apiSettings';
import { authenticate } from './auth';
import { Database, getDatabase } from './db';
import type { HttpEvent } from './http';
import { onceAsync } from './once';
import { type RequestContext, requestContext } from './requestContext';
import { runtimeEnv } from './settings';

/** The context of the API functions that use Sequelize (every one but send and verify). */
export interface ApiContext extends RequestContext {
  db: Database;
  /** The signed-in user of a request, or a 401. */
  authenticate(event: HttpEvent): Promise<User>;
}

/**
 * The container's context, built on the first request: settings (with secrets
 * resolved), one Sequelize instance, one token verifier.
 */
export const apiContext: () => Promise<ApiContext> = onceAsync(buildApiContext);

async function buildApiContext(): Promise<ApiContext> {
  const env = await runtimeEnv();
  const settings = apiSettings(env);
  const db = getDatabase(settings.database);
  const base = requestContext(env, settings, db.sql);
  return {
    ...base,
    db,
    authenticate: (event) =>
      authenticate(event, {
        verify: base.verifyToken,
        userIdClaim: settings.auth.userIdClaim,
        users: db.models.User,
      }),
  };
}
