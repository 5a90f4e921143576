import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A code delivery as the webhook adapter posts it. */
export interface Delivered {
  channel: string;
  destination: string;
  code: string;
  expiresAt: string;
  locale: string;
  subject?: string;
  text: string;
}

/**
 * A stand-in for the delivery provider at the webhook's URL: records each
 * call, or fails on demand, so tests see every code the service delivered.
 */
export class WebhookCapture {
  delivered: Delivered[] = [];
  failing = false;
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      this.delivered.push(JSON.parse(body) as Delivered);
      res.statusCode = this.failing ? 500 : 200;
      res.end('{}');
    });
  });

  /** Starts listening; the URL for CODE_WEBHOOK_URL. */
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/deliver`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** The deliveries to `destination`, oldest first. */
  to(destination: string): Delivered[] {
    return this.delivered.filter((d) => d.destination === destination);
  }

  /** The code most recently sent to `destination`. */
  codeFor(destination: string): string {
    const found = this.to(destination).at(-1);
    if (!found) throw new Error(`no code delivered to ${destination}`);
    return found.code;
  }
}
