/**
 * `hopsafe demo --web` (issue 21) as a user starts it: it prints a 127.0.0.1 URL that serves the page, the bundle and
 * the configuration (the broker's WebSocket listener), and ends with exit 0 on SIGTERM. Needs `npm run build`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

test('hopsafe demo --web --port 0 serves the page, the bundle and the config on 127.0.0.1; SIGTERM ends it with exit 0', async () => {
  const child = spawn(process.execPath, [MAIN, 'demo', '--web', '--port', '0', '--log-level', 'silent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const end = Date.now() + 20_000;
    while (!/open (http:\/\/127\.0\.0\.1:\d+\/)/.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    const url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    assert.ok(url, `a URL is printed:\n${out}`);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /data-testid="endpoint-view"/);
    assert.match(html, /data-testid="broker-view"/);
    const bundle = await fetch(`${url}hopsafe.js`);
    assert.equal(bundle.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(await bundle.text(), /export\{/);
    const config = (await (await fetch(`${url}config.json`)).json()) as { wsUrl: string; ders: { id: string; protection: string }[] };
    assert.match(config.wsUrl, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(
      config.ders.map((d) => d.protection),
      ['integrity', 'confidentiality', 'confidentiality'],
    );
    assert.equal((await fetch(`${url}nothing-here`)).status, 404);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);
});

test('hopsafe demo --port without --web, or a bad --port, is a usage error (exit 2)', async () => {
  for (const args of [
    ['--port', '9000'],
    ['--web', '--port', 'x'],
  ]) {
    const child = spawn(process.execPath, [MAIN, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 2, args.join(' '));
    assert.match(err, /--port/);
  }
});
