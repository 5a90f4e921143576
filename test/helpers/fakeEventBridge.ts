import type http from 'node:http';
import { FAKE_AWS_CREDENTIALS, LocalAwsEndpoint } from './localAwsEndpoint';

/** One entry as PutEvents received it. */
export interface ReceivedEvent {
  bus: string;
  source: string;
  detailType: string;
  detail: Record<string, unknown> & { eventId: string; userId: number };
}

/**
 * A stand-in for Amazon EventBridge at the HTTP boundary: the real
 * `@aws-sdk/client-eventbridge` client reaches it through
 * AWS_ENDPOINT_URL_EVENTBRIDGE and sends PutEvents in the AWS JSON 1.1
 * protocol, which it answers as EventBridge does, per entry. It can refuse
 * chosen entries (FailedEntryCount) and go down (503 for every call).
 */
export class FakeEventBridge extends LocalAwsEndpoint {
  /** Accepted entries, in the order they arrived. */
  received: ReceivedEvent[] = [];
  /** Entries per PutEvents call, for each call that arrived. */
  callSizes: number[] = [];
  /** While true, every call answers 503. */
  down = false;
  /** Entries for which this returns true are refused (InternalFailure). */
  refuse: (event: ReceivedEvent) => boolean = () => false;
  /** The environment that points the SDK client here: dummy credentials, one attempt per call. */
  static env(endpoint: string): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
      ...FAKE_AWS_CREDENTIALS,
      AWS_MAX_ATTEMPTS: '1',
    };
  }

  protected answer(req: http.IncomingMessage, body: string, res: http.ServerResponse) {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(value));
    };
    if (this.down) {
      json(503, { __type: 'ServiceUnavailableException', message: 'down (fake)' });
      return;
    }
    if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
      json(400, { __type: 'UnknownOperationException', message: 'only PutEvents' });
      return;
    }
    const input = JSON.parse(body) as {
      Entries: { EventBusName: string; Source: string; DetailType: string; Detail: string }[];
    };
    if (input.Entries.length > 10) {
      json(400, { __type: 'ValidationException', message: 'at most 10 entries' });
      return;
    }
    this.callSizes.push(input.Entries.length);
    let failed = 0;
    const entries = input.Entries.map((e) => {
      const event: ReceivedEvent = {
        bus: e.EventBusName,
        source: e.Source,
        detailType: e.DetailType,
        detail: JSON.parse(e.Detail) as ReceivedEvent['detail'],
      };
      if (this.refuse(event)) {
        failed += 1;
        return { ErrorCode: 'InternalFailure', ErrorMessage: 'refused (fake)' };
      }
      this.received.push(event);
      return { EventId: `fake-${this.received.length}` };
    });
    json(200, { FailedEntryCount: failed, Entries: entries });
  }
}
