import type { Channel } from '../../models';
import { LineLogger, logSender } from './log';
import { sesSender } from './ses';
import { snsSender } from './sns';
import type { AdapterName, CodeMessage, CodeSender, DeliverySettings } from './types';
import { webhookSender } from './webhook';

export * from './types';

function adapter(name: AdapterName, settings: DeliverySettings, logger: LineLogger): CodeSender {
  switch (name) {
    case 'log':
      return logSender(logger);
    case 'webhook':
      return webhookSender({
        url: settings.webhookUrl as string,
        timeoutMs: settings.webhookTimeoutMs,
      });
    case 'ses':
      return sesSender({
        fromAddress: settings.sesFromAddress as string,
        serviceName: settings.serviceName,
      });
    case 'sns':
      return snsSender({ senderId: settings.snsSenderId, serviceName: settings.serviceName });
  }
}

/** The configured sender: each channel goes to the adapter CODE_DELIVERY assigned it. */
export function createCodeSender(settings: DeliverySettings, logger: LineLogger): CodeSender {
  const byName = new Map<AdapterName, CodeSender>();
  const forChannel = (channel: Channel): CodeSender => {
    const name = settings.byChannel[channel];
    let sender = byName.get(name);
    if (!sender) {
      sender = adapter(name, settings, logger);
      byName.set(name, sender);
    }
    return sender;
  };
  return { send: (message: CodeMessage) => forChannel(message.channel).send(message) };
}
