import { Logger } from '@aws-lambda-powertools/logger';

/** One structured JSON logger per container; handlers add the request id per call. */
export const logger = new Logger({
  serviceName: process.env.SERVICE_NAME ?? 'verification-service',
  logLevel: (process.env.LOG_LEVEL as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | undefined) ?? 'INFO',
});

/** `j***@example.com`: first character and the domain. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/** `+*******1234`: the last four digits. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  const last = digits.slice(-4);
  return `+${'*'.repeat(Math.max(digits.length - 4, 0))}${last}`;
}

export function maskDestination(channel: 'phone' | 'email', destination: string): string {
  return channel === 'email' ? maskEmail(destination) : maskPhone(destination);
}
