/**
 * The bridge between real systems: MQTT (embedded aedes) ↔ XMPP (private Prosody) ↔ AMQP (system RabbitMQ). [SPEC 8.5]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { xmppTransport } from '../../src/bindings/xmpp.js';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { createBridge, type Bridge } from '../../src/bindings/bridge.js';
import type { Transport } from '../../src/transport/transport.js';
import { prosodyInstalled, startProsody, type RunningProsody } from '../support/prosody.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';
import { receiver, type Receiver } from '../support/frames.js';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const XMPP_IDS = ['der-1', 'der-2', 'control-center', 'der-3', 'scada', 'der-4', 'cc-4', 'scada-4'];
let broker: RunningBroker;
let prosody: RunningProsody | undefined;
let rabbit = false;
const cleanup: Array<() => Promise<void>> = [];
const amqpNames = { exchanges: new Set<string>(), queues: new Set<string>() };

before(async () => {
  broker = await startBroker();
  if (prosodyInstalled()) prosody = await startProsody({ users: XMPP_IDS.map((u) => ({ username: u, password: `pw-${u}` })) });
  rabbit = await serviceAvailable('127.0.0.1', 5672);
});

after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  if (rabbit && (amqpNames.queues.size > 0 || amqpNames.exchanges.size > 0)) {
    const conn = await amqplib.connect(AMQP_URL);
    const ch = await conn.createChannel();
    for (const q of amqpNames.queues) await ch.deleteQueue(q).catch(() => undefined);
    for (const x of amqpNames.exchanges) await ch.deleteExchange(x).catch(() => undefined);
    await conn.close();
  }
  await prosody?.stop();
  await broker.close();
});

const mqttSide = (id: string): Transport =>
  mqttTransport({ url: broker.url, unsubscribeOnClose: true, clientId: `${id}-${randomUUID().slice(0, 6)}` });
function xmppSide(p: RunningProsody): (id: string) => Transport {
  return (id) => xmppTransport({ service: p.service, domain: p.domain, password: `pw-${id}`, reconnectDelayMs: 100 });
}
function amqpSide(exchange: string): (id: string) => Transport {
  amqpNames.exchanges.add(exchange);
  return (id) => {
    amqpNames.queues.add(`${exchange}.${id}`);
    return amqpTransport({ exchange, durable: false });
  };
}

/** The receiver may get a frame before the bridge's send() resolved (broker ack in flight): poll the counter. */
async function forwardedReaches(b: Bridge, n: number): Promise<number> {
  const deadline = Date.now() + 3000;
  while (b.stats().forwarded < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return b.stats().forwarded;
}

const endpoint = (t: Transport, id: string): Promise<Receiver> => receiver(t, id, cleanup);

function track(b: Bridge): Bridge {
  cleanup.push(() => b.close());
  return b;
}

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);

test('[SPEC 8.5] MQTT ↔ XMPP through the bridge, both ways, in order, binary-safe', async (t) => {
  if (!requireOrSkip(t, 'Prosody (scripts/ci/install-prosody.sh)', prosody !== undefined) || !prosody) return;
  const bridge = track(
    await createBridge({
      sides: { mqtt: mqttSide, xmpp: xmppSide(prosody) },
      route: (id) => (id.startsWith('der-') ? 'mqtt' : 'xmpp'),
      ids: ['der-1', 'der-2', 'control-center'],
    }),
  );
  const der1 = await endpoint(mqttSide('der-1'), 'der-1');
  const der2 = await endpoint(mqttSide('der-2'), 'der-2');
  const cc = await endpoint(xmppSide(prosody)('control-center'), 'control-center');
  await der1.t.send('control-center', ALL_BYTES);
  for (let i = 0; i < 30; i++) await der1.t.send('control-center', Uint8Array.of(i));
  await der2.t.send('control-center', Uint8Array.of(200));
  await cc.t.send('der-2', Uint8Array.of(1, 2, 3));
  await cc.t.send('der-1', ALL_BYTES);
  const atCc = await cc.wait(32);
  const fromDer1 = atCc.filter((f) => f.from === 'der-1');
  assert.deepEqual(fromDer1[0]?.bytes, ALL_BYTES);
  assert.deepEqual(
    fromDer1.slice(1).map((f) => f.bytes[0]),
    [...Array(30).keys()],
  );
  assert.deepEqual(atCc.find((f) => f.from === 'der-2')?.bytes, Uint8Array.of(200));
  assert.deepEqual((await der2.wait(1))[0], { from: 'control-center', bytes: Uint8Array.of(1, 2, 3) });
  assert.deepEqual((await der1.wait(1))[0], { from: 'control-center', bytes: ALL_BYTES });
  assert.equal(await forwardedReaches(bridge, 34), 34);
});

