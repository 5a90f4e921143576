import type { Channel } from '../../models/verification';
import { LineLogger, logSender } from './log';
import { renderMessage } from './messages';
import type { WebhookSigner } from './signing';
import { sesSender } from './ses';
import { snsSender } from './sns';
import type {
  AdapterName,
  CodeMessage,
  CodeSender,
  DeliveryAdapter,
  DeliverySettings,
  SendOptions,
} from './types';
import { webhookSender } from './webhook';

export * from './types';

function adapter(
  name: AdapterName,
  settings: DeliverySettings,
  logger: LineLogger,
  signer: WebhookSigner | undefined,
): DeliveryAdapter {
  switch (name) {
    case 'log':
      return logSender(logger);
    case 'webhook':
      return webhookSender({
        url: settings.webhookUrl as string,
        timeoutMs: settings.webhookTimeoutMs,
        signer,
      });
    case 'ses':
      return sesSender({ fromAddress: settings.sesFromAddress as string });
    case 'sns':
      return snsSender({ senderId: settings.snsSenderId });
  }
}

/**
 * The configured sender: each message is written once in its locale
 * (lib/delivery/messages.ts), then goes to the adapter CODE_DELIVERY assigned
 * its channel. `webhookSigner` signs the webhook's requests (CODE_WEBHOOK_SECRET).
 */
export function createCodeSender(
  settings: DeliverySettings,
  logger: LineLogger,
  webhookSigner?: WebhookSigner,
): CodeSender {
  const byName = new Map<AdapterName, DeliveryAdapter>();
  const forChannel = (channel: Channel): DeliveryAdapter => {
    const name = settings.byChannel[channel];
    let sender = byName.get(name);
    if (!sender) {
      sender = adapter(name, settings, logger, webhookSigner);
      byName.set(name, sender);
    }
    return sender;
  };
  return {
    send: async (message: CodeMessage, options: SendOptions = {}) =>
      forChannel(message.channel).send(
        { ...message, ...renderMessage(message, settings.messages) },
        options,
      ),
  };
}
