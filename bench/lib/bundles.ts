import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build, type BuildOptions, type Plugin } from 'esbuild';

const run = promisify(execFile);
export const ROOT = path.resolve(__dirname, '..', '..');
// custom.esbuild.plugins of serverless.yml.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const SERVERLESS_ESBUILD_PLUGINS = require('../../deploy/esbuild-plugins.cjs') as Plugin[];

/**
 * The options serverless.yml gives serverless-esbuild (bundle, minify, platform
 * node, target node22, pg-native external, its plugins), for the bundles the
 * benchmark builds itself; keepNames is the caller's.
 */
export const BENCH_BUILD_OPTIONS: BuildOptions = {
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  external: ['pg-native'],
  plugins: SERVERLESS_ESBUILD_PLUGINS,
  logLevel: 'silent',
};

export interface Bundle {
  /** The serverless function name (or the fixture name). */
  name: string;
  zip: string;
  zipBytes: number;
  /** The handler file inside the unzipped folder. */
  file: string;
  /** The handler's exported name. */
  exportName: string;
}

/** The API functions: the ones behind an httpApi event. */
export const API_FUNCTIONS = [
  'health',
  'issueVerificationCode',
  'verifyVerificationCode',
  'getMyVerification',
  'getUserVerification',
  'staffApprovalCreate',
  'staffApprovalList',
  'staffApprovalGet',
  'staffApprovalApprove',
  'staffApprovalReject',
  'staffApprovalCancel',
] as const;
export type ApiFunction = (typeof API_FUNCTIONS)[number];

/**
 * `serverless package` as the pipeline runs it (offline, no AWS credentials), into
 * a folder of its own with an esbuild work folder of its own.
 */
export async function packageService(workDir: string): Promise<string> {
  const out = path.join(workDir, 'package');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(AWS_|DATABASE_|VERIFICATION_|AUTH_|CODE_|SES_|SNS_|VPC_)/.test(name)) delete env[name];
  }
  Object.assign(env, {
    ESBUILD_WORK_FOLDER: path.join(workDir, 'esbuild'),
    SLS_TELEMETRY_DISABLED: '1',
  });
  await run(
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'),
      'package',
      '--stage',
      'bench',
      '--package',
      out,
    ],
    { cwd: ROOT, env, maxBuffer: 32 * 1024 * 1024 },
  );
  return out;
}

/** Unzips a function's package into `dir` and names its handler file. */
export async function unzipBundle(zip: string, dir: string, handlerPath: string): Promise<Bundle> {
  await mkdir(dir, { recursive: true });
  await run('python3', ['-m', 'zipfile', '-e', zip, dir]);
  const [file, exportName] = splitHandler(handlerPath);
  return {
    name: path.basename(zip, '.zip'),
    zip,
    zipBytes: (await stat(zip)).size,
    file: path.join(dir, `${file}.js`),
    exportName,
  };
}

function splitHandler(handler: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  return [handler.slice(0, dot), handler.slice(dot + 1)];
}

/** The handler path of each function, read from the packaged service state. */
export async function handlersOf(packageDir: string): Promise<Record<string, string>> {
  const state = (await import(path.join(packageDir, 'serverless-state.json'))) as {
    service: { functions: Record<string, { handler: string }> };
  };
  const out: Record<string, string> = {};
  for (const [name, fn] of Object.entries(state.service.functions)) out[name] = fn.handler;
  return out;
}

/**
 * Builds a fixture handler with the options serverless.yml gives serverless-esbuild
 * (bundle, minify, keepNames, platform node, target node22, pg-native external,
 * its plugins), then zips it the same way, so its size compares with the
 * functions' packages.
 */
export async function buildFixture(name: string, workDir: string): Promise<Bundle> {
  const dir = path.join(workDir, 'fixtures', name);
  await rm(dir, { recursive: true, force: true });
  const file = path.join(dir, 'handler.js');
  await build({
    ...BENCH_BUILD_OPTIONS,
    entryPoints: [path.join(ROOT, 'bench', 'fixtures', `${name}.ts`)],
    outfile: file,
    keepNames: true,
    sourcemap: false,
  });
  const zip = path.join(workDir, 'fixtures', `${name}.zip`);
  await run('python3', ['-m', 'zipfile', '-c', zip, file]);
  return { name, zip, zipBytes: (await stat(zip)).size, file, exportName: 'handler' };
}

export async function zipsIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.zip')).map((f) => path.join(dir, f));
}

export const tmpRoot = () => path.join(os.tmpdir(), `vs-bench-${process.pid}`);
