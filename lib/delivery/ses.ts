import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { DeliveryAdapter, DeliveryError, RenderedMessage } from './types';

export interface SesOptions {
  fromAddress: string;
}

/** Email through SESv2. The SDK is loaded on the first send, not at cold start. */
export function sesSender(options: SesOptions): DeliveryAdapter {
  let client:
    | Promise<{
        client: SESv2Client;
        Command: typeof import('@aws-sdk/client-sesv2').SendEmailCommand;
      }>
    | undefined;
  const load = () =>
    (client ??= import('@aws-sdk/client-sesv2').then((sdk) => ({
      client: new sdk.SESv2Client({}),
      Command: sdk.SendEmailCommand,
    })));
  return {
    async send({ channel, destination, subject, text }: RenderedMessage) {
      if (channel !== 'email' || subject === undefined) {
        throw new DeliveryError('ses', `cannot deliver to ${channel}`);
      }
      const { client: ses, Command } = await load();
      try {
        await ses.send(
          new Command({
            FromEmailAddress: options.fromAddress,
            Destination: { ToAddresses: [destination] },
            Content: {
              Simple: {
                Subject: { Data: subject, Charset: 'UTF-8' },
                Body: { Text: { Data: text, Charset: 'UTF-8' } },
              },
            },
          }),
        );
      } catch (err) {
        throw new DeliveryError('ses', (err as Error).name || 'SendEmail failed', { cause: err });
      }
    },
  };
}
