/**
 * The browsers the browser tests run in (issue 21), behind one small page interface so each test case is written
 * once and run in every browser:
 * - Chromium: Debian's /usr/bin/chromium, driven by playwright-core (CDP);
 * - Firefox: Debian's /usr/bin/firefox-esr, driven by puppeteer-core over WebDriver BiDi (playwright-core cannot
 *   drive a stock Firefox).
 * Nothing here downloads a browser. A browser that is not installed skips the test with a clear message (fails
 * under HOPSAFE_REQUIRE_SERVICES=1, like any missing service); `.ci/run` installs both with apt-get
 * (scripts/ci/install-chromium.sh, scripts/ci/install-firefox.sh).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { requireOrSkip, type SkippableContext } from './services.js';

export type BrowserName = 'chromium' | 'firefox';
/** Every browser the browser tests run in. */
export const BROWSERS: readonly BrowserName[] = ['chromium', 'firefox'];

export const EXECUTABLE: Readonly<Record<BrowserName, string>> = {
  chromium: '/usr/bin/chromium',
  firefox: '/usr/bin/firefox-esr',
};
const INSTALL: Readonly<Record<BrowserName, string>> = {
  chromium: 'apt-get install -y chromium',
  firefox: 'apt-get install -y firefox-esr',
};
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** Firefox preferences that stop its background networking (updates, telemetry, remote settings, captive portal). */
const FIREFOX_PREFS: Record<string, unknown> = {
  'app.update.enabled': false,
  'app.update.auto': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'services.settings.server': 'http://127.0.0.1:9/',
  'extensions.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
};

/** A page, in whichever browser: what the test cases use and nothing more. */
export interface TestPage {
  readonly browser: BrowserName;
  goto(url: string): Promise<void>;
  /** Runs `fn(arg)` in the page (the function is sent as source: it may use only its argument and page globals). */
  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  click(selector: string): Promise<void>;
  select(selector: string, value: string): Promise<void>;
  screenshot(path: string): Promise<void>;
  /** Uncaught errors of the page so far. */
  readonly errors: readonly string[];
}

export interface TestBrowser {
  readonly name: BrowserName;
  newPage(viewport?: { width: number; height: number }): Promise<TestPage>;
  close(): Promise<void>;
}

/** A launched browser, or undefined after skipping `t` (the browser is not installed). */
export async function launchBrowser(t: SkippableContext, name: BrowserName): Promise<TestBrowser | undefined> {
  const exe = EXECUTABLE[name];
  if (!requireOrSkip(t, `${name} (${exe}; ${INSTALL[name]})`, existsSync(exe))) return undefined;
  return name === 'chromium' ? launchChromiumBrowser(exe) : launchFirefoxBrowser(exe);
}

async function launchChromiumBrowser(exe: string): Promise<TestBrowser> {
  const b = await chromium.launch({ executablePath: exe, args: CHROMIUM_ARGS, headless: true });
  return {
    name: 'chromium',
    async newPage(viewport) {
      const p = await b.newPage(viewport ? { viewport } : {});
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      return {
        browser: 'chromium',
        errors,
        goto: async (url) => {
          await p.goto(url);
        },
        evaluate: (fn, arg) => p.evaluate(fn as (a: unknown) => unknown, arg as unknown) as never,
        click: (selector) => p.click(selector),
        select: async (selector, value) => {
          await p.selectOption(selector, value);
        },
        screenshot: async (path) => {
          await p.screenshot({ path });
        },
      };
    },
    close: () => b.close(),
  };
}

async function launchFirefoxBrowser(exe: string): Promise<TestBrowser> {
  const b = await puppeteer.launch({
    browser: 'firefox',
    executablePath: exe,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
  });
  return {
    name: 'firefox',
    async newPage(viewport) {
      const p = await b.newPage();
      if (viewport) await p.setViewport(viewport);
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push((e as Error).message ?? String(e)));
      return {
        browser: 'firefox',
        errors,
        goto: async (url) => {
          await p.goto(url, { waitUntil: 'load' });
        },
        evaluate: (fn, arg) => p.evaluate(fn as (a: unknown) => unknown, arg) as never,
        click: (selector) => p.click(selector),
        select: async (selector, value) => {
          await p.select(selector, value);
        },
        screenshot: async (path) => {
          await p.screenshot({ path });
        },
      };
    },
    close: () => b.close(),
  };
}

/** The little of the DOM the helpers below use (the tests compile without the DOM lib). */
interface MiniElement {
  readonly textContent: string | null;
}
/** The page's `document`, inside functions given to `evaluate`. */
export interface MiniDocument {
  querySelectorAll(selector: string): Iterable<MiniElement> & { readonly length: number };
  querySelector(selector: string): MiniElement | null;
}

/**
 * Waits until some element matching `selector` has text matching `text` (a RegExp, or a substring), polling in the
 * page; fails with the page's text of `selector` after `ms`.
 */
export async function waitForText(page: TestPage, selector: string, text: RegExp | string, ms = 5000): Promise<void> {
  const pattern = typeof text === 'string' ? { source: text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), flags: '' } : text;
  const arg = { selector, source: pattern.source, flags: pattern.flags };
  const end = Date.now() + ms;
  for (;;) {
    const found = await page.evaluate(
      (a) =>
        [...(globalThis as unknown as { document: MiniDocument }).document.querySelectorAll(a.selector)].some((e) =>
          new RegExp(a.source, a.flags).test(e.textContent ?? ''),
        ),
      arg,
    );
    if (found) return;
    if (Date.now() > end) {
      const seen = await page.evaluate(
        (s) =>
          [...(globalThis as unknown as { document: MiniDocument }).document.querySelectorAll(s)].map((e) => e.textContent).join(' | '),
        selector,
      );
      throw new Error(`${page.browser}: no ${selector} with text ${String(text)} within ${ms} ms; seen: ${seen.slice(0, 1500)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The text of the first element matching `selector` ('' when there is none). */
export function textOf(page: TestPage, selector: string): Promise<string> {
  return page.evaluate((s) => (globalThis as unknown as { document: MiniDocument }).document.querySelector(s)?.textContent ?? '', selector);
}

/** Where test artifacts (screenshots) go: $HOPSAFE_TEST_ARTIFACTS or a temp dir; never the repository. */
export function artifactsDir(): string {
  const dir = process.env.HOPSAFE_TEST_ARTIFACTS ?? join(tmpdir(), 'hopsafe-test-artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}
