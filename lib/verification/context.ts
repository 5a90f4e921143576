import { apiContext, ApiContext } from '../app';
import { createCodeSender } from '../delivery';
import { logger } from '../logger';
import type { VerificationDeps } from './service';
import { verificationSettings } from './settings';

export interface VerificationContext {
  api: ApiContext;
  deps: VerificationDeps;
}

let contextPromise: Promise<VerificationContext> | undefined;

/**
 * The container's verification dependencies, built once on the first request
 * from the resolved environment (the pepper may come from a secret).
 */
export function verificationContext(): Promise<VerificationContext> {
  contextPromise ??= buildContext().catch((err) => {
    contextPromise = undefined;
    throw err;
  });
  return contextPromise;
}

async function buildContext(): Promise<VerificationContext> {
  const api = await apiContext();
  const settings = verificationSettings(api.env);
  const sender = createCodeSender(settings.delivery, logger);
  return { api, deps: { sequelize: api.db.sequelize, now: api.now, sender, settings, logger } };
}
