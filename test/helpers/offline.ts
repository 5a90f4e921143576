import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

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
 * with the given environment, on free ports, and waits until it serves.
 */
export async function startOffline(
  env: Record<string, string>,
  opts: OfflineOptions = {},
): Promise<OfflineServer> {
  const httpPort = await freePort();
  const lambdaPort = await freePort();
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
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
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
    const { rm } = await import('node:fs/promises');
    await rm(path.join(ROOT, workFolder), { recursive: true, force: true });
  };

  const deadline = Date.now() + 90_000;
  while (!out.includes('Server ready')) {
    if (child.exitCode !== null) throw new Error(`serverless offline exited:\n${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`serverless offline did not start in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { baseUrl: `http://127.0.0.1:${httpPort}`, output: () => out, stop };
}
