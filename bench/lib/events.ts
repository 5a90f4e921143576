import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

/** The HS256 key the benchmarked functions and the floor are configured with. */
export const BENCH_JWT_SECRET = 'bench-secret-for-hs256-at-least-32-characters';
export const BENCH_PEPPER = 'bench-pepper-0123456789abcdef';

/**
 * The settings every benchmarked function gets. Delivery is `log` with
 * LOG_LEVEL=WARN: the sender runs (the code is built, the message prepared), but
 * no line reaches stdout, so neither the handlers nor the floor pay for output
 * or for an HTTP hop that a real provider would add on both sides alike.
 * The cooldown is 0 and the caps high, so repeated sends (and staff approval
 * requests about the same user) are allowed; the limit queries still run and
 * count every row of the last hour (every pending request of the user).
 */
export function functionEnv(databaseUrl: string): Record<string, string> {
  return {
    STAGE: 'bench',
    // Every stage is production unless listed (TLS, issuer and audience required).
    NON_PRODUCTION_STAGES: 'bench',
    SERVICE_NAME: 'verification-service',
    LOG_LEVEL: 'WARN',
    DATABASE_URL: databaseUrl,
    AUTH_JWT_SECRET: BENCH_JWT_SECRET,
    AUTH_USER_ID_CLAIM: 'sub',
    VERIFICATION_CODE_PEPPER: BENCH_PEPPER,
    CODE_DELIVERY: 'log',
    VERIFICATION_CODE_LENGTH: '6',
    VERIFICATION_CODE_TTL_SECONDS: '600',
    VERIFICATION_MAX_ATTEMPTS: '5',
    VERIFICATION_SEND_COOLDOWN_SECONDS: '0',
    VERIFICATION_MAX_SENDS_PER_HOUR: '1000',
    VERIFICATION_MAX_SENDS_PER_DESTINATION_PER_HOUR: '10000',
    STAFF_APPROVAL_MAX_PENDING_PER_USER: '1000',
  };
}

export function tokenFor(userId: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(String(userId))
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(BENCH_JWT_SECRET));
}

export interface EventInput {
  method: 'GET' | 'POST';
  /** The route as in serverless.yml, e.g. /staff-approval-requests/{id}. */
  route: string;
  token?: string;
  body?: unknown;
  query?: Record<string, string>;
  pathParameters?: Record<string, string>;
  /** More request headers, such as Idempotency-Key. */
  headers?: Record<string, string>;
}

/** An API Gateway HTTP API (payload 2.0) event, as Lambda hands it to a handler. */
export function httpEvent(input: EventInput): APIGatewayProxyEventV2 {
  const rawPath = input.route.replace(
    /\{(\w+)\}/g,
    (_, name: string) => input.pathParameters?.[name] ?? '',
  );
  const rawQueryString = new URLSearchParams(input.query ?? {}).toString();
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${input.method} ${input.route}`,
    rawPath,
    rawQueryString,
    headers: {
      host: 'bench.execute-api.eu-west-1.amazonaws.com',
      'content-type': 'application/json',
      ...(input.token ? { authorization: `Bearer ${input.token}` } : {}),
      ...input.headers,
    },
    ...(input.query ? { queryStringParameters: input.query } : {}),
    ...(input.pathParameters ? { pathParameters: input.pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      domainName: 'bench.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'bench',
      http: {
        method: input.method,
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'bench',
      },
      requestId: randomUUID(),
      routeKey: `${input.method} ${input.route}`,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...(input.body === undefined ? {} : { body: JSON.stringify(input.body) }),
    isBase64Encoded: false,
  };
}

export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 10000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
