import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiClient, ApiResponse, expectToSatisfySpec, toSpecResponse } from '../helpers/api';

/**
 * Proves that the check apiClient runs on every response catches drift from
 * openapi.yaml: the responses are built here, through the same adapter.
 */
function fake(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  const text = body === undefined ? '' : JSON.stringify(body);
  return {
    status,
    // What every answer of the service carries; a test may override or drop it.
    headers: new Headers({
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      ...headers,
    }),
    body,
    text,
  };
}

function check(method: string, path: string, res: ApiResponse): () => void {
  return () => expectToSatisfySpec(toSpecResponse(method, path, res));
}

const ID = '3f2b8c1e-6a4d-4f0e-9b7a-2c5d8e1f0a93';
const T = '2026-11-26T20:00:00.000Z';

const issued = {
  id: ID,
  channel: 'email',
  destination: 'j***@example.com',
  expiresAt: T,
  resendAvailableAt: T,
  locale: 'pt',
};

const request = {
  id: ID,
  userId: 7,
  requestedBy: 7,
  requestType: 'manual_verification',
  details: { channel: 'phone' },
  status: 'pending',
  reviewedBy: null,
  reviewedAt: null,
  reviewNote: null,
  createdAt: T,
  updatedAt: T,
};

const info = {
  userId: 7,
  status: 'email_verified',
  isPhoneVerified: false,
  isEmailVerified: true,
  isFullyVerified: false,
};

