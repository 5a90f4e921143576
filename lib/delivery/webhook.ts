import { DeliveryAdapter, DeliveryError, RenderedMessage } from './types';

export interface WebhookOptions {
  url: string;
  timeoutMs: number;
}

/**
 * POSTs `{channel, destination, code, expiresAt, locale, text}` (and `subject`
 * for an email) as JSON. A non-2xx answer, a
 * network error or no answer within the timeout is a DeliveryError.
 */
export function webhookSender(options: WebhookOptions): DeliveryAdapter {
  return {
    async send(message: RenderedMessage) {
      const signal = AbortSignal.timeout(options.timeoutMs);
      let res: Response;
      try {
        res = await fetch(options.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: webhookBody(message),
          signal,
          redirect: 'error',
        });
        // Drain the body (within the same deadline) so the connection can be reused.
        await res.arrayBuffer();
      } catch (err) {
        const timedOut = signal.aborted;
        throw new DeliveryError(
          'webhook',
          timedOut ? `no answer within ${options.timeoutMs} ms` : 'request failed',
          { cause: err },
        );
      }
      if (res.status < 200 || res.status > 299) {
        throw new DeliveryError('webhook', `answered HTTP ${res.status}`);
      }
    },
  };
}

/** The JSON body: `text` (and `subject`) are exactly the words to send. */
export function webhookBody(message: RenderedMessage): string {
  const { channel, destination, code, expiresAt, locale, subject, text } = message;
  return JSON.stringify({
    channel,
    destination,
    code,
    expiresAt: expiresAt.toISOString(),
    locale,
    ...(subject === undefined ? {} : { subject }),
    text,
  });
}
