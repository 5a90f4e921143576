import { ApiStack, startApiStack } from '../helpers/apiStack';

/**
 * CORS under serverless-offline is the deployed HTTP API's: no CORS headers at
 * all when CORS_ALLOWED_ORIGINS is unset, and headers only for a listed origin
 * when it is set (deploy/offline-cors.cjs).
 */

jest.setTimeout(180_000);

const APP = 'https://app.example.com';
const OTHER = 'https://evil.example.net';

function corsHeaders(res: Response): Record<string, string> {
  const found: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name.startsWith('access-control-')) found[name] = value;
  });
  return found;
}

async function get(stack: ApiStack, origin: string): Promise<Response> {
  return fetch(`${stack.server.baseUrl}/health`, { headers: { Origin: origin } });
}

async function preflight(stack: ApiStack, origin: string): Promise<Response> {
  return fetch(`${stack.server.baseUrl}/verification/codes`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type',
    },
  });
}

describe('CORS_ALLOWED_ORIGINS unset', () => {
  let stack: ApiStack;
  beforeAll(async () => {
    stack = await startApiStack({ CORS_ALLOWED_ORIGINS: '' });
  }, 150_000);
  afterAll(async () => stack?.stop());

  it('adds no CORS headers to an answer, whatever the origin', async () => {
    for (const origin of [APP, OTHER]) {
      const res = await get(stack, origin);
      expect(res.status).toBe(200);
      expect(corsHeaders(res)).toEqual({});
    }
  });

  it('grants no preflight', async () => {
    const res = await preflight(stack, APP);
    expect(corsHeaders(res)).toEqual({});
  });
});

describe('CORS_ALLOWED_ORIGINS set', () => {
  let stack: ApiStack;
  beforeAll(async () => {
    stack = await startApiStack({ CORS_ALLOWED_ORIGINS: `${APP}, https://admin.example.com` });
  }, 150_000);
  afterAll(async () => stack?.stop());

  it('answers a listed origin, without credentials, exposing Retry-After', async () => {
    const res = await get(stack, APP);
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({
      'access-control-allow-origin': APP,
      'access-control-expose-headers': 'Retry-After',
    });
  });

  it('adds nothing for an origin not listed', async () => {
    const res = await get(stack, OTHER);
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({});
  });

  it('answers the preflight of a listed origin with 204 and the allowed methods and headers', async () => {
    const res = await preflight(stack, APP);
    expect(res.status).toBe(204);
    const headers = corsHeaders(res);
    expect(headers['access-control-allow-origin']).toBe(APP);
    expect(headers['access-control-allow-methods']?.split(',')).toEqual(
      expect.arrayContaining(['GET', 'POST']),
    );
    expect(headers['access-control-allow-headers']?.toLowerCase().split(',')).toEqual(
      expect.arrayContaining(['authorization', 'content-type']),
    );
    expect(headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('grants nothing to the preflight of an origin not listed', async () => {
    const res = await preflight(stack, OTHER);
    expect(corsHeaders(res)['access-control-allow-origin']).toBeUndefined();
  });
});
