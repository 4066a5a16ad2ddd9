import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI } from '../helpers/services.js';
import { DemoProcess } from './demo-process.js';
import { ROOT } from './from-source.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
// The screenshot in the docs is refreshed only on request, so test runs leave the tree clean.
const SCREENSHOT =
  process.env['UPDATE_DEMO_SCREENSHOT'] === '1'
    ? join(ROOT, 'docs/demo.png')
    : join(ROOT, 'test-results/demo.png');

const missing = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (set CHROMIUM_PATH)`;
if (missing !== undefined && IN_CI)
  throw new Error(`demo browser test: Chromium is required in CI: ${missing}`);
if (missing !== undefined) console.warn(`SKIPPED demo browser test: ${missing}`);
const suite = missing === undefined ? describe : describe.skip;

/** The store the demo uses by default, in a data dir of its own. */
function freshDataDir(): { dir: string; store: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kvsession-demo-'));
  return { dir, store: `sqlite://${join(dir, 'sessions.db')}` };
}

async function signIn(page: Page, base: string, name: string): Promise<void> {
  await page.goto(base + '/');
  await page.fill('#name', name);
  await page.click('#sign-in button[type=submit]');
  await page.waitForSelector('#greeting');
}

async function count(page: Page): Promise<string> {
  return (await page.textContent('#count')) ?? '';
}

async function isSignedOut(page: Page): Promise<boolean> {
  return (
    (await page.locator('#sign-in').count()) === 1 &&
    (await page.locator('#greeting').count()) === 0
  );
}

async function sessionCookie(
  context: BrowserContext,
): Promise<{ name: string; value: string; url: string } | undefined> {
  const cookie = (await context.cookies()).find((c) => c.name === 'sid');
  return cookie === undefined
    ? undefined
    : { name: cookie.name, value: cookie.value, url: `http://${cookie.domain}${cookie.path}` };
}

