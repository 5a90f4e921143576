import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { MigrationSettings } from '../settings';
import type { LintStatus, MigrationLinter, PlanFlag } from './types';

/** The project's accepted findings: rules it excludes, each with its reason. */
export const SQUAWK_CONFIG = '.squawk.toml';

/** What squawk's `--reporter json` prints per finding (lines and columns from 0). */
interface SquawkViolation {
  line: number;
  column: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

/** Where the squawk binary of a checkout is, or why there is none. */
export type SquawkInstall =
  { binary: string; version: string; config: string | null } | { missing: string };

/**
 * Finds squawk as the npm package `squawk-cli` installs it under `root` (its
 * own `getBinaryPath`, which picks the platform package). The deployed migrate
 * function has no node_modules and does not ship squawk: a 25 MB binary per
 * CPU architecture, to check SQL that `npm run lint` has already checked in CI.
 */
export function findSquawk(root: string): SquawkInstall {
  const fromRoot = createRequire(path.join(root, 'package.json'));
  let version: string;
  let binary: string;
  try {
    version = (fromRoot('squawk-cli/package.json') as { version: string }).version;
    const cli = fromRoot('squawk-cli/js/index.js') as { getBinaryPath(): string };
    binary = cli.getBinaryPath();
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { missing: `squawk is not installed here (${why})` };
  }
  const config = path.join(root, SQUAWK_CONFIG);
  return { binary, version, config: existsSync(config) ? config : null };
}

/**
 * The SQL squawk reads for one migration: the timeouts every migration session
 * of the runner sets (lib/migrator/runner.ts), then each statement on lines of
 * its own. `starts[i]` is the line (from 0) where statement i begins.
 */
export function squawkInput(
  statements: readonly string[],
  settings: MigrationSettings,
): { text: string; starts: number[] } {
  const lines = [
    `SET lock_timeout = ${settings.lockTimeoutMs};`,
    `SET statement_timeout = ${settings.statementTimeoutMs};`,
  ];
  const starts: number[] = [];
  for (const sql of statements) {
    starts.push(lines.length);
    // The semicolon on a line of its own: a statement may end in a -- comment.
    lines.push(...sql.trimEnd().split(/\r?\n/), ';');
  }
  return { text: `${lines.join('\n')}\n`, starts };
}

/** The statement a line of squawkInput belongs to (undefined for the timeouts before them). */
function statementAt(starts: readonly number[], line: number): number | undefined {
  let found: number | undefined;
  starts.forEach((start, index) => {
    if (start <= line) found = index;
  });
  return found;
}

/** A linter that runs squawk (with the project's .squawk.toml) over each migration's SQL. */
export function squawkLinter(install: SquawkInstall): MigrationLinter {
  if ('missing' in install) {
    return {
      status: { tool: null, reason: install.missing },
      lint: () => Promise.reject(new Error(install.missing)),
    };
  }
  const status: LintStatus = {
    tool: 'squawk',
    version: install.version,
    config: install.config === null ? null : path.basename(install.config),
  };
  return {
    status,
    async lint(statements, { inTransaction, settings }) {
      if (statements.length === 0) return [];
      const { text, starts } = squawkInput(statements, settings);
      const args = [
        '--reporter',
        'json',
        '--stdin-filepath',
        'migration.sql',
        inTransaction ? '--assume-in-transaction' : '--no-assume-in-transaction',
        ...(install.config === null ? [] : ['--config', install.config]),
      ];
      const violations = await runSquawk(install.binary, args, text);
      return violations.map((v): PlanFlag => {
        const statement = statementAt(starts, v.line);
        const message = v.help ? `${v.message} ${v.help}` : v.message;
        return { rule: v.rule_name, message, ...(statement === undefined ? {} : { statement }) };
      });
    },
  };
}

/** Runs squawk on `input`: its findings (exit 0: none, 1: some); anything else throws. */
function runSquawk(binary: string, args: string[], input: string): Promise<SquawkViolation[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        if (code !== 0 && code !== 1) throw new Error(`exit code ${code}`);
        const parsed = JSON.parse(stdout) as SquawkViolation[];
        if (!Array.isArray(parsed)) throw new Error('not a JSON array');
        resolve(parsed);
      } catch (err) {
        const detail = stderr.trim() || stdout.trim() || (err as Error).message;
        reject(new Error(`squawk failed: ${detail.split('\n')[0]}`, { cause: err }));
      }
    });
    child.stdin.end(input);
  });
}
