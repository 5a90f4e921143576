import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';

/**
 * Headless Chromium for the browser tests: Debian's `chromium` package
 * driven by puppeteer-core (whose own browser download cannot work offline).
 */

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Flags that keep Chromium from calling home or needing a display or a sandbox (root). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

function aptInstall(): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '-q', 'chromium'], {
      env,
      stdio: 'pipe',
      timeout: 600_000,
    });
  try {
    install();
  } catch {
    // The package lists may be missing or stale (a fresh container).
    execFileSync('apt-get', ['update', '-q'], { env, stdio: 'pipe', timeout: 300_000 });
    install();
  }
}

/**
 * The Chromium to test with, installed with apt-get when it is missing and
 * this process may install packages (root); otherwise why there is none.
 */
export function findChromium(): { path: string } | { missing: string } {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  if (process.getuid?.() !== 0) {
    return { missing: `${CHROMIUM} is missing; install it as root: apt-get install -y chromium` };
  }
  try {
    aptInstall();
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { missing: `${CHROMIUM} is missing and apt-get install -y chromium failed: ${reason}` };
  }
  return existsSync(CHROMIUM)
    ? { path: CHROMIUM }
    : { missing: `apt-get installed chromium, but ${CHROMIUM} is still missing` };
}

type Puppeteer = typeof import('puppeteer-core');

/** puppeteer-core, as the browser tests' Jest environment provides it (environment.cjs). */
function puppeteer(): Puppeteer {
  const loaded = (globalThis as { puppeteer?: Puppeteer }).puppeteer;
  if (!loaded) {
    throw new Error(
      'puppeteer-core is missing: run this test with @jest-environment ./test/browser/environment.cjs',
    );
  }
  return loaded;
}

export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile, removed on close. */
export async function launchBrowser(executablePath: string): Promise<TestBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'vs-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer().launch({
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS, `--user-data-dir=${profile}`],
      defaultViewport: { width: 1024, height: 720 },
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * axe-core's serious and critical findings on the page as it is now (axe is
 * injected into the page through the DevTools protocol, as a browser
 * extension would, so the page's Content-Security-Policy does not block it).
 */
export async function seriousAxeFindings(page: Page): Promise<AxeFinding[]> {
  await page.evaluate(AXE_SOURCE);
  const findings = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run: (context: Document, options: object) => Promise<unknown> };
      }
    ).axe;
    const result = (await axe.run(document, { resultTypes: ['violations'] })) as {
      violations: {
        id: string;
        impact: string | null;
        help: string;
        nodes: { target: unknown[] }[];
      }[];
    };
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  return findings.filter((f) => f.impact === 'serious' || f.impact === 'critical');
}
