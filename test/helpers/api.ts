import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import jestOpenAPI from 'jest-openapi';
import OpenAPIResponseValidator from 'openapi-response-validator';
import { makeApiSpec, makeResponse, type OpenAPISpecObject } from 'openapi-validator';

/**
 * The one way end-to-end tests call the HTTP API, so that every response they
 * receive is checked in one place against openapi.yaml: a status not documented
 * for the operation, or a body or required header that does not match, fails
 * the test that made the call.
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
  /**
   * Do not check this response against openapi.yaml. Only for deliberate cases:
   * requests outside the API, such as `/nope`, which API Gateway answers itself.
   */
  skipSpecCheck?: boolean;
}

export const OPENAPI_FILE = path.resolve(__dirname, '..', '..', 'openapi.yaml');

/**
 * openapi.yaml (OpenAPI 3.1) in the 3.0 form jest-openapi 0.14 accepts: without
 * `webhooks` (no answer of the API), `openapi: 3.0.3`, and each
 * `type: [x, 'null']` as `type: x, nullable: true`. openapi.yaml uses no other
 * 3.1 construct; a new one fails every test here until it is translated too.
 */
export function asOpenApi30(doc: Record<string, unknown>): Record<string, unknown> {
  const convert = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(convert);
    if (!node || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = convert(value);
    if (Array.isArray(out.type) && out.type.includes('null')) {
      const types = (out.type as string[]).filter((t) => t !== 'null');
      if (types.length !== 1)
        throw new Error(`openapi.yaml: cannot express type ${out.type} in 3.0`);
      out.type = types[0];
      out.nullable = true;
    }
    return out;
  };
  const { webhooks: _webhooks, ...rest } = doc;
  return { ...(convert(rest) as Record<string, unknown>), openapi: '3.0.3' };
}

/** openapi.yaml as written (3.1). */
export const OPENAPI_DOCUMENT = yaml.load(readFileSync(OPENAPI_FILE, 'utf8')) as Record<
  string,
  unknown
>;
const document = asOpenApi30(OPENAPI_DOCUMENT) as unknown as OpenAPISpecObject;
jestOpenAPI(document);
const spec = makeApiSpec(document);

/** The axios-like response object jest-openapi validates (`data`, `request.path`). */
export interface SpecResponse {
  status: number;
  /** The parsed JSON body; the raw text when it is not JSON; '' when empty. */
  data: unknown;
  /** Lower-case header names. */
  headers: Record<string, string>;
  request: { method: string; path: string };
}

/** Adapts a response received for `method path` (path may carry a query) for validation. */
export function toSpecResponse(
  method: string,
  requestPath: string,
  res: ApiResponse,
): SpecResponse {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  let data: unknown = res.text;
  // A copy: the validator fills in schema defaults in what it is given.
  if (res.text !== '' && res.body !== undefined) data = structuredClone(res.body);
  return {
    status: res.status,
    data,
    headers,
    request: { method: method.toUpperCase(), path: requestPath },
  };
}

interface HeaderObject {
  required?: boolean;
  schema?: { type?: string; minimum?: number; enum?: string[] };
}

interface DocumentedResponse {
  headers?: Record<string, HeaderObject | { $ref: string }>;
  content?: Record<string, unknown>;
}

/** Follows a local `$ref` (`#/components/...`) in openapi.yaml. */
function resolveRef<T>(value: T | { $ref: string }): T {
  let current: unknown = value;
  while (current && typeof current === 'object' && '$ref' in current) {
    const ref = (current as { $ref: string }).$ref;
    current = ref
      .replace(/^#\//, '')
      .split('/')
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], document);
    if (current === undefined) throw new Error(`openapi.yaml: unresolved $ref ${ref}`);
  }
  return current as T;
}

/** openapi-validator reads only status, data and request of an axios response. */
const actualResponse = (res: SpecResponse) =>
  makeResponse(res as unknown as Parameters<typeof makeResponse>[0]);

