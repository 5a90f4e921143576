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

/** Error fields that may carry values: SQL parameters, pg's `detail` ("Key (email)=(…)"), rows. */
const UNSAFE_ERROR_FIELDS = new Set([
  'parameters',
  'parent',
  'original',
  'detail',
  'where',
  'internalQuery',
  'fields',
  'errors',
  'instance',
  'value',
]);

/**
 * An error as it may be logged: name, message, stack, the SQLSTATE and
 * constraint of a database error, and its SQL text (with `$1` placeholders),
 * never its parameters or pg's `detail`, which carry codes, hashes and addresses.
 */
export function errorForLog(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: Record<string, unknown> = { name: err.name, message: err.message, stack: err.stack };
  const driver = (err as { original?: unknown }).original ?? err;
  const { code, constraint } = driver as { code?: unknown; constraint?: unknown };
  if (typeof code === 'string') out.code = code;
  if (typeof constraint === 'string') out.constraint = constraint;
  const sql = (err as { sql?: unknown }).sql;
  if (typeof sql === 'string') out.sql = sql;
  for (const key of Object.keys(out)) if (UNSAFE_ERROR_FIELDS.has(key)) delete out[key];
  if (err.cause !== undefined && err.cause !== err) out.cause = errorForLog(err.cause);
  return out;
}
