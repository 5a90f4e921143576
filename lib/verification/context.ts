import { apiContext, ApiContext } from '../app';
import { createCodeSender } from '../delivery';
import { logger } from '../logger';
import { onceAsync } from '../once';
import type { VerificationDeps, VerifyDeps } from './service';
import { verificationSettings, webhookSignerSetting } from './settings';

/** The API context (authentication, database) with what checking codes needs. */
export interface VerificationContext extends ApiContext {
  deps: VerifyDeps;
}

/** The verification context with a sender: the sending function's. */
export interface SendCodeContext extends ApiContext {
  deps: VerificationDeps;
}

/**
 * The container's verification dependencies, built once on the first request
 * from the resolved environment (the pepper may come from a secret).
 */
export const verificationContext: () => Promise<VerificationContext> = onceAsync(buildContext);

/**
 * The same with the code sender, whose webhook signs with CODE_WEBHOOK_SECRET:
 * only the sending function reads that secret.
 */
export const sendCodeContext: () => Promise<SendCodeContext> = onceAsync(buildSendContext);

async function buildContext(): Promise<VerificationContext> {
  const api = await apiContext();
  const settings = verificationSettings(api.env);
  return {
    ...api,
    deps: {
      sequelize: api.db.sequelize,
      now: api.now,
      settings,
      logger,
      events: api.events,
      metrics: api.metrics,
    },
  };
}

async function buildSendContext(): Promise<SendCodeContext> {
  const base = await verificationContext();
  const { delivery } = base.deps.settings;
  const sender = createCodeSender(delivery, logger, webhookSignerSetting(base.env, delivery));
  return { ...base, deps: { ...base.deps, sender } };
}
