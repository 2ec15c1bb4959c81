/** `hopsafe bridge` as a process: MQTT (aedes) ↔ MQTT (aedes), and ↔ XMPP (Prosody) with a credentials file. [SPEC 8.5] */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { xmppTransport } from '../../src/bindings/xmpp.js';
import type { Transport } from '../../src/transport/transport.js';
import { parseSideSpec } from '../../src/bindings/bridge-config.js';
import { prosodyInstalled, startProsody } from '../support/prosody.js';
import { requireOrSkip } from '../support/services.js';
import { receiver, type Receiver } from '../support/frames.js';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

function startCli(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  up: Promise<void>;
  stderr: () => string;
  exit: Promise<number | null>;
} {
  // Runs src/cli/bridge.ts's run() in its own process, as `hopsafe bridge` does (errors reported like src/cli/main.ts).
  const runner =
    "const { run } = await import('./src/cli/bridge.ts');" +
    "const { UsageError, usageFailure } = await import('./src/cli/usage.ts');" +
    'try { process.exitCode = await run(process.argv.slice(1)); }' +
    " catch (e) { if (e instanceof UsageError) process.exitCode = usageFailure('bridge', e.message);" +
    " else { console.error(`hopsafe: ${e.code ?? ''}: ${e.message}`); process.exitCode = 1; } }";
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', runner, '--', ...args], { cwd: process.cwd() });
  let err = '';
  child.stdout.resume();
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const up = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('hopsafe bridge: up')) resolve();
    });
    void exit.then((code) => reject(new Error(`bridge exited ${code}: ${err}`)));
  });
  cleanup.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, up, stderr: () => err, exit };
}

const endpoint = (t: Transport, id: string): Promise<Receiver> => receiver(t, id, cleanup);

test('[SPEC 8.5] hopsafe bridge forwards between two MQTT brokers and exits cleanly on SIGTERM', async () => {
  const east: RunningBroker = await startBroker();
  const west: RunningBroker = await startBroker();
  cleanup.push(
    () => east.close(),
    () => west.close(),
  );
  const cli = startCli([
    '--side',
    `east=${east.url}`,
    '--side',
    `west=${west.url}`,
    '--route',
    'der-*=east',
    '--route',
    'cc=west',
    '--id',
    'der-1,cc',
  ]);
  await cli.up;
  const der = await endpoint(mqttTransport({ url: east.url }), 'der-1');
  const cc = await endpoint(mqttTransport({ url: west.url }), 'cc');
  await der.t.send('cc', Uint8Array.of(1, 2, 3));
  await cc.t.send('der-1', Uint8Array.of(4));
  assert.deepEqual((await cc.wait(1))[0], { from: 'der-1', bytes: Uint8Array.of(1, 2, 3) });
  assert.deepEqual((await der.wait(1))[0], { from: 'cc', bytes: Uint8Array.of(4) });
  await new Promise((r) => setTimeout(r, 200)); // let the bridge's sends see their broker acks
  cli.child.kill('SIGTERM');
  assert.equal(await cli.exit, 0);
  assert.match(cli.stderr(), /forwarded=2 /);
});

test('[SPEC 8.5] hopsafe bridge MQTT ↔ XMPP with a credentials file', async (t) => {
  if (!requireOrSkip(t, 'Prosody (scripts/ci/install-prosody.sh)', prosodyInstalled())) return;
  const broker = await startBroker();
  cleanup.push(() => broker.close());
  const prosody = await startProsody({
    users: [
      { username: 'der-9', password: 'p-der' },
      { username: 'control-center', password: 'p-cc' },
    ],
  });
  cleanup.push(() => prosody.stop());
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-bridge-'));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  const creds = join(dir, 'creds.json');
  writeFileSync(creds, JSON.stringify({ xmpp: { 'der-9': 'p-der' } }));
  const cli = startCli([
    '--side',
    `mqtt=${broker.url}`,
    '--side',
    `xmpp=${prosody.service}?domain=${prosody.domain}`,
    '--route',
    'der-*=mqtt',
    '--route',
    'control-center=xmpp',
    '--id',
    'der-9',
    '--id',
    'control-center',
    '--credentials',
    creds,
  ]);
  await cli.up;
  const der = await endpoint(mqttTransport({ url: broker.url }), 'der-9');
  const cc = await endpoint(xmppTransport({ service: prosody.service, domain: prosody.domain, password: 'p-cc' }), 'control-center');
  await der.t.send('control-center', Uint8Array.of(7));
  await cc.t.send('der-9', Uint8Array.of(8));
  assert.deepEqual((await cc.wait(1))[0], { from: 'der-9', bytes: Uint8Array.of(7) });
  assert.deepEqual((await der.wait(1))[0], { from: 'control-center', bytes: Uint8Array.of(8) });
  cli.child.kill('SIGINT');
  assert.equal(await cli.exit, 0);
});

test('[SPEC 8.5] hopsafe bridge argument errors', async () => {
  const bad = startCli(['--side', 'a=mqtt://127.0.0.1:1']);
  bad.up.catch(() => undefined);
  assert.equal(await bad.exit, 2);
  const noRoute = startCli(['--side', 'a=mqtt://127.0.0.1:1', '--side', 'b=mqtt://127.0.0.1:2', '--route', 'x=c', '--id', 'x']);
  noRoute.up.catch(() => undefined);
  assert.equal(await noRoute.exit, 1);
  assert.match(noRoute.stderr(), /ERR_CONFIG/);
  assert.throws(() => parseSideSpec('a=http://x'), { code: 'ERR_CONFIG' });
  assert.equal(parseSideSpec('x=xmpp://h:5222?domain=d').kind, 'xmpp');
  assert.equal(parseSideSpec('q=amqps://h').kind, 'amqp');
});
