import type { MessageAttributeValue, SNSClient } from '@aws-sdk/client-sns';
import { DeliveryAdapter, DeliveryError, RenderedMessage } from './types';

export interface SnsOptions {
  senderId: string | undefined;
}

/** SMS through SNS Publish. The SDK is loaded on the first send, not at cold start. */
export function snsSender(options: SnsOptions): DeliveryAdapter {
  let client:
    | Promise<{ client: SNSClient; Command: typeof import('@aws-sdk/client-sns').PublishCommand }>
    | undefined;
  const load = () =>
    (client ??= import('@aws-sdk/client-sns').then((sdk) => ({
      client: new sdk.SNSClient({}),
      Command: sdk.PublishCommand,
    })));
  return {
    async send({ channel, destination, text }: RenderedMessage) {
      if (channel !== 'phone') throw new DeliveryError('sns', `cannot deliver to ${channel}`);
      const { client: sns, Command } = await load();
      const attributes: Record<string, MessageAttributeValue> = {
        // Transactional: higher delivery priority than Promotional.
        'AWS.SNS.SMS.SMSType': { DataType: 'String', StringValue: 'Transactional' },
      };
      // Only where the destination country allows alphanumeric sender ids.
      if (options.senderId) {
        attributes['AWS.SNS.SMS.SenderID'] = { DataType: 'String', StringValue: options.senderId };
      }
      try {
        await sns.send(
          new Command({
            PhoneNumber: destination,
            Message: text,
            MessageAttributes: attributes,
          }),
        );
      } catch (err) {
        throw new DeliveryError('sns', (err as Error).name || 'Publish failed', { cause: err });
      }
    },
  };
}
