/**
 * The built `hopsafe` command (dist/cli/main.js, what the package's bin runs; `npm test` builds it first):
 * `--version`, every `--help` exits 0, usage errors exit 2, and `hopsafe bridge` ends with 0 on SIGINT/SIGTERM —
 * once up, and while still connecting. [SPEC 8.5]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startBroker } from '../../src/broker/index.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { sample } from '../support/prometheus.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

function hopsafe(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('hopsafe --version (and -v) prints the package version and exits 0', () => {
  for (const flag of ['--version', '-v']) {
    const r = hopsafe(flag);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${VERSION}\n`);
  }
});

for (const cmd of [
  [],
  ['demo'],
  ['peer'],
  ['pki'],
  ['pki', 'init'],
  ['vectors'],
  ['vectors', 'verify'],
  ['vectors', 'generate'],
  ['bridge'],
  ['conformance'],
]) {
  test(`hopsafe ${[...cmd, '--help'].join(' ')} (and -h) prints its usage on stdout and exits 0`, () => {
    for (const flag of ['--help', '-h']) {
      const r = hopsafe(...cmd, flag);
      assert.equal(r.status, 0, `${flag}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /usage/i, flag);
    }
  });
}

test('every --help fits 80 columns and exits 0; the top-level command list is aligned', () => {
  for (const cmd of [[], ['demo'], ['peer'], ['bridge'], ['vectors'], ['conformance'], ['pki'], ['pki', 'init']]) {
    const r = hopsafe(...cmd, '--help');
    assert.equal(r.status, 0, `${cmd.join(' ')}: ${r.stderr}`);
    const wide = r.stdout.split('\n').filter((l) => [...l].length > 80);
    assert.deepEqual(wide, [], `hopsafe ${[...cmd, '--help'].join(' ')}: lines over 80 columns`);
  }
  const list = hopsafe('--help')
    .stdout.split('\n')
    .filter((l) => /^ {2}[a-z]+ +\S/.test(l));
  assert.ok(list.length >= 6, 'the command list');
  const column = new Set(list.map((l) => /^ {2}[a-z]+ +/.exec(l)![0].length));
  assert.equal(column.size, 1, `summaries start in one column:\n${list.join('\n')}`);
});

test('usage errors exit 2 with one line saying what is wrong and a pointer to --help (not the whole help)', () => {
  for (const [args, where] of [
    [['no-such-command'], 'hopsafe'],
    [['vectors'], 'hopsafe vectors'],
    [['vectors', 'verify'], 'hopsafe vectors'],
    [['vectors', '--bogus'], 'hopsafe vectors'],
    [['vectors', 'generate'], 'hopsafe vectors'],
    [['bridge', '--bogus'], 'hopsafe bridge'],
    [['bridge', '--side', 'a=mqtt://127.0.0.1:1'], 'hopsafe bridge'],
    [['demo', '--bogus'], 'hopsafe demo'],
    [['demo', '--broker', 'mqtt://127.0.0.1:99999'], 'hopsafe demo'],
    [['peer', '--bogus'], 'hopsafe peer'],
    [['peer', '--id', 'a'], 'hopsafe peer'],
    [['pki'], 'hopsafe pki'],
    [['pki', 'init', '--endpoint', 'a'], 'hopsafe pki'],
    [['pki', 'revoke', '--id', 'a'], 'hopsafe pki'],
    [['pki', 'show'], 'hopsafe pki'],
    [['conformance'], 'hopsafe conformance'],
    [['conformance', '--iut', 'x', '--timeout', '0'], 'hopsafe conformance'],
  ] as const) {
    const r = hopsafe(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, `${args.join(' ')}: one line and the hint, not the help:\n${r.stderr}`);
    assert.ok(lines[0]!.startsWith(`${where}: `), `${args.join(' ')}: ${lines[0]}`);
    assert.equal(lines[1], `see '${where} --help' for usage`, args.join(' '));
  }
});

/** `hopsafe bridge` between two sides; resolves `seen(text)` once stderr shows `text`. */
function bridge(east: string, west: string, extra: readonly string[] = [], env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'bridge',
      '--side',
      `east=${east}`,
      '--side',
      `west=${west}`,
      '--route',
      'der-*=east',
      '--route',
      'cc=west',
      '--id',
      'der-1,cc',
      ...extra,
    ],
    {
      env: { ...process.env, ...env },
    },
  );
  let err = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of waiters.splice(0))
      if (err.includes(w.text)) w.resolve();
      else waiters.push(w);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const seen = (text: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (err.includes(text)) return resolve();
      waiters.push({ text, resolve });
      void exit.then((e) => reject(new Error(`bridge exited (${e.code ?? e.signal}) before "${text}": ${err}`)));
    });
  return { child, exit, seen, stderr: () => err };
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`[SPEC 8.5] hopsafe bridge (up, two embedded brokers) ends with exit 0 on ${signal}`, async () => {
    const east = await startBroker();
    const west = await startBroker();
    cleanup.push(
      () => east.close(),
      () => west.close(),
    );
    const b = bridge(east.url, west.url);
    await b.seen('hopsafe bridge: up');
    b.child.kill(signal);
    assert.deepEqual(await b.exit, { code: 0, signal: null }, b.stderr());
    assert.match(b.stderr(), /forwarded=0 /, 'it closed and printed its counters');
  });
}