describe('response validation against openapi.yaml', () => {
  it('accepts responses that match the document', () => {
    expect(check('GET', '/health', fake(200, { status: 'ok', database: 'ok' }))).not.toThrow();
    for (const degraded of [
      { status: 'degraded', database: 'unavailable' },
      { status: 'degraded', database: 'ok', schema: 'behind' },
    ]) {
      expect(check('GET', '/health', fake(503, degraded, { 'Retry-After': '5' }))).not.toThrow();
    }
    expect(check('POST', '/verification/codes', fake(201, issued))).not.toThrow();
    expect(
      check('POST', '/verification/codes', fake(201, { ...issued, destination: '+*******1234' })),
    ).not.toThrow();
    expect(
      check('POST', '/verification/verify', fake(200, { verified: true, verification: info })),
    ).not.toThrow();
    expect(check('GET', '/users/me/verification', fake(200, info))).not.toThrow();
    expect(check('GET', '/users/7/verification', fake(200, info))).not.toThrow();
    expect(
      check(
        'GET',
        '/staff-approval-requests?status=pending&limit=2',
        fake(200, { items: [request], nextCursor: null }),
      ),
    ).not.toThrow();
    expect(
      check(
        'POST',
        `/staff-approval-requests/${ID}/approve`,
        fake(200, {
          ...request,
          requestedBy: null,
          status: 'approved',
          reviewedBy: 9,
          reviewedAt: T,
          reviewNote: 'ok',
        }),
      ),
    ).not.toThrow();
  });

  it('accepts documented errors, with extra details inside error', () => {
    expect(
      check(
        'POST',
        '/verification/verify',
        fake(422, { error: { code: 'invalid_code', message: 'Wrong code', attemptsRemaining: 3 } }),
      ),
    ).not.toThrow();
    expect(
      check(
        'POST',
        '/verification/codes',
        fake(429, { error: { code: 'rate_limited', message: 'Wait' } }, { 'Retry-After': '30' }),
      ),
    ).not.toThrow();
    expect(
      check(
        'GET',
        '/users/me/verification',
        fake(
          503,
          { error: { code: 'service_unavailable', message: 'Try again' } },
          { 'Retry-After': '5' },
        ),
      ),
    ).not.toThrow();
    expect(
      check(
        'POST',
        `/staff-approval-requests/${ID}/reject`,
        fake(403, { error: { code: 'self_review', message: 'Not your own' } }),
      ),
    ).not.toThrow();
  });

  it('rejects a success body with a required field missing', () => {
    const { resendAvailableAt: _omitted, ...incomplete } = issued;
    expect(check('POST', '/verification/codes', fake(201, incomplete))).toThrow(
      /resendAvailableAt/,
    );
    const { reviewNote: _gone, ...noNote } = request;
    expect(check('GET', `/staff-approval-requests/${ID}`, fake(200, noNote))).toThrow(/reviewNote/);
  });

  it('rejects an undocumented field, type or value in a success body', () => {
    expect(check('GET', '/users/me/verification', fake(200, { ...info, email: 'x@y.z' }))).toThrow(
      /additional properties/,
    );
    expect(check('GET', '/users/me/verification', fake(200, { ...info, userId: '7' }))).toThrow(
      /userId must be integer/,
    );
    expect(check('GET', '/users/me/verification', fake(200, { ...info, status: 'half' }))).toThrow(
      /status must be equal to one of the allowed values/,
    );
    // A full address where a masked one is documented.
    expect(
      check('POST', '/verification/codes', fake(201, { ...issued, destination: 'jo@example.com' })),
    ).toThrow(/destination must match pattern/);
    // A timestamp that is not UTC with milliseconds.
    expect(
      check(
        'POST',
        '/verification/codes',
        fake(201, { ...issued, expiresAt: '2026-11-26T21:00:00+01:00' }),
      ),
    ).toThrow(/expiresAt must match pattern/);
  });

  it('rejects a status the operation does not document', () => {
    expect(
      check(
        'POST',
        '/verification/codes',
        fake(404, { error: { code: 'not_found', message: 'x' } }),
      ),
    ).toThrow(/has no 404 response defined/);
    expect(
      check('GET', '/users/me/verification', fake(400, { error: { code: 'x', message: 'x' } })),
    ).toThrow(/has no 400 response defined/);
  });

  it('rejects an error code the status does not document, or a missing detail', () => {
    expect(
      check(
        'POST',
        `/staff-approval-requests/${ID}/cancel`,
        fake(409, { error: { code: 'duplicate_pending', message: 'x' } }),
      ),
    ).toThrow(/code must be equal to one of the allowed values/);
    expect(
      check(
        'POST',
        '/verification/verify',
        fake(422, { error: { code: 'invalid_code', message: 'Wrong code' } }),
      ),
    ).toThrow(/attemptsRemaining/);
    expect(check('GET', '/users/me/verification', fake(401, { message: 'Unauthorized' }))).toThrow(
      /required property 'error'/,
    );
  });

  it('rejects an answer without Cache-Control: no-store', () => {
    const ok = { status: 'ok', database: 'ok' };
    expect(check('GET', '/health', fake(200, ok, { 'Cache-Control': 'max-age=60' }))).toThrow(
      /Cache-Control should be one of no-store/,
    );
    const bare = fake(200, ok);
    bare.headers.delete('Cache-Control');
    expect(check('GET', '/health', bare)).toThrow(/Cache-Control is required/);
  });

  it('rejects a 429 or 503 without a Retry-After header, and a body or media type that is not JSON', () => {
    expect(
      check(
        'POST',
        '/verification/codes',
        fake(429, { error: { code: 'rate_limited', message: 'Wait' } }),
      ),
    ).toThrow(/Retry-After is required/);
    expect(
      check('GET', '/health', fake(503, { status: 'degraded', database: 'unavailable' })),
    ).toThrow(/Retry-After is required/);
    expect(
      check(
        'GET',
        '/health',
        fake(503, { status: 'degraded', database: 'unavailable' }, { 'Retry-After': 'soon' }),
      ),
    ).toThrow(/Retry-After should be an integer/);
    const html: ApiResponse = {
      status: 200,
      headers: new Headers({ 'Content-Type': 'text/html' }),
      body: undefined,
      text: '<h1>ok</h1>',
    };
    expect(check('GET', '/health', html)).toThrow(/must be object/);
    const mislabelled: ApiResponse = {
      ...fake(200, { status: 'ok', database: 'ok' }),
      headers: new Headers({ 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }),
    };
    expect(check('GET', '/health', mislabelled)).toThrow(/Content-Type text\/plain/);
  });

  it('rejects health answers that mix the documented shapes', () => {
    const behindWithOk = fake(200, { status: 'ok', database: 'ok', schema: 'behind' });
    expect(check('GET', '/health', behindWithOk)).toThrow();
    for (const mixed of [
      { status: 'degraded', database: 'unavailable', schema: 'behind' },
      { status: 'degraded', database: 'ok' },
      { status: 'ok', database: 'ok', schema: 'behind' },
    ]) {
      expect(check('GET', '/health', fake(503, mixed, { 'Retry-After': '5' }))).toThrow();
    }
  });

  it('rejects a path or method the document does not have', () => {
    expect(check('GET', '/nope', fake(404, { message: 'Not Found' }))).toThrow(/no matching path/);
    expect(check('DELETE', '/health', fake(200, { status: 'ok', database: 'ok' }))).toThrow(
      /no DELETE operation defined/,
    );
  });
});

describe('apiClient checks what it receives', () => {
  let server: http.Server;
  let next: { status: number; body: string; headers?: Record<string, string> };
  let call: ReturnType<typeof apiClient>;

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(next.status, {
        'Content-Type': 'application/json',
        'Cache-Control': 'no-store',
        ...next.headers,
      });
      res.end(next.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    call = apiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('passes a documented response through', async () => {
    next = { status: 200, body: JSON.stringify({ status: 'ok', database: 'ok' }) };
    const res = await call('GET', '/health');
    expect(res.body).toEqual({ status: 'ok', database: 'ok' });
  });

  it('fails the call on an undocumented status or a drifted body', async () => {
    next = { status: 418, body: JSON.stringify({ error: { code: 'teapot', message: 'x' } }) };
    await expect(call('GET', '/health')).rejects.toThrow(/has no 418 response defined/);
    next = { status: 200, body: JSON.stringify({ status: 'ok' }) };
    await expect(call('GET', '/health')).rejects.toThrow(/required property 'database'/);
  });

  it('skips the check only when asked, for requests outside the API', async () => {
    next = { status: 404, body: JSON.stringify({ message: 'Not Found' }) };
    await expect(call('GET', '/nope')).rejects.toThrow(/no matching path/);
    const res = await call('GET', '/nope', { skipSpecCheck: true });
    expect(res.status).toBe(404);
  });
});
