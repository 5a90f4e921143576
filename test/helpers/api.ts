/**
 * The one way end-to-end tests call the HTTP API, so that every response they
 * receive can be checked in one place (against openapi.yaml, once it exists).
 */
export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface CallOptions {
  token?: string;
  /** A value to send as JSON, or a raw string sent as is. */
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export function apiClient(baseUrl: string) {
  return async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: CallOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (
      body !== undefined &&
      !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')
    ) {
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  };
}

export type ApiCall = ReturnType<typeof apiClient>;

/** The SPEC's error shape: `{"error":{"code","message"}}`. */
export function expectErrorShape(res: ApiResponse, status: number, code: string): void {
  expect({
    status: res.status,
    code: (res.body as { error?: { code?: string } })?.error?.code,
  }).toEqual({
    status,
    code,
  });
  const error = (res.body as { error: { message: unknown } }).error;
  expect(typeof error.message).toBe('string');
  expect(res.text).not.toMatch(/\n\s+at |stack|Sequelize|node_modules/);
}
