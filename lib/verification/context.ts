import { apiSettings } from '../apiSettings';
import { createCodeSender } from '../delivery';
import { logger } from '../logger';
import { onceAsync } from '../once';
import { getPgDatabase } from '../pgDatabase';
import { type RequestContext, requestContext } from '../requestContext';
import { runtimeEnv } from '../settings';
import type { VerificationDeps, VerifyDeps } from './service';
import { verificationSettings, webhookSignerSetting } from './settings';

/**
 * The context of the verify function: the request context (settings, token
 * check, metrics, events) on a `pg` pool, and what checking codes needs. It
 * never loads Sequelize: these routes take the caller from the token alone
 * (auth `token`) and run hand-written SQL.
 */
export interface VerificationContext extends RequestContext {
  deps: VerifyDeps;
}

/** The verification context with a sender: the sending function's. */
export interface SendCodeContext extends RequestContext {
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
  const env = await runtimeEnv();
  const settings = apiSettings(env);
  const base = requestContext(env, settings, getPgDatabase(settings.database).sql);
  return {
    ...base,
    deps: {
      sql: base.sql,
      now: base.now,
      settings: verificationSettings(env),
      logger,
      events: base.events,
      metrics: base.metrics,
    },
  };
}

async function buildSendContext(): Promise<SendCodeContext> {
  const base = await verificationContext();
  const { delivery } = base.deps.settings;
  const sender = createCodeSender(delivery, logger, webhookSignerSetting(base.env, delivery));
  return { ...base, deps: { ...base.deps, sender } };
}
