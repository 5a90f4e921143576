import http from 'node:http';
import https from 'node:https';

/** The fields of a CloudFormation custom-resource request that the migrate function uses. */
export interface CustomResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
}

export interface CustomResourceResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, string>;
}

export function isCustomResourceEvent(event: unknown): event is CustomResourceEvent {
  if (typeof event !== 'object' || event === null) return false;
  const e = event as Record<string, unknown>;
  return (
    typeof e.RequestType === 'string' &&
    typeof e.ResponseURL === 'string' &&
    typeof e.StackId === 'string' &&
    typeof e.RequestId === 'string' &&
    typeof e.LogicalResourceId === 'string'
  );
}

/** CloudFormation rejects response bodies over 4 KB; the reason is the part that can grow. */
const MAX_REASON_LENGTH = 2000;

export function customResourceResponse(
  event: CustomResourceEvent,
  outcome: { ok: true; data?: Record<string, string> } | { ok: false; reason: string },
): CustomResourceResponse {
  return {
    Status: outcome.ok ? 'SUCCESS' : 'FAILED',
    ...(outcome.ok ? {} : { Reason: outcome.reason.slice(0, MAX_REASON_LENGTH) }),
    // Stable across updates, so CloudFormation never sends a Delete for a replaced id.
    PhysicalResourceId:
      event.PhysicalResourceId ?? `${event.LogicalResourceId}-database-migrations`,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    ...(outcome.ok && outcome.data ? { Data: outcome.data } : {}),
  };
}

/**
 * PUTs the response to the pre-signed ResponseURL. The empty content-type is what
 * the pre-signed S3 URL was signed for.
 */
export function sendCustomResourceResponse(
  responseUrl: string,
  response: CustomResourceResponse,
  timeoutMs = 10000,
): Promise<void> {
  const body = JSON.stringify(response);
  const url = new URL(responseUrl);
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      {
        method: 'PUT',
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new Error(`The custom-resource response URL answered HTTP ${status}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('The custom-resource response URL timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
