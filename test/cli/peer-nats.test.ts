/** `hopsafe peer --url nats://…` (core and JetStream) and `hopsafe bridge --side nats=nats://…`, on the system nats-server. [SPEC 8.5, 8.11] */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { startBroker } from '../../src/broker/index.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { natsTransport } from '../../src/bindings/nats.js';
import { natsOptionsFromUrl } from '../../src/bindings/nats-url.js';
import { parseSideSpec } from '../../src/bindings/bridge-config.js';
import { HopsafeError } from '../../src/errors/index.js';
import { CLI, cliPeerFixture, startCliPeer, type CliPeer } from '../support/cli-peer.js';
import { receiver } from '../support/frames.js';
import { requireOrSkip } from '../support/services.js';
import { NATS_SERVICE, NATS_URL, deleteStream, natsAvailable } from '../support/nats.js';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

test('[SPEC 8.11] NATS URLs: scheme, query and credentials become transport options', () => {
  assert.deepEqual(natsOptionsFromUrl('nats://u:p@127.0.0.1:4222?prefix=x.y'), {
    servers: 'nats://127.0.0.1:4222',
    prefix: 'x.y',
    user: 'u',
    pass: 'p',
  });
  assert.deepEqual(natsOptionsFromUrl('nats://h:1?jetstream=true&stream=S&storage=memory', { username: 'a', password: 'b' }, 'pre'), {
    servers: 'nats://h:1',
    prefix: 'pre',
    jetstream: { stream: 'S', storage: 'memory' },
    user: 'a',
    pass: 'b',
  });
  assert.deepEqual(natsOptionsFromUrl('tls://h:4443').tls, {});
  assert.equal(parseSideSpec('n=nats://h:4222').kind, 'nats');
  assert.equal(parseSideSpec('n=tls://h:4443').kind, 'nats');
  for (const bad of ['nats://h?nope=1', 'nats://h?jetstream=maybe', 'nats://h?storage=disk', 'mqtt://h'])
    assert.throws(
      () => natsOptionsFromUrl(bad),
      (e) => e instanceof HopsafeError && e.code === 'ERR_CONFIG',
      bad,
    );
});

for (const mode of ['core', 'jetstream'] as const) {
  test(`[SPEC 8.11] hopsafe peer --url nats://… (${mode}): messages both ways`, async (t) => {
    if (!requireOrSkip(t, NATS_SERVICE, await natsAvailable())) return;
    const prefix = `hopsafe-cli-${randomBytes(3).toString('hex')}`;
    const query = mode === 'jetstream' ? '?jetstream=true&storage=memory' : '';
    if (mode === 'jetstream') cleanup.push(() => deleteStream(NATS_URL, prefix));
    const fx = await cliPeerFixture(['cc', 'der.7']);
    cleanup.push(() => rm(fx.dir, { recursive: true, force: true }));
    const url = `${NATS_URL}${query}`;
    const peers: CliPeer[] = [
      // [SPEC 5.11] --offline-start-ms reaches the endpoint (its behaviour: test/bindings/nats-offline-peer.test.ts)
      startCliPeer([...fx.args('cc', url), '--prefix', prefix, ...(mode === 'jetstream' ? ['--offline-start-ms', '600000'] : [])]),
      startCliPeer([...fx.args('der.7', url), '--prefix', prefix]),
    ];
    cleanup.push(async () => {
      for (const p of peers) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    });
    const [cc, der] = peers as [CliPeer, CliPeer];
    await cc.next((e) => e.event === 'ready');
    await der.next((e) => e.event === 'ready');
    der.write({ to: 'cc', data: Buffer.from('P=4.2MW').toString('base64') });
    const m = await cc.next((e) => e.event === 'message');
    assert.equal(m.from, 'der.7');
    assert.equal(Buffer.from(String(m.data), 'base64').toString(), 'P=4.2MW');
    cc.write({ to: 'der.7', data: Buffer.from('setpoint').toString('base64'), confirm: true });
    await der.next((e) => e.event === 'message');
    await cc.next((e) => e.event === 'confirmed');
    for (const p of peers) p.proc.stdin.end();
    assert.deepEqual(await Promise.all(peers.map((p) => p.exit)), [0, 0]);
  });
}

test('[SPEC 8.5, 8.11] hopsafe bridge --side nats=nats://… ↔ MQTT (aedes)', async (t) => {
  if (!requireOrSkip(t, NATS_SERVICE, await natsAvailable())) return;
  const broker = await startBroker();
  cleanup.push(() => broker.close());
  const prefix = `hopsafe-brcli-${randomBytes(3).toString('hex')}`;
  const child = spawn(process.execPath, [
    ...CLI,
    'bridge',
    '--side',
    `nats=${NATS_URL}?prefix=${prefix}`,
    '--side',
    `mqtt=${broker.url}`,
    '--route',
    'der*=nats',
    '--route',
    'cc=mqtt',
    '--id',
    'der.1,cc',
  ]);
  cleanup.push(async () => child.exitCode === null && child.kill('SIGKILL'));
  let err = '';
  child.stdout.resume();
  const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('hopsafe bridge: up')) resolve();
    });
    void exit.then((c) => reject(new Error(`bridge exited ${c}: ${err}`)));
  });
  const der = await receiver(natsTransport({ servers: NATS_URL, prefix }), 'der.1', cleanup);
  const cc = await receiver(mqttTransport({ url: broker.url }), 'cc', cleanup);
  await der.t.send('cc', Uint8Array.of(1, 2, 3));
  await cc.t.send('der.1', Uint8Array.of(4));
  assert.deepEqual((await cc.wait(1))[0], { from: 'der.1', bytes: Uint8Array.of(1, 2, 3) });
  assert.deepEqual((await der.wait(1))[0], { from: 'cc', bytes: Uint8Array.of(4) });
  await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
  assert.match(err, /forwarded=2 /);
});
