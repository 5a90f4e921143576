import type { CodeMessage, CodeSender } from './types';

export interface LineLogger {
  info(message: string, extra: Record<string, unknown>): void;
}

/**
 * Development delivery: one JSON log line with the channel, destination and code.
 * Refused on production stages by the settings.
 */
export function logSender(logger: LineLogger): CodeSender {
  return {
    async send({ channel, destination, code, expiresAt }: CodeMessage) {
      logger.info('verification code (log delivery)', {
        channel,
        destination,
        code,
        expiresAt: expiresAt.toISOString(),
      });
    },
  };
}