suite('demo app in Chromium', () => {
  let browser: Browser;
  const cleanup: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn();
    await browser?.close();
  });

  it('sign-in and counter survive a killed and restarted server; the secret is generated once, mode 0600', async () => {
    const { dir, store } = freshDataDir();
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    let demo = await DemoProcess.start(dir, store);
    cleanup.push(() => void demo.stop('SIGKILL'));
    const context = await browser.newContext({ viewport: { width: 900, height: 900 } });
    const page = await context.newPage();

    await signIn(page, demo.url, 'Ada Lovelace');
    for (let i = 0; i < 3; i++) {
      await page.click('#increment');
      await page.waitForSelector(`#count:text-is("${i + 1}")`);
    }
    expect(await count(page)).toBe('3');
    expect(await page.textContent('#user-name')).toBe('Ada Lovelace');
    expect(await page.locator('#devices li').count()).toBe(1);
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600);

    // SIGKILL, not a graceful stop: what the page showed must already be in the store.
    const killed = await demo.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    demo = await DemoProcess.start(dir, store, demo.port);
    await page.reload();
    expect(await page.textContent('#user-name')).toBe('Ada Lovelace');
    expect(await count(page)).toBe('3');

    const stopped = await demo.stop('SIGTERM');
    expect(stopped.status).toBe(0);
    expect(stopped.stderr).toBe('');
    await context.close();
  });

  describe('on one running server', () => {
    let demo: DemoProcess;

    beforeAll(async () => {
      const { dir, store } = freshDataDir();
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      demo = await DemoProcess.start(dir, store);
      cleanup.push(async () => void (await demo.stop('SIGTERM')));
    });

    it('sign out ends the session: the page is signed out and the old cookie no longer works', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, demo.url, 'grace');
      await page.click('#increment');
      await page.waitForSelector('#count:text-is("1")');
      const before = await sessionCookie(context);
      expect(before).toBeDefined();

      await page.click('#sign-out');
      await page.waitForSelector('#sign-in');
      expect(await isSignedOut(page)).toBe(true);
      expect(await count(page)).toBe('0');
      expect(await sessionCookie(context)).toBeUndefined();

      await context.addCookies([before as NonNullable<typeof before>]);
      await page.reload();
      expect(await isSignedOut(page)).toBe(true);
      await context.close();
    });

    it('a tampered cookie shows the signed-out page; the untouched cookie still works', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, demo.url, 'tamper');
      const cookie = await sessionCookie(context);
      if (cookie === undefined) throw new Error('no session cookie after sign-in');
      const last = cookie.value.at(-1) === 'A' ? 'B' : 'A';
      await context.addCookies([{ ...cookie, value: cookie.value.slice(0, -1) + last }]);
      await page.reload();
      expect(await isSignedOut(page)).toBe(true);

      await context.addCookies([cookie]);
      await page.reload();
      expect(await page.textContent('#user-name')).toBe('tamper');
      await context.close();
    });

    it('"sign out other devices" in a second browser ends the first browser\'s session only', async () => {
      const laptop = await browser.newContext();
      const phone = await browser.newContext();
      const laptopPage = await laptop.newPage();
      const phonePage = await phone.newPage();
      await signIn(laptopPage, demo.url, 'two-devices');
      await signIn(phonePage, demo.url, 'two-devices');
      expect(await phonePage.locator('#devices li').count()).toBe(2);

      await phonePage.click('#sign-out-others');
      await phonePage.waitForSelector('.notice');
      expect(await phonePage.locator('#devices li').count()).toBe(1);

      await laptopPage.reload();
      expect(await isSignedOut(laptopPage)).toBe(true);
      await phonePage.reload();
      expect(await phonePage.textContent('#user-name')).toBe('two-devices');
      await laptop.close();
      await phone.close();
    });

    it('regenerate issues a new session ID and handle; the previous cookie stops working', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, demo.url, 'regen');
      const before = await sessionCookie(context);
      const handleBefore = await page.textContent('#handle');
      await page.click('#regenerate');
      await page.waitForSelector('.notice');
      const after = await sessionCookie(context);
      expect(after?.value).not.toBe(before?.value);
      expect(await page.textContent('#handle')).not.toBe(handleBefore);
      expect(await page.textContent('#user-name')).toBe('regen');

      await context.addCookies([before as NonNullable<typeof before>]);
      await page.reload();
      expect(await isSignedOut(page)).toBe(true);
      await context.close();
    });

    it('reset drops the counter and "clear data" drops all data, yet both keep the sign-in', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await signIn(page, demo.url, 'clearer');
      await page.click('#increment');
      await page.waitForSelector('#count:text-is("1")');
      await page.click('#reset-count');
      await page.waitForSelector('#count:text-is("0")');
      expect(JSON.parse((await page.textContent('#session-data')) ?? '')).toEqual({
        name: 'clearer',
      });

      await page.click('#clear-data');
      await page.waitForSelector('#session-data:text-is("{}")');
      // The name was data and is gone; the user binding from login() is not data and stays.
      expect(await page.textContent('#user-name')).toBe('clearer');
      expect(await page.locator('#devices li').count()).toBe(1);
      await context.close();
    });

    it('user input is shown as text, never as markup', async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const name = '<img src=x id=injected>"\'&';
      await signIn(page, demo.url, name);
      expect(await page.textContent('#user-name')).toBe(name);
      expect(await page.locator('#injected').count()).toBe(0);
      await context.close();
    });

    it('a POST from another origin is refused with 403 and changes nothing', async () => {
      const res = await fetch(`${demo.url}/count`, {
        method: 'POST',
        headers: { origin: 'http://evil.example' },
        redirect: 'manual',
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('set-cookie')).toBeNull();
      const same = await fetch(`${demo.url}/count`, {
        method: 'POST',
        headers: { origin: demo.url },
        redirect: 'manual',
      });
      expect(same.status).toBe(303);
    });
  });
});
