import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the receiver answers one request: an HTTP status, `hang` (never
 * answers), or `reset` (drops the connection without an answer).
 */
export type Answer = number | 'hang' | 'reset';

export interface ReceivedCall {
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** The raw body, exactly as sent (what the signature covers). */
  body: string;
  /** Date.now() when the request had arrived whole. */
  at: number;
}

/**
 * A local stand-in for a webhook receiver: records every request and answers
 * from a script (`answers`, one per request, then `then` for the rest).
 */
export class WebhookReceiver {
  calls: ReceivedCall[] = [];
  answers: Answer[] = [];
  then: Answer = 200;
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers[name] = value;
      }
      this.calls.push({ headers, body, at: Date.now() });
      const answer = this.answers.shift() ?? this.then;
      if (answer === 'hang') return;
      if (answer === 'reset') {
        req.socket.destroy();
        return;
      }
      res.statusCode = answer;
      res.end('{}');
    });
  });

  /** Starts listening; the URL to POST to. */
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/codes`;
  }

  /** Forgets the calls and sets the script for the next requests. */
  script(answers: Answer[], then: Answer = 200): void {
    this.calls = [];
    this.answers = [...answers];
    this.then = then;
  }

  /** The parsed bodies received so far. */
  bodies<T = Record<string, unknown>>(): T[] {
    return this.calls.map((c) => JSON.parse(c.body) as T);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
