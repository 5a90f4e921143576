import type { Channel } from '../../models/verification';
import type { MessageSettings } from './messages';

/** The delivery adapters CODE_DELIVERY may name. */
export const ADAPTERS = ['log', 'webhook', 'ses', 'sns'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** Which channels each adapter can deliver to. */
export const ADAPTER_CHANNELS: Record<AdapterName, readonly Channel[]> = {
  log: ['email', 'phone'],
  webhook: ['email', 'phone'],
  ses: ['email'],
  sns: ['phone'],
};

export interface DeliverySettings {
  /** The adapter serving each channel. */
  byChannel: Record<Channel, AdapterName>;
  webhookUrl: string | undefined;
  /** The limit of one webhook attempt (there may be two). */
  webhookTimeoutMs: number;
  sesFromAddress: string | undefined;
  snsSenderId: string | undefined;
  /** The app name, the default locale and the WebOTP domain of the texts. */
  messages: MessageSettings;
}

/** One code to deliver. */
export interface CodeMessage {
  /** The code's id: one message per code (the webhook's `webhook-id`). */
  id: string;
  channel: Channel;
  destination: string;
  code: string;
  expiresAt: Date;
  /** The code's lifetime in whole minutes, for the text. */
  ttlMinutes: number;
  /** The locale of the text, one a template serves (lib/delivery/messages.ts). */
  locale: string;
}

export interface SendOptions {
  /**
   * When (`Date.now()` milliseconds) delivery must be over, answered or given
   * up, so that the function can still answer: from the Lambda context's
   * remaining time. Unset: each adapter's own limits only.
   */
  deadline?: number | undefined;
}

export interface CodeSender {
  /** Resolves once the provider accepted the message; rejects with DeliveryError otherwise. */
  send(message: CodeMessage, options?: SendOptions): Promise<void>;
}

/** A code's message with its words, as every adapter receives it. */
export interface RenderedMessage extends CodeMessage {
  /** The email subject; undefined for an SMS. */
  subject: string | undefined;
  /** Exactly the text to send. */
  text: string;
}

/** One provider: SES, SNS, the webhook or the log. */
export interface DeliveryAdapter {
  send(message: RenderedMessage, options: SendOptions): Promise<void>;
}

/** The provider did not accept the message. The message never contains the code. */
export class DeliveryError extends Error {
  constructor(
    readonly adapter: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${adapter} delivery failed: ${message}`, options);
    this.name = 'DeliveryError';
  }
}
