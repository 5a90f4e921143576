import { setTimeout as sleep } from 'node:timers/promises';
import type { WebhookSigner } from './signing';
import { DeliveryAdapter, DeliveryError, RenderedMessage, SendOptions } from './types';

export interface WebhookOptions {
  url: string;
  /** The limit of one attempt. */
  timeoutMs: number;
  /** Signs every attempt; undefined sends unsigned (allowed off production only). */
  signer?: WebhookSigner | undefined;
}

/** The pause before the one retry: enough for a blip to pass, short for a waiting user. */
export const RETRY_DELAY_MS = 250;
/** An attempt that would have less time than this is not started. */
export const MIN_ATTEMPT_MS = 100;

type Outcome =
  { delivered: true } | { delivered: false; retry: boolean; reason: string; cause?: unknown };

/**
 * One POST. Success is any 2xx. A connection failure, no answer in time, 429
 * or 5xx may pass on a second try; any other answer would not.
 */
async function attempt(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<Outcome> {
  const signal = AbortSignal.timeout(timeoutMs);
  let res: Response;
  try {
    // A redirect is an answer like a 4xx: it is not followed, nor tried again.
    res = await fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
  } catch (err) {
    const reason = signal.aborted ? `no answer within ${timeoutMs} ms` : 'request failed';
    return { delivered: false, retry: true, reason, cause: err };
  }
  // Drain the body (within the same limit) so the connection can be reused;
  // the status alone decides: an accepted message is never sent twice.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status >= 200 && res.status <= 299) return { delivered: true };
  return {
    delivered: false,
    retry: res.status === 429 || res.status >= 500,
    reason: `answered HTTP ${res.status}`,
  };
}

/**
 * POSTs `{channel, destination, code, expiresAt, locale, text}` (and `subject`
 * for an email) as JSON, with the Standard Webhooks headers `webhook-id` (the
 * code's id), `webhook-timestamp` and `webhook-signature`. An attempt that
 * cannot connect, gets no answer within the timeout, or is answered 429 or
 * 5xx is tried once more after RETRY_DELAY_MS, with the same id and a fresh
 * timestamp and signature. Both attempts fit before the send's deadline: when
 * time is short, the first takes at most half of it.
 * Only when no attempt succeeds is it a DeliveryError.
 */
export function webhookSender(options: WebhookOptions): DeliveryAdapter {
  const headersFor = (id: string, body: string): Record<string, string> => {
    const now = new Date();
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    };
    if (options.signer) headers['webhook-signature'] = options.signer.sign(id, now, body);
    return headers;
  };

  return {
    async send(message: RenderedMessage, { deadline }: SendOptions) {
      const body = webhookBody(message);
      const timeLeft = () => (deadline === undefined ? Infinity : deadline - Date.now());
      const failures: string[] = [];
      let cause: unknown;
      for (let n = 1; n <= 2; n += 1) {
        if (n === 2) {
          if (timeLeft() - RETRY_DELAY_MS < MIN_ATTEMPT_MS) {
            failures.push('no time left to try again');
            break;
          }
          await sleep(RETRY_DELAY_MS);
        }
        // The first attempt leaves the retry as much time as it takes itself,
        // unless that would leave neither enough.
        const left = timeLeft();
        const shared = (left - RETRY_DELAY_MS) / 2;
        const limit = n === 1 && shared >= MIN_ATTEMPT_MS ? shared : left;
        const timeoutMs = Math.floor(Math.min(options.timeoutMs, limit));
        if (timeoutMs < MIN_ATTEMPT_MS) {
          failures.push('no time left for an attempt');
          break;
        }
        const outcome = await attempt(options.url, headersFor(message.id, body), body, timeoutMs);
        if (outcome.delivered) return;
        failures.push(outcome.reason);
        cause = outcome.cause ?? cause;
        if (!outcome.retry) break;
      }
      throw new DeliveryError('webhook', failures.join(', then '), { cause });
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
