import { ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** A port nobody listens on now (the kernel picks it from its ephemeral range). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port for a server to listen on later. It is taken below the kernel's ephemeral
 * range (32768-60999 on Linux): a port from listen(0) is free only until some
 * outgoing connection or another listen(0) is given the same number; two calls in
 * a row once returned the same port for the HTTP and the Lambda server, and
 * serverless-offline failed with EADDRINUSE in CI.
 */
async function serverPort(except?: number): Promise<number> {
  for (;;) {
    const port = randomInt(20_000, 32_000);
    if (port !== except && (await canListen(port))) return port;
  }
}

export interface OfflineServer {
  baseUrl: string;
  /** Everything the process printed (logs of the functions included). */
  output(): string;
  stop(): Promise<void>;
}

export interface OfflineOptions {
  /** More `serverless offline start` flags, such as `--reloadHandler`. */
  args?: string[];
}

/**
 * Starts `serverless offline` (the real HTTP API emulation, bundling with esbuild)
 * with the given environment, on free ports, and waits until it serves. Two
 * servers of parallel tests can still draw the same port; a start that fails with
 * EADDRINUSE is tried again on other ports.
 */
export async function startOffline(
  env: Record<string, string>,
  opts: OfflineOptions = {},
): Promise<OfflineServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(env, opts);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortTakenError)) throw err;
    }
  }
}

class PortTakenError extends Error {}

async function launch(env: Record<string, string>, opts: OfflineOptions): Promise<OfflineServer> {
  const httpPort = await serverPort();
  // Both ports are free when drawn, but not held: they must also differ.
  const lambdaPort = await serverPort(httpPort);
  const workFolder = `.esbuild-test-${process.pid}-${httpPort}`;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'),
      'offline',
      'start',
      '--httpPort',
      String(httpPort),
      '--lambdaPort',
      String(lambdaPort),
      '--noTimeout',
      ...(opts.args ?? []),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        CODE_DELIVERY: 'log',
        ...env,
        ESBUILD_WORK_FOLDER: workFolder,
        SLS_TELEMETRY_DISABLED: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));

  const stop = async () => {
    const { rm } = await import('node:fs/promises');
    const removeWorkFolder = () =>
      rm(path.join(ROOT, workFolder), { recursive: true, force: true });
    if (child.exitCode !== null || child.pid === undefined) return removeWorkFolder();
    const exited = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return removeWorkFolder();
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
    await removeWorkFolder();
  };

  const deadline = Date.now() + 90_000;
  while (!out.includes('Server ready')) {
    if (child.exitCode !== null) {
      await stop();
      if (out.includes('EADDRINUSE')) throw new PortTakenError(out);
      throw new Error(`serverless offline exited:\n${out}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`serverless offline did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { baseUrl: `http://127.0.0.1:${httpPort}`, output: () => out, stop };
}
