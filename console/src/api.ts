import type { ApiFailure } from './types';

/** A failed call: an error answer of the API, or no usable answer at all. */
export class ApiError extends Error {
  constructor(readonly failure: ApiFailure) {
    super(failure.message);
    this.name = 'ApiError';
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  /**
   * POSTs a JSON body with an Idempotency-Key: a retry of the same action
   * (same key) after a lost answer is then answered, not done twice.
   */
  post<T>(path: string, body: unknown, idempotencyKey: string): Promise<T>;
}

export interface ApiOptions {
  /** The API's root: the folder the console page is served from. */
  base: URL;
  token: () => string | undefined;
  /** Called on every 401, before the error is thrown. */
  onUnauthorized: (error: ApiError) => void;
}

function retryAfter(res: Response): number | undefined {
  const value = res.headers.get('Retry-After');
  return value !== null && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** The failure an error answer describes, or `unexpected_answer` when it is not in the error shape. */
async function failureOf(res: Response): Promise<ApiFailure> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const wait = retryAfter(res);
  if (typeof error?.code === 'string' && typeof error.message === 'string') {
    return {
      status: res.status,
      code: error.code,
      message: error.message,
      ...(wait === undefined ? {} : { retryAfter: wait }),
    };
  }
  return {
    status: res.status,
    code: 'unexpected_answer',
    message: `The answer had status ${res.status}${res.statusText ? ` (${res.statusText})` : ''}.`,
    ...(wait === undefined ? {} : { retryAfter: wait }),
  };
}

/**
 * The console's one way to call the API. The token goes in the Authorization
 * header and nowhere else: never in a URL, so it reaches no access log.
 */
export function createApi(options: ApiOptions): Api {
  async function call<T>(method: string, path: string, init: RequestInit): Promise<T> {
    const token = options.token();
    const headers = new Headers(init.headers);
    headers.set('Accept', 'application/json');
    if (token) headers.set('Authorization', `Bearer ${token}`);
    let res: Response;
    try {
      res = await fetch(new URL(path, options.base), {
        ...init,
        method,
        headers,
        cache: 'no-store',
        credentials: 'omit',
        redirect: 'error',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new ApiError({
        status: 0,
        code: 'network_error',
        message: 'No answer arrived.',
      });
    }
    if (!res.ok) {
      const error = new ApiError(await failureOf(res));
      if (res.status === 401) options.onUnauthorized(error);
      throw error;
    }
    try {
      return (await res.json()) as T;
    } catch {
      throw new ApiError({
        status: res.status,
        code: 'unexpected_answer',
        message: 'The answer was not JSON.',
      });
    }
  }

  return {
    get: (path) => call('GET', path, {}),
    post: (path, body, idempotencyKey) =>
      call('POST', path, {
        body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
      }),
  };
}

/**
 * An Idempotency-Key per intended action: the same key while the same action
 * is retried after a failure without an answer (network, 5xx), a new one once
 * the service has answered it or the action changes.
 */
export class ActionKey {
  private key: string | undefined;
  private action: string | undefined;

  /** The key for this action (its method, path and body, as one string). */
  for(action: string): string {
    if (this.key === undefined || this.action !== action) {
      this.key = uuid();
      this.action = action;
    }
    return this.key;
  }

  /** Called with the outcome: the key is kept only for a retry of an action not yet done. */
  settle(error?: unknown): void {
    const failure = error instanceof ApiError ? error.failure : undefined;
    const retry =
      failure !== undefined &&
      (failure.status === 0 || failure.status >= 500 || failure.code === 'idempotency_key_in_use');
    if (!retry) this.key = undefined;
  }
}

/**
 * A random UUID (version 4). crypto.randomUUID exists only in secure contexts
 * (https, localhost); getRandomValues everywhere, such as a LAN address over http.
 */
function uuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