/** A TCP server that accepts and never answers: an MQTT connect to it waits for a CONNACK that never comes. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

test('[SPEC 8.5] hopsafe bridge stopped while it is still connecting ends with exit 0 (SIGTERM), at once on a second signal (SIGINT)', async () => {
  const hole = await blackHole();
  const west = await startBroker();
  cleanup.push(
    () => hole.close(),
    () => west.close(),
  );

  const one = bridge(hole.url, west.url);
  await one.seen('hopsafe bridge: connecting east, west');
  one.child.kill('SIGTERM');
  assert.deepEqual(await one.exit, { code: 0, signal: null }, one.stderr());
  assert.match(one.stderr(), /SIGTERM while starting; stopped/);
  assert.doesNotMatch(one.stderr(), /hopsafe bridge: up/);

  const two = bridge(hole.url, west.url);
  await two.seen('hopsafe bridge: connecting');
  two.child.kill('SIGTERM');
  await two.seen('while starting; stopped');
  two.child.kill('SIGINT');
  assert.deepEqual(await two.exit, { code: 0, signal: null }, two.stderr());
  assert.match(two.stderr(), /SIGINT again: exiting without waiting/);
});

test('[SPEC 8.5] hopsafe bridge --metrics-port 0 serves /metrics (forwarded and unroutable frames counted), HOPSAFE_LOG_LEVEL logs JSON lines on stderr; closed on SIGTERM', async () => {
  const east = await startBroker();
  const west = await startBroker();
  cleanup.push(
    () => east.close(),
    () => west.close(),
  );
  const b = bridge(east.url, west.url, ['--metrics-port', '0'], { HOPSAFE_LOG_LEVEL: 'debug' });
  await b.seen('hopsafe bridge: up');
  const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(b.stderr())?.[1];
  assert.ok(url, b.stderr());
  const scrape = async (): Promise<string> => (await fetch(url)).text();
  const before = await scrape();
  assert.equal(sample(before, 'hopsafe_bridge_proxies', { bridge: 'bridge' }), 2, 'cc on east, der-1 on west');
  assert.equal(sample(before, 'hopsafe_bridge_frames_forwarded_total', { bridge: 'bridge', side: 'east' }), 0);
  // der-1 (east) → cc (west): forwarded; "intruder" on east → cc: its sender does not live on east, unroutable
  const cc = mqttTransport({ url: west.url });
  const der = mqttTransport({ url: east.url });
  const intruder = mqttTransport({ url: east.url });
  const got: string[] = [];
  await cc.open('cc', (f) => void got.push(`${f.from}:${new TextDecoder().decode(f.bytes)}`));
  await der.open('der-1', () => undefined);
  await intruder.open('intruder', () => undefined);
  cleanup.push(
    () => cc.close(),
    () => der.close(),
    () => intruder.close(),
  );
  await der.send('cc', new TextEncoder().encode('opaque'));
  await intruder.send('cc', new TextEncoder().encode('spoof'));
  const deadline = Date.now() + 10_000;
  let after = '';
  while (Date.now() < deadline) {
    after = await scrape();
    // (a frame counts as forwarded once the target broker acknowledged it, which may be after cc received it)
    const forwarded = sample(after, 'hopsafe_bridge_frames_forwarded_total', { bridge: 'bridge', side: 'east' });
    if (
      got.length === 1 &&
      forwarded === 1 &&
      sample(after, 'hopsafe_bridge_frames_dropped_total', { bridge: 'bridge', reason: 'unroutable' }) === 1
    )
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(got, ['der-1:opaque']);
  assert.equal(sample(after, 'hopsafe_bridge_frames_forwarded_total', { bridge: 'bridge', side: 'east' }), 1);
  assert.equal(sample(after, 'hopsafe_bridge_bytes_forwarded_total', { bridge: 'bridge' }), 'opaque'.length);
  assert.equal(sample(after, 'hopsafe_bridge_frames_dropped_total', { bridge: 'bridge', reason: 'unroutable' }), 1);
  b.child.kill('SIGTERM');
  assert.deepEqual(await b.exit, { code: 0, signal: null }, b.stderr());
  await assert.rejects(fetch(url), 'the metrics server closed with the bridge');
  const logs = b
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(logs.some((l) => l.msg === 'bridge open' && l.transport === 'bridge'));
  assert.ok(logs.some((l) => l.msg?.toString().startsWith('unroutable') && l.from === 'intruder'));
  assert.ok(
    logs.some((l) => l.transport === 'mqtt' && l.side === 'east'),
    'the side transports log through the same logger',
  );
  assert.ok(!b.stderr().includes('opaque') && !b.stderr().includes('spoof'), 'frame bytes in the logs');
});
