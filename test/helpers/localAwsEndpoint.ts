import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Credentials and a region for an AWS SDK v3 client pointed at a local endpoint. */
export const FAKE_AWS_CREDENTIALS: Record<string, string> = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDFAKEFORTESTS',
  AWS_SECRET_ACCESS_KEY: 'fake-secret-for-tests',
};

/**
 * An HTTP server on a free loopback port that stands in for an AWS service:
 * the real SDK client reaches it through AWS_ENDPOINT_URL_<SERVICE>. A
 * subclass answers each request from its whole body.
 */
export abstract class LocalAwsEndpoint {
  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => this.answer(req, body, res));
  });

  protected abstract answer(
    req: http.IncomingMessage,
    body: string,
    res: http.ServerResponse,
  ): void;

  /** Starts listening; the endpoint URL for the AWS_ENDPOINT_URL_* variables. */
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