test('[SPEC 8.5] MQTT ↔ AMQP through the bridge, both ways', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', rabbit)) return;
  const amqp = amqpSide(`hopsafe-bridge-${randomUUID().slice(0, 8)}`);
  const bridge = track(await createBridge({ sides: { mqtt: mqttSide, amqp }, endpoints: { 'der-3': 'mqtt', scada: 'amqp' } }));
  const der3 = await endpoint(mqttSide('der-3'), 'der-3');
  const scada = await endpoint(amqp('scada'), 'scada');
  for (let i = 0; i < 20; i++) await der3.t.send('scada', Uint8Array.of(i));
  await scada.t.send('der-3', ALL_BYTES);
  assert.deepEqual(
    (await scada.wait(20)).map((f) => [f.from, f.bytes[0]]),
    [...Array(20).keys()].map((i) => ['der-3', i]),
  );
  assert.deepEqual((await der3.wait(1))[0], { from: 'scada', bytes: ALL_BYTES });
  assert.equal(await forwardedReaches(bridge, 21), 21);
});

test('[SPEC 8.5] three systems on one bridge, and a hostile bridge (drop / alter) on real servers', async (t) => {
  if (!requireOrSkip(t, 'Prosody (scripts/ci/install-prosody.sh)', prosody !== undefined) || !prosody) return;
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', rabbit)) return;
  const amqp = amqpSide(`hopsafe-bridge-${randomUUID().slice(0, 8)}`);
  const bridge = track(
    await createBridge({
      sides: { mqtt: mqttSide, xmpp: xmppSide(prosody), amqp },
      endpoints: { 'der-4': 'mqtt', 'cc-4': 'xmpp', 'scada-4': 'amqp' },
    }),
  );
  assert.equal(bridge.stats().proxies, 6);
  const der = await endpoint(mqttSide('der-4'), 'der-4');
  const cc = await endpoint(xmppSide(prosody)('cc-4'), 'cc-4');
  const scada = await endpoint(amqp('scada-4'), 'scada-4');
  await cc.t.send('scada-4', Uint8Array.of(1)); // xmpp → amqp
  await scada.t.send('der-4', Uint8Array.of(2)); // amqp → mqtt
  await der.t.send('cc-4', Uint8Array.of(3)); // mqtt → xmpp
  assert.deepEqual((await scada.wait(1))[0], { from: 'cc-4', bytes: Uint8Array.of(1) });
  assert.deepEqual((await der.wait(1))[0], { from: 'scada-4', bytes: Uint8Array.of(2) });
  assert.deepEqual((await cc.wait(1))[0], { from: 'der-4', bytes: Uint8Array.of(3) });

  const remove = bridge.tap((f) => (f.bytes[0] === 0xdd ? null : Uint8Array.from(f.bytes, (b) => b ^ 1)));
  await der.t.send('cc-4', Uint8Array.of(0xdd)); // dropped
  await der.t.send('cc-4', Uint8Array.of(0x10)); // altered to 0x11
  assert.deepEqual((await cc.wait(2))[1], { from: 'der-4', bytes: Uint8Array.of(0x11) });
  remove();
  await der.t.send('cc-4', Uint8Array.of(0x20));
  assert.deepEqual((await cc.wait(3))[2]?.bytes, Uint8Array.of(0x20));
  assert.equal(bridge.stats().dropped, 1);
});