// One compiled validator per documented response: jest-openapi compiles the
// schemas again on every call (about 60 ms each), too slow for every e2e call.
const compiled = new Map<unknown, Map<number, OpenAPIResponseValidator>>();

/**
 * The fast path: the same matching and validation jest-openapi does
 * (openapi-validator, openapi-response-validator), with compiled validators
 * kept. False means "let jest-openapi look, and explain".
 */
function matchesCached(res: SpecResponse): boolean {
  let documented: unknown;
  let actual: ReturnType<typeof makeResponse>;
  try {
    actual = actualResponse(res);
    documented = spec.findExpectedResponse(actual)[String(res.status)];
  } catch {
    return false;
  }
  let byStatus = compiled.get(documented);
  if (!byStatus) compiled.set(documented, (byStatus = new Map()));
  let validator = byStatus.get(res.status);
  if (!validator) {
    validator = new OpenAPIResponseValidator({
      responses: { [res.status]: documented },
      components: (document as { components?: object }).components,
    } as ConstructorParameters<typeof OpenAPIResponseValidator>[0]);
    byStatus.set(res.status, validator);
  }
  return !validator.validateResponse(String(res.status), actual.getBodyForValidation());
}

/**
 * Asserts that a response satisfies openapi.yaml: path, method and status are
 * documented, and the body matches (jest-openapi); documented required headers
 * are present and well formed, and the media type is the documented one
 * (jest-openapi does not look at headers).
 */
export function expectToSatisfySpec(res: SpecResponse): void {
  if (!matchesCached(res)) expect(res).toSatisfyApiSpec();

  const where = `${res.request.method} ${res.request.path} ${res.status}`;
  const documented = spec.findExpectedResponse(actualResponse(res))[String(res.status)] as
    DocumentedResponse | undefined;
  for (const [name, ref] of Object.entries(documented?.headers ?? {})) {
    const header = resolveRef<HeaderObject>(ref);
    const value = res.headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.required) {
        throw new Error(`${where}: header ${name} is required by openapi.yaml but missing`);
      }
      continue;
    }
    if (header.schema?.type === 'integer') {
      const ok = /^\d+$/.test(value) && Number(value) >= (header.schema.minimum ?? 0);
      if (!ok) throw new Error(`${where}: header ${name} should be an integer, got ${value}`);
    }
    if (header.schema?.enum && !header.schema.enum.includes(value)) {
      throw new Error(
        `${where}: header ${name} should be one of ${header.schema.enum.join(', ')}, got ${value}`,
      );
    }
  }
  const mediaTypes = Object.keys(documented?.content ?? {});
  if (mediaTypes.length > 0) {
    const contentType = (res.headers['content-type'] ?? '').split(';')[0]?.trim();
    if (!contentType || !mediaTypes.includes(contentType)) {
      throw new Error(
        `${where}: Content-Type ${contentType || '(none)'}, openapi.yaml documents ${mediaTypes.join(', ')}`,
      );
    }
  }
}

/**
 * The request path as the spec matcher should see it: every segment fully
 * percent-encoded, so that characters it gives a meaning to (braces as a
 * template, `;` as matrix parameters) stay plain data, as they are to API Gateway.
 */
function specPath(baseUrl: string, path: string): string {
  const sent = new URL(`${baseUrl}${path}`);
  const segments = sent.pathname.split('/').map((segment) => {
    try {
      return encodeURIComponent(decodeURIComponent(segment));
    } catch {
      return encodeURIComponent(segment);
    }
  });
  return `${segments.join('/')}${sent.search}`;
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
    const result: ApiResponse<T> = {
      status: res.status,
      headers: res.headers,
      body: parsed as T,
      text,
    };
    if (!opts.skipSpecCheck) {
      expectToSatisfySpec(toSpecResponse(method, specPath(baseUrl, path), result));
    }
    return result;
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
