/**
 * @jest-environment ./test/browser/environment.cjs
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, HTTPRequest, Page } from 'puppeteer-core';
import type { Database } from '../../lib/db';
import type { User } from '../../models';
import { ApiCall, expectErrorShape } from '../helpers/api';
import { ApiStack, startApiStack } from '../helpers/apiStack';
import { buildUser } from '../helpers/factories';
import { tokenFor } from '../helpers/tokens';
import { findChromium, launchBrowser, seriousAxeFindings, TestBrowser } from './chromium';

// The staff console in headless Chromium, against the API under
// serverless-offline on a real PostgreSQL. With UPDATE_SCREENSHOTS=1 the run
// also writes the screenshots of docs/console.md (docs/console/*.png).

const chromium = findChromium();
if ('missing' in chromium) {
  // CI installs Chromium (.ci/run): there a missing browser is a failure, not a skip.
  if (process.env.CI) throw new Error(`browser tests cannot run: ${chromium.missing}`);
  console.warn(`SKIPPED: the staff console's browser tests: ${chromium.missing}`);
}
// eslint-disable-next-line no-restricted-properties -- skipped, with the reason above, only without Chromium
const describeInBrowser = 'path' in chromium ? describe : describe.skip;

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
const SCREENSHOT_DIR = path.resolve(__dirname, '..', '..', 'docs', 'console');

jest.setTimeout(180_000);

let stack: ApiStack;
let db: Database;
let api: ApiCall;
let chrome: TestBrowser;
let reviewer: { user: User; token: string };

interface Watched {
  page: Page;
  context: BrowserContext;
  /** Every request the page made. */
  requests: HTTPRequest[];
  /** Uncaught errors, and Content-Security-Policy or Trusted Types violations. */
  problems: string[];
}

const opened: Watched[] = [];

/** A page in a browser context of its own (its own sessionStorage), watched. */
async function newPage(): Promise<Watched> {
  const context = await chrome.browser.createBrowserContext();
  const page = await context.newPage();
  const watched: Watched = { page, context, requests: [], problems: [] };
  page.on('request', (r) => watched.requests.push(r));
  page.on('pageerror', (e) => watched.problems.push(`page error: ${String(e)}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Trusted Type/i.test(m.text())) watched.problems.push(m.text());
  });
  opened.push(watched);
  return watched;
}

/** Opens the console signed in with `token` from the fragment, on a view (`#/...`) when given. */
async function signedIn(token: string, hash = ''): Promise<Watched> {
  const w = await newPage();
  await w.page.goto(`${stack.server.baseUrl}/console#token=${token}`);
  await waitForHeading(w.page, 'Approval queue');
  if (hash) await go(w.page, hash);
  return w;
}

/** Goes to a view as a link would. */
async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash);
}

async function waitForHeading(page: Page, text: string | RegExp): Promise<void> {
  const source =
    typeof text === 'string' ? `^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` : text.source;
  await page.waitForFunction(
    (pattern) => new RegExp(pattern).test(document.querySelector('h1')?.textContent ?? ''),
    { timeout: 30_000 },
    source,
  );
}

/** Waits until no "Loading…" text is left in the view. */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector('main .loading') === null, {
    timeout: 30_000,
  });
}

const text = (page: Page, selector: string) =>
  page.$eval(selector, (el) => (el as HTMLElement).innerText);

async function expectNoSeriousAxeFindings(page: Page, view: string): Promise<void> {
  const findings = await seriousAxeFindings(page);
  expect({ view, findings }).toEqual({ view, findings: [] });
}

async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage });
}

async function subject(overrides: Parameters<typeof buildUser>[1] = {}) {
  const user = await buildUser(db.models, overrides);
  return { user, token: await tokenFor(user.id) };
}

/** A pending manual_verification filed by its subject through the API. */
async function fileRequest(channel: 'phone' | 'email' = 'phone') {
  const { user, token } = await subject();
  const res = await api<{ id: string }>('POST', '/staff-approval-requests', {
    token,
    body: {
      requestType: 'manual_verification',
      details: { channel, reason: 'The SMS never arrives' },
    },
  });
  expect(res.status).toBe(201);
  return { user, id: res.body.id };
}

const rowSelector = (id: string) => `tr[data-request-id="${id}"]`;
const postsOf = (w: Watched) => w.requests.filter((r) => r.method() === 'POST');

