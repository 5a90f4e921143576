/**
 * The token in the address and in a JWT, without touching the page: pure
 * functions, so that the unit tests run them too.
 */

/** The token of a `#token=...` fragment, or undefined when the fragment is anything else. */
export function tokenFromFragment(hash: string): string | undefined {
  if (!hash.startsWith('#token=')) return undefined;
  const token = new URLSearchParams(hash.slice(1)).get('token')?.trim();
  return token ? token : undefined;
}

/** True when a query string carries a token (it has then reached the server and its logs). */
export function queryHasToken(search: string): boolean {
  return new URLSearchParams(search).has('token');
}

/**
 * A JWT's `exp` in milliseconds, read without verifying anything (the service
 * verifies; the console only says when to expect a new sign-in). Undefined
 * when the token is not a JWT or has no `exp`.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='))) as unknown;
    const exp = (json as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
