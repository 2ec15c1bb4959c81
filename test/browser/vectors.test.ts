/**
 * The browser bundle reproduces the test vectors inside Chromium and Firefox [SPEC 11]: the same check as
 * `hopsafe vectors verify` (verifyVector with the noble provider), on dist/browser/index.js as built by `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BROWSERS, launchBrowser } from '../support/browsers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = `${ROOT}dist/browser/index.js`;
const VECTORS = `${ROOT}test/vectors/`;

for (const name of BROWSERS)
  test(`the browser bundle reproduces every test vector in ${name} (verifyVector, noble provider)`, async (t) => {
    assert.ok(existsSync(BUNDLE), 'dist/browser/index.js exists (npm run build)');
    const browser = await launchBrowser(t, name);
    if (!browser) return;
    const bundle = readFileSync(BUNDLE);
    const server = createServer((req, res) => {
      if (req.url === '/hopsafe.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>vectors</title>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      // Node's globals are not there: what runs below runs on the bundle's own code only.
      assert.deepEqual(
        await page.evaluate(
          () => [typeof (globalThis as { Buffer?: unknown }).Buffer, typeof (globalThis as { process?: unknown }).process],
          undefined,
        ),
        ['undefined', 'undefined'],
      );
      const files = readdirSync(VECTORS)
        .filter((f) => f.endsWith('.json'))
        .sort();
      assert.ok(files.length >= 6, `${files.length} vector files`);
      const vectors = files.map((f) => [f, JSON.parse(readFileSync(VECTORS + f, 'utf8'))] as const);
      const results = await page.evaluate(async (vs) => {
        const m = await import('/hopsafe.js' as string);
        const out: Record<string, string[]> = {};
        for (const [f, v] of vs) out[f] = await m.verifyVector(m.createNobleProvider(), v).catch((e: Error) => [`error: ${e.message}`]);
        return out;
      }, vectors);
      assert.deepEqual(results, Object.fromEntries(files.map((f) => [f, []])));
      // The check can fail: a vector with one byte of its expected HS_INIT changed is reported.
      const [name, good] = vectors[0]!;
      const bad = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
      const text = JSON.stringify(bad);
      const hex = /"([0-9a-f]{64,})"/.exec(text)?.[1];
      assert.ok(hex, `${name} holds a hex field`);
      const flipped = JSON.parse(text.replace(hex, (hex[0] === '0' ? '1' : '0') + hex.slice(1)));
      const diffs = await page.evaluate(async (v) => {
        const m = await import('/hopsafe.js' as string);
        return m.verifyVector(m.createNobleProvider(), v).catch((e: Error) => [`error: ${e.message}`]);
      }, flipped);
      assert.ok(diffs.length > 0, 'a changed vector is reported');
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
      server.close();
    }
  });
