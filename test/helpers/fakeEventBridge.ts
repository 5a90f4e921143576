import http from 'node:http';
import type { AddressInfo } from 'node:net';

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
export class FakeEventBridge {
  /** Accepted entries, in the order they arrived. */
  received: ReceivedEvent[] = [];
  /** Entries per PutEvents call, for each call that arrived. */
  callSizes: number[] = [];
  /** While true, every call answers 503. */
  down = false;
  /** Entries for which this returns true are refused (InternalFailure). */
  refuse: (event: ReceivedEvent) => boolean = () => false;
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => this.answer(req, body, res));
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** The environment that points the SDK client here: dummy credentials, one attempt per call. */
  static env(endpoint: string): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDFAKEFORTESTS',
      AWS_SECRET_ACCESS_KEY: 'fake-secret-for-tests',
      AWS_MAX_ATTEMPTS: '1',
    };
  }

  private answer(req: http.IncomingMessage, body: string, res: http.ServerResponse) {
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
