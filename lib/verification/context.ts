import { apiContext, ApiContext } from '../app';
import { createCodeSender } from '../delivery';
import { logger } from '../logger';
import type { VerificationDeps } from './service';
import { verificationSettings } from './settings';
import { onceAsync } from '../once';

/** The API context (authentication, database) with the verification service's dependencies. */
export interface VerificationContext extends ApiContext {
  deps: VerificationDeps;
}

/**
 * The container's verification dependencies, built once on the first request
 * from the resolved environment (the pepper may come from a secret).
 */
export const verificationContext: () => Promise<VerificationContext> = onceAsync(buildContext);

async function buildContext(): Promise<VerificationContext> {
  const api = await apiContext();
  const settings = verificationSettings(api.env);
  const sender = createCodeSender(settings.delivery, logger);
  return { ...api, deps: { sequelize: api.db.sequelize, now: api.now, sender, settings, logger } };
}
