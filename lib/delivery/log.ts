import type { DeliveryAdapter, RenderedMessage } from './types';

export interface LineLogger {
  info(message: string, extra: Record<string, unknown>): void;
}

/**
 * Development delivery: one JSON log line with the channel, destination and
 * code, and the words the other adapters would send. Refused on production
 * stages by the settings.
 */
export function logSender(logger: LineLogger): DeliveryAdapter {
  return {
    async send({ channel, destination, code, expiresAt, locale, subject, text }: RenderedMessage) {
      logger.info('verification code (log delivery)', {
        channel,
        destination,
        code,
        expiresAt: expiresAt.toISOString(),
        locale,
        ...(subject === undefined ? {} : { subject }),
        text,
      });
    },
  };
}
