import type { Channel } from '../../models';

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
  webhookTimeoutMs: number;
  sesFromAddress: string | undefined;
  snsSenderId: string | undefined;
  serviceName: string;
}

/** One code to deliver. */
export interface CodeMessage {
  channel: Channel;
  destination: string;
  code: string;
  expiresAt: Date;
  /** The code's lifetime in whole minutes, for the text. */
  ttlMinutes: number;
}

export interface CodeSender {
  /** Resolves once the provider accepted the message; rejects with DeliveryError otherwise. */
  send(message: CodeMessage): Promise<void>;
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

/** The email subject and the SMS/email text: the service, the code and its lifetime. */
export function codeText(serviceName: string, code: string, ttlMinutes: number): string {
  const minutes = `${ttlMinutes} minute${ttlMinutes === 1 ? '' : 's'}`;
  return `Your ${serviceName} verification code is ${code}. It expires in ${minutes}. If you did not ask for it, ignore this message.`;
}

export function codeSubject(serviceName: string): string {
  return `Your ${serviceName} verification code`;
}
