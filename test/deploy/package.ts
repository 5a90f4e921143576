import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '..', '..');

export interface CfnResource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string[];
}

export interface Packaged {
  template: {
    Resources: Record<string, CfnResource>;
    Outputs?: Record<string, { Value: unknown }>;
  };
  /** Every text file serverless wrote (template, state), concatenated. */
  allText: string;
  /** The folder serverless wrote into: the template and one zip per function. */
  dir: string;
  cleanup(): Promise<void>;
}

/**
 * Whatever `--package` says, serverless writes the package's state into the
 * project's own `.serverless/` while it packages (and serverless-esbuild copies
 * its zips there): two packages at once, as template.test.ts and
 * templateBare.test.ts in parallel workers, read each other's template or fail.
 * So they take turns, through a lock folder per checkout.
 */
const PACKAGE_LOCK = path.join(
  os.tmpdir(),
  `vs-serverless-package-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
/** A lock older than this was left by a killed run. */
const STALE_LOCK_MS = 10 * 60_000;

async function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(PACKAGE_LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const since = await stat(PACKAGE_LOCK).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > STALE_LOCK_MS) await rm(PACKAGE_LOCK, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await work();
  } finally {
    await rm(PACKAGE_LOCK, { recursive: true, force: true });
  }
}

/**
 * Runs `serverless package` as the pipeline does: offline, no AWS credentials, into
 * a folder of its own (with an esbuild work folder of its own), one at a time.
 */
export async function packageService(
  stage: string,
  env: Record<string, string>,
): Promise<Packaged> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'vs-package-'));
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(childEnv)) {
    if (
      /^(AWS_|DATABASE_|VERIFICATION_|AUTH_|CODE_|SES_|SNS_|VPC_|SECRETS_|API_THROTTLE_|ALARM_|METRICS_)/.test(
        name,
      )
    ) {
      delete childEnv[name];
    }
  }
  Object.assign(childEnv, env, {
    ESBUILD_WORK_FOLDER: `.esbuild-test-package-${process.pid}-${path.basename(out)}`,
    SLS_TELEMETRY_DISABLED: '1',
  });
  const run = () =>
    oneAtATime(() =>
      promisify(execFile)(
        process.execPath,
        [
          path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js'),
          'package',
          '--stage',
          stage,
          '--package',
          out,
        ],
        { cwd: ROOT, env: childEnv, maxBuffer: 16 * 1024 * 1024 },
      ),
    );
  const written = async () =>
    (await readdir(out)).includes('cloudformation-template-update-stack.json');
  try {
    // Seen twice in full parallel suites, never alone, before packages took
    // turns (probably the shared .serverless/): serverless exited 0 without
    // writing the template. It is run once more then, and if that happens
    // again its output is reported.
    let output = await run();
    if (!(await written())) output = await run();
    if (!(await written())) {
      throw new Error(
        `serverless package exited 0 without writing the template\n${output.stdout}\n${output.stderr}`,
      );
    }
  } catch (err) {
    // The error carries serverless's output (`stdout`, `stderr`) for the test to read.
    await rm(out, { recursive: true, force: true });
    throw err;
  }
  const files = (await readdir(out)).filter((f) => f.endsWith('.json'));
  const texts = await Promise.all(files.map((f) => readFile(path.join(out, f), 'utf8')));
  const template = JSON.parse(
    await readFile(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Packaged['template'];
  return {
    template,
    allText: texts.join('\n'),
    dir: out,
    cleanup: () => rm(out, { recursive: true, force: true }),
  };
}

export interface Statement {
  Effect: string;
  Action: string[];
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: unknown;
}

export function statementsOf(role: CfnResource): Statement[] {
  const policies = role.Properties.Policies as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

export function resourcesOf(template: Packaged['template'], type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

/** The alarms of a template by logical id. */
export function alarmsOf(template: Packaged['template']): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([id, r]) => [id, r.Properties]),
  );
}

/** The metrics an alarm reads, as `namespace metric {dimensions} statistic/period`. */
export function metricsRead(alarm: Record<string, unknown>): string[] {
  const describe = (m: {
    Namespace: string;
    MetricName: string;
    Dimensions?: { Name: string; Value: unknown }[];
  }) =>
    `${m.Namespace} ${m.MetricName} ${JSON.stringify(
      Object.fromEntries((m.Dimensions ?? []).map((d) => [d.Name, d.Value])),
    )}`;
  if (alarm.MetricName !== undefined) {
    return [`${describe(alarm as never)} ${String(alarm.Statistic)}/${String(alarm.Period)}`];
  }
  return (alarm.Metrics as { MetricStat?: { Metric: never; Stat: string; Period: number } }[])
    .filter((q) => q.MetricStat)
    .map((q) => {
      const s = q.MetricStat as { Metric: never; Stat: string; Period: number };
      return `${describe(s.Metric)} ${s.Stat}/${s.Period}`;
    });
}

/** The expression an alarm compares (the one query that returns data), if it uses metric math. */
export function alarmExpression(alarm: Record<string, unknown>): string | undefined {
  const metrics = alarm.Metrics as { Expression?: string; ReturnData?: boolean }[] | undefined;
  return metrics?.find((q) => q.ReturnData)?.Expression;
}

/** The names of the files in a zip, read with Python's zipfile (as npm run bench unzips). */
export async function zipEntries(zip: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('python3', [
    '-c',
    'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))',
    zip,
  ]);
  return stdout.split('\n').filter((line) => line !== '');
}

/** One file of a zip, as text. */
export async function zipText(zip: string, name: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    'python3',
    [
      '-c',
      'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())',
      zip,
      name,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}
