import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { ANSWER_MARK } from './container';

const ROOT = path.resolve(__dirname, '..', '..');

export interface ContainerAnswer {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

/**
 * A process that loads one handler module (test/helpers/container.ts): one Lambda
 * container, kept warm between invocations, outside serverless-offline.
 */
export class LambdaContainer {
  private readonly child: ChildProcess;
  private readonly pending: Array<(v: { result: ContainerAnswer; ms: number }) => void> = [];
  readonly ready: Promise<void>;

  constructor(handlerModule: string, env: Record<string, string>) {
    this.child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        'test/helpers/container.ts',
        handlerModule,
      ],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'ignore'] },
    );
    let markReady: () => void = () => undefined;
    this.ready = new Promise((resolve) => (markReady = resolve));
    const lines = readline.createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => {
      if (!line.startsWith(ANSWER_MARK)) return;
      const msg = JSON.parse(line.slice(ANSWER_MARK.length)) as {
        ready?: boolean;
        result?: ContainerAnswer;
        ms?: number;
      };
      if (msg.ready) return markReady();
      this.pending.shift()?.({ result: msg.result as ContainerAnswer, ms: msg.ms ?? 0 });
    });
  }

  invoke(event: unknown): Promise<{ result: ContainerAnswer; ms: number }> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.child.stdin!.write(`${JSON.stringify(event)}\n`);
    });
  }

  stop(): void {
    this.child.stdin?.destroy();
    this.child.stdout?.destroy();
    this.child.kill('SIGKILL');
  }
}

/** An API Gateway v2 GET event with a bearer token. */
export function getEvent(rawPath: string, token: string) {
  return {
    version: '2.0',
    routeKey: `GET ${rawPath}`,
    rawPath,
    rawQueryString: '',
    headers: { authorization: `Bearer ${token}` },
    requestContext: { requestId: `req-${Math.random()}`, http: { method: 'GET', path: rawPath } },
    isBase64Encoded: false,
  };
}