describeInBrowser('the staff console in Chromium', () => {
  beforeAll(async () => {
    stack = await startApiStack({ VERIFICATION_CODE_PEPPER: 'console-test-pepper-0123456789' });
    ({ db, api } = stack);
    chrome = await launchBrowser((chromium as { path: string }).path);
    reviewer = await subject({ role: 'staff', name: 'Reviewer' });
  }, 180_000);

  afterEach(async () => {
    const problems = opened.flatMap((w) => w.problems);
    await Promise.all(opened.splice(0).map((w) => w.context.close()));
    expect(problems).toEqual([]);
  });

  afterAll(async () => {
    await chrome?.close();
    await stack?.stop();
  });

  it('serves the page and its assets with a strict policy; the page is never stored, assets are', async () => {
    const page = await api('GET', '/console');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    // No inline script or style: every script has a src, no style attribute or element.
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).not.toMatch(/\sstyle=|<style/);

    const assets = [...page.text.matchAll(/(?:src|href)="(console\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toHaveLength(3);
    for (const asset of assets) {
      const res = await api('GET', `/${asset}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-security-policy')).toBe(csp);
    }
    expect(assets.map((a) => path.extname(a as string)).sort()).toEqual(['.css', '.js', '.svg']);
    expectErrorShape(await api('GET', '/console/app.0000.js'), 404, 'not_found');
  });

  it('signs in from the fragment, drops the token from the address and keeps it out of every URL and log; an empty queue says so', async () => {
    const w = await signedIn(reviewer.token);
    const { page } = w;
    await settled(page);
    expect(page.url()).toBe(`${stack.server.baseUrl}/console`);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([reviewer.token]);
    expect(await text(page, '#session')).toContain(`Signed in as user ${reviewer.user.id}`);
    expect(await text(page, 'main')).toContain(
      'The queue is empty: no request is waiting for a decision.',
    );

    const apiCalls = w.requests.filter((r) => r.resourceType() === 'fetch');
    expect(apiCalls.length).toBeGreaterThan(0);
    for (const r of apiCalls) expect(r.headers().authorization).toBe(`Bearer ${reviewer.token}`);
    // What reaches the server: every request's URL without its fragment, and the server's log.
    for (const r of w.requests) {
      const sent = new URL(r.url());
      sent.hash = '';
      expect(sent.href).not.toContain(reviewer.token);
    }
    expect(stack.server.output()).not.toContain(reviewer.token);
    await expectNoSeriousAxeFindings(page, 'empty queue');
    // Trusted Types are enforced: no HTML string becomes markup.
    await expect(
      page.evaluate(() => {
        document.body.innerHTML = '<b>injected</b>';
      }),
    ).rejects.toThrow(/TrustedHTML/);
    w.problems.splice(0); // the refusal above is reported as a violation: it is the point
  });

  it('refuses a token in the query string, removes it from the address and says it is exposed', async () => {
    const { page } = await newPage();
    // Not a real token: this one does reach the server's log.
    await page.goto(`${stack.server.baseUrl}/console?token=exposed-token-value`);
    await page.waitForSelector('#warnings .notice');
    expect(await text(page, '#warnings')).toContain('treat it as exposed');
    expect(page.url()).toBe(`${stack.server.baseUrl}/console`);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await waitForHeading(page, 'Sign in');
  });

  it('the accessibility check finds serious problems where there are some', async () => {
    const { page } = await newPage();
    await page.setContent('<html><body><img src="data:,"><button></button></body></html>');
    const findings = await seriousAxeFindings(page);
    expect(findings.map((f) => f.id).sort()).toEqual(
      expect.arrayContaining(['button-name', 'html-has-lang', 'image-alt']),
    );
  });

  it('approves a request with a note; it leaves the queue', async () => {
    const { user, id } = await fileRequest('phone');
    const newer = await fileRequest('email');
    const { page } = await signedIn(reviewer.token);
    await settled(page);
    // Oldest first.
    const order = await page.$$eval('tr[data-request-id]', (rows) =>
      rows.map((r) => r.getAttribute('data-request-id')),
    );
    expect(order.indexOf(id)).toBeGreaterThanOrEqual(0);
    expect(order.indexOf(id)).toBeLessThan(order.indexOf(newer.id));
    await expectNoSeriousAxeFindings(page, 'queue');
    await screenshot(page, 'queue');

    await page.click(`${rowSelector(id)} a[href^="#/requests/"]`);
    await waitForHeading(page, 'Request: manual_verification');
    await settled(page);
    const shown = await text(page, 'main');
    expect(shown).toContain('The SMS never arrives');
    expect(shown).toContain('Nothing verified');
    expect(shown).toContain('Request filed: manual_verification');
    await expectNoSeriousAxeFindings(page, 'request');
    await screenshot(page, 'request', true);

    await page.type('textarea[name="note"]', 'Checked the ID document on a call');
    await page.click('button[value="approve"]');
    await waitForHeading(page, 'Approval queue');
    await settled(page);
    expect(await text(page, 'main')).toContain(`Approved: manual_verification for user ${user.id}`);
    expect(await page.$(rowSelector(id))).toBeNull();
    expect(await page.$(rowSelector(newer.id))).not.toBeNull();

    const row = await db.models.StaffApprovalRequest.findByPk(id);
    expect(row?.get({ plain: true })).toMatchObject({
      status: 'approved',
      reviewedBy: reviewer.user.id,
      reviewNote: 'Checked the ID document on a call',
    });
    expect((await db.models.User.findByPk(user.id))?.isPhoneVerified).toBe(true);
  });

  it('refuses to reject without a note in the page, sending nothing; with a note it rejects', async () => {
    const { id } = await fileRequest();
    const w = await signedIn(reviewer.token, `#/requests/${id}`);
    const { page } = w;
    await waitForHeading(page, 'Request: manual_verification');
    await settled(page);

    await page.click('button[value="reject"]');
    await page.waitForSelector('.field-error:not([hidden])');
    expect(await text(page, '.field-error')).toBe(
      'Write a note to reject: it tells the requester why.',
    );
    const note = await page.$eval('textarea[name="note"]', (el) => ({
      invalid: el.getAttribute('aria-invalid'),
      describedBy: el.getAttribute('aria-describedby') ?? '',
      focused: document.activeElement === el,
    }));
    expect(note.invalid).toBe('true');
    expect(note.focused).toBe(true);
    const errorId = await page.$eval('.field-error', (el) => el.id);
    expect(note.describedBy.split(' ')).toContain(errorId);
    expect(postsOf(w)).toEqual([]);
    expect((await db.models.StaffApprovalRequest.findByPk(id))?.status).toBe('pending');
    await expectNoSeriousAxeFindings(page, 'request with a field error');

    // Only spaces are no note either.
    await page.type('textarea[name="note"]', '   ');
    await page.click('button[value="reject"]');
    expect(postsOf(w)).toEqual([]);

    await page.type('textarea[name="note"]', 'No document on file');
    await page.click('button[value="reject"]');
    await waitForHeading(page, 'Approval queue');
    expect(postsOf(w).map((r) => [r.url(), r.postData()])).toEqual([
      [
        `${stack.server.baseUrl}/staff-approval-requests/${id}/reject`,
        JSON.stringify({ note: 'No document on file' }),
      ],
    ]);
    // Every POST carries an Idempotency-Key.
    expect(postsOf(w)[0]?.headers()['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect((await db.models.StaffApprovalRequest.findByPk(id))?.get({ plain: true })).toMatchObject(
      {
        status: 'rejected',
        reviewNote: 'No document on file',
      },
    );
  });

  it('in a race between two pages one decision wins and the other page shows who made it', async () => {
    const { id } = await fileRequest();
    const other = await subject({ role: 'staff', name: 'Second reviewer' });
    const first = await signedIn(reviewer.token, `#/requests/${id}`);
    const second = await signedIn(other.token, `#/requests/${id}`);
    for (const { page } of [first, second]) {
      await waitForHeading(page, 'Request: manual_verification');
      await settled(page);
    }

    await first.page.type('textarea[name="note"]', 'Verified on a video call');
    await first.page.click('button[value="approve"]');
    await waitForHeading(first.page, 'Approval queue');

    await second.page.type('textarea[name="note"]', 'The number belongs to someone else');
    await second.page.click('button[value="reject"]');
    await second.page.waitForSelector('.notice[data-code="not_pending"]');
    const notice = await text(second.page, '.notice[data-code="not_pending"]');
    expect(notice).toContain('Someone else decided this request first');
    expect(notice).toContain(`It was approved by user ${reviewer.user.id}`);
    expect(notice).toContain('Verified on a video call');
    // The page shows the request as it now is, with no decision form, and says so to a screen reader.
    expect(await second.page.$('form.decision')).toBeNull();
    expect(await text(second.page, 'main')).toContain('This request is approved.');
    expect(
      await second.page.evaluate(() => document.activeElement?.getAttribute('data-code')),
    ).toBe('not_pending');
    await expectNoSeriousAxeFindings(second.page, 'request decided by someone else');

    expect((await db.models.StaffApprovalRequest.findByPk(id))?.get({ plain: true })).toMatchObject(
      {
        status: 'approved',
        reviewedBy: reviewer.user.id,
      },
    );
  });

  it('looks up a user and revokes a verified channel with a reason', async () => {
    const { user } = await subject({ verificationStatus: 'verified' });
    const w = await signedIn(reviewer.token);
    const { page } = w;
    await page.click('nav a[href="#/users"]');
    await waitForHeading(page, 'Users');
    await page.type('input[name="id"]', String(user.id));
    await page.keyboard.press('Enter');
    await waitForHeading(page, `User ${user.id}`);
    await settled(page);
    expect(await text(page, 'main')).toContain('Phone and email verified');
    await expectNoSeriousAxeFindings(page, 'user');

    await page.click('input[name="channel"][value="email"]');
    await page.click('form.revoke button[type="submit"]');
    expect(await text(page, 'form.revoke .field-error')).toBe(
      'Write the reason for the revocation.',
    );
    expect(postsOf(w)).toEqual([]);

    await page.type('textarea[name="reason"]', 'The mailbox was taken over');
    await page.click('form.revoke button[type="submit"]');
    await page.waitForFunction(() =>
      document.querySelector('.notice.success')?.textContent?.includes('revoked'),
    );
    await settled(page);
    const shown = await text(page, 'main');
    expect(shown).toContain(`Email verification of user ${user.id} revoked.`);
    expect(shown).toContain('Phone verified');
    expect(shown).toContain('Email verification revoked. Reason: The mailbox was taken over');
    expect(shown).toContain(`user ${reviewer.user.id}`);
    expect((await db.models.User.findByPk(user.id))?.verificationStatus).toBe('phone_verified');
    await expectNoSeriousAxeFindings(page, 'user after a revocation');
    await screenshot(page, 'user', true);
  });

  it('shows API errors in words', async () => {
    const { page } = await signedIn(
      reviewer.token,
      '#/requests/3f2b8c1e-6a4d-4f0e-9b7a-2c5d8e1f0a93',
    );
    await page.waitForSelector('.notice.error[data-code="not_found"]');
    expect(await text(page, '.notice.error')).toContain(
      'Nothing was found: it does not exist, or your account cannot see it.',
    );

    await go(page, '#/users/999999');
    await page.waitForSelector('.notice.error[data-code="not_found"]');

    // A bad filter: the service's own message names the parameter.
    await go(page, '#/queue?status=pending&user=abc');
    await page.waitForSelector('.notice.error[data-code="invalid_request"]');
    const words = await text(page, '.notice.error');
    expect(words).toContain('The service did not accept what was sent.');
    expect(words).toContain('userId');
    await expectNoSeriousAxeFindings(page, 'queue with an error');

    // A request about the reviewer: the page says someone else must decide it.
    const mine = await api<{ id: string }>('POST', '/staff-approval-requests', {
      token: reviewer.token,
      body: { requestType: 'access_review' },
    });
    await go(page, `#/requests/${mine.body.id}`);
    await waitForHeading(page, 'Request: access_review');
    expect(await text(page, 'main')).toContain('another member of staff must decide it');
    expect(await page.$('form.decision')).toBeNull();
  });

  it('asks for a new token when the token expires, and carries on where it was', async () => {
    const { id } = await fileRequest();
    const shortLived = await tokenFor(reviewer.user.id, { expiresIn: '3s' });
    const { page } = await signedIn(shortLived);
    await settled(page);
    await new Promise((r) => setTimeout(r, 3500));

    await go(page, `#/requests/${id}`);
    await waitForHeading(page, 'Sign in');
    expect(await text(page, 'main')).toContain('Your session has ended');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(await page.evaluate(() => location.hash)).toBe(`#/requests/${id}`);
    await expectNoSeriousAxeFindings(page, 'sign-in after expiry');
    await screenshot(page, 'sign-in');

    // A token the service refuses is said so, in words.
    await page.type('input[name="token"]', 'not-a-token');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.notice.error[data-code="unauthorized"]');
    expect(await text(page, '.notice.error')).toContain('Your token was refused');

    await page.type('input[name="token"]', reviewer.token);
    await page.keyboard.press('Enter');
    await waitForHeading(page, 'Request: manual_verification');
  });

  it('works with the keyboard alone, with the focus visible', async () => {
    const { id, user } = await fileRequest();
    const { page } = await signedIn(reviewer.token);
    await settled(page);

    /** Presses Tab until `selector` has the focus (at most 60 times). */
    const tabTo = async (selector: string) => {
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) {
          return;
        }
      }
      throw new Error(`Tab never reached ${selector}`);
    };
    const focusedOutline = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        return {
          visible: el.matches(':focus-visible'),
          outline: getComputedStyle(el).outlineStyle,
        };
      });

    await tabTo(`${rowSelector(id)} a`);
    expect(await focusedOutline()).toEqual({ visible: true, outline: 'solid' });
    await page.keyboard.press('Enter');
    await waitForHeading(page, 'Request: manual_verification');
    // Focus moved to the new view's heading.
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    await settled(page);

    await tabTo('textarea[name="note"]');
    await page.keyboard.type('Approved by keyboard');
    await tabTo('button[value="approve"]');
    expect(await focusedOutline()).toEqual({ visible: true, outline: 'solid' });
    await page.keyboard.press('Enter');
    await waitForHeading(page, 'Approval queue');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    expect(await text(page, 'main')).toContain(`Approved: manual_verification for user ${user.id}`);
    expect((await db.models.StaffApprovalRequest.findByPk(id))?.status).toBe('approved');
  });
});
