/**
 * Debian's Chromium (/usr/bin/chromium) driven by playwright-core, for the browser tests (issue 21). Nothing here
 * downloads a browser. Without /usr/bin/chromium the test skips with a clear message (fails under
 * HOPSAFE_REQUIRE_SERVICES=1, like any missing service); `.ci/run` installs it with apt-get.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { requireOrSkip, type SkippableContext } from './services.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A launched Chromium, or undefined after skipping `t` (no /usr/bin/chromium). */
export async function launchChromium(t: SkippableContext): Promise<Browser | undefined> {
  if (!requireOrSkip(t, `Chromium (${CHROMIUM}; apt-get install -y chromium)`, existsSync(CHROMIUM))) return undefined;
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** Where test artifacts (screenshots) go: $HOPSAFE_TEST_ARTIFACTS or a temp dir; never the repository. */
export function artifactsDir(): string {
  const dir = process.env.HOPSAFE_TEST_ARTIFACTS ?? join(tmpdir(), 'hopsafe-test-artifacts');
  mkdirSync(dir, { recursive: true });
  return dir;
}
