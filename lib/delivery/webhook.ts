import { CodeMessage, CodeSender, DeliveryError } from './types';

export interface WebhookOptions {
  url: string;
  timeoutMs: number;
}

/**
 * POSTs `{channel, destination, code, expiresAt}` as JSON. A non-2xx answer, a
 * network error or no answer within the timeout is a DeliveryError.
 */
export function webhookSender(options: WebhookOptions): CodeSender {
  return {
    async send({ channel, destination, code, expiresAt }: CodeMessage) {
      const signal = AbortSignal.timeout(options.timeoutMs);
      let res: Response;
      try {
        res = await fetch(options.url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ channel, destination, code, expiresAt: expiresAt.toISOString() }),
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
