/**
 * Inbound frame bounds on every transport (issue 14, Part 2 item 2, the transport half). [SPEC 8.9]
 *
 * Each test injects a frame larger than the receiver's maxFrameSize THROUGH THE INTERMEDIARY (a hub tap, a raw MQTT
 * client publishing to the inbox topic, a raw AMQP publish with the inbox routing key) — not through our own send(),
 * which refuses it already — and asserts that it never reaches onFrame, that it is counted, that a frame of exactly
 * maxFrameSize still arrives, and that the transport goes on delivering. The XMPP half is in xmpp-bounds.test.ts.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import amqplib from 'amqplib';
import { pino, type Logger } from 'pino';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { mqttTransport, type MqttTransportOptions } from '../../src/bindings/mqtt.js';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { createBridge } from '../../src/bindings/bridge.js';
import type { InboundFrame, Transport, TransportStatus } from '../../src/transport/transport.js';
import { startBroker } from '../../src/broker/index.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

const MAX = 1000;
const uniq = (): string => randomBytes(4).toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A frame of `n` bytes whose first byte tells the frames apart (the rest is a marker that must never be logged). */
const frameOf = (tag: number, n: number): Uint8Array => {
  const b = new Uint8Array(n).fill(0x5a);
  b[0] = tag;
  return b;
};

async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await sleep(10);
  }
}

/** A pino logger writing into a string, to check that drops are logged without payload. */
function captureLog(): { logger: Logger; text(): string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, sink), text: () => text };
}

function assertNoPayloadInLog(log: string): void {
  assert.ok(!log.includes('5a5a5a5a'), 'no hex payload in the log');
  assert.ok(!log.includes('WlpaWlpa'), 'no base64 payload in the log');
  assert.ok(!log.includes('90,90,90,90'), 'no byte array in the log');
}

test('[SPEC 8.6, 8.9] memory hub: a frame a tap injects above maxFrameSize never reaches onFrame; counted per receiver and per hub', async () => {
  const cap = captureLog();
  const hub = createMemoryHub({ maxFrameSize: MAX, logger: cap.logger });
  const a = hub.transport();
  const b = hub.transport();
  const got: InboundFrame[] = [];
  await a.open('a', () => undefined);
  await b.open('b', (f) => void got.push(f));
  // The hostile intermediary turns one frame into three: an oversize one, one of exactly maxFrameSize, the original.
  hub.tap(({ bytes }) => (bytes[0] === 1 ? [frameOf(9, MAX + 1), frameOf(8, MAX), bytes] : undefined));
  await a.send('b', frameOf(1, 10));
  await a.send('b', frameOf(2, 10));
  await hub.drain();
  assert.deepEqual(
    got.map((f) => [f.bytes[0], f.bytes.length]),
    [
      [8, MAX],
      [1, 10],
      [2, 10],
    ],
  );
  assert.deepEqual(b.inboundStats?.(), { oversize: 1 });
  assert.deepEqual(a.inboundStats?.(), { oversize: 0 });
  assert.deepEqual(hub.inboundStats(), { oversize: 1 });
  assert.match(cap.text(), /inbound frame larger than maxFrameSize dropped/);
  assert.match(cap.text(), /"size":1001/);
  assertNoPayloadInLog(cap.text());
  await Promise.all([a.close(), b.close()]);
});

test('[SPEC 8.5, 8.9] bridge: a side transport that does not bound its inbound frames still never gets one forwarded', async () => {
  const east = createMemoryHub({ maxFrameSize: 4 * MAX });
  const west = createMemoryHub({ maxFrameSize: 4 * MAX });
  // A custom side whose transport claims maxFrameSize MAX but hands over anything its hub carries.
  const loose = (): Transport => {
    const t = east.transport();
    return { name: 'loose', maxFrameSize: MAX, open: (id, h) => t.open(id, h), send: (p, b) => t.send(p, b), close: () => t.close() };
  };
  const bridge = await createBridge({ sides: { east: loose, west: () => west.transport() }, endpoints: { a: 'east', b: 'west' } });
  const a = east.transport();
  const b = west.transport();
  const got: InboundFrame[] = [];
  await a.open('a', () => undefined);
  await b.open('b', (f) => void got.push(f));
  await a.send('b', frameOf(1, MAX + 1));
  await a.send('b', frameOf(2, MAX));
  for (let i = 0; i < 3; i++) await Promise.all([east.drain(), west.drain()]);
  assert.deepEqual(
    got.map((f) => [f.bytes[0], f.bytes.length]),
    [[2, MAX]],
  );
  assert.equal(bridge.stats().oversize, 1);
  assert.equal(bridge.stats().failed, 0);
  await Promise.all([a.close(), b.close(), bridge.close()]);
});

interface Rx {
  t: Transport;
  frames: InboundFrame[];
  statuses: TransportStatus[];
}

async function openRx(url: string, id: string, o: Partial<MqttTransportOptions>): Promise<Rx> {
  const frames: InboundFrame[] = [];
  const statuses: TransportStatus[] = [];
  const t = mqttTransport({ url, maxFrameSize: MAX, unsubscribeOnClose: true, ...o });
  t.onStatus?.((s) => statuses.push(s));
  await t.open(id, (f) => void frames.push(f));
  return { t, frames, statuses };
}

/** The MQTT binding on one broker: oversize publishes injected by a raw client (the broker's view of a forger). */
function mqttSuite(name: string, setup: () => Promise<{ url: string; available: boolean; teardown?: () => Promise<void> }>): void {
  describe(`[SPEC 8.2, 8.9] mqtt inbound bound via ${name}`, () => {
    let url = '';
    let available = false;
    let teardown: (() => Promise<void>) | undefined;
    before(async () => {
      ({ url, available, teardown } = await setup());
    });
    after(async () => {
      await teardown?.();
    });

    for (const protocolVersion of [4, 5] as const) {
      test(`MQTT ${protocolVersion === 4 ? '3.1.1' : '5'}: a publish above maxFrameSize on the inbox topic never reaches onFrame; QoS 1, acknowledged (not redelivered)`, async (t) => {
        if (!requireOrSkip(t, name, available)) return;
        if (protocolVersion === 5 && name.includes('aedes')) return t.skip('aedes speaks MQTT 3.1.1 only');
        const prefix = `hopsafe-test-${uniq()}`;
        const cap = captureLog();
        const rx = await openRx(url, 'rx', { prefix, protocolVersion, clientId: `rx-${uniq()}`, logger: cap.logger });
        const raw = await mqtt.connectAsync(url, { clientId: `forger-${uniq()}`, reconnectPeriod: 0, protocolVersion });
        try {
          const topic = `${prefix}/rx/forger`;
          // Just above the bound (inside MQTT 5's packet allowance: the broker delivers it, the binding drops it),
          // far above it (MQTT 5: the broker itself drops it, the client announced its Maximum Packet Size), exactly at it.
          await raw.publishAsync(topic, Buffer.from(frameOf(1, MAX + 1)), { qos: 1 });
          await raw.publishAsync(topic, Buffer.from(frameOf(2, 64 * MAX)), { qos: 1 });
          await raw.publishAsync(topic, Buffer.from(frameOf(3, MAX)), { qos: 1 });
          await raw.publishAsync(topic, Buffer.from(frameOf(4, 1)), { qos: 1 });
          await until(() => rx.frames.length >= 2, 5000, 'the frames within the bound');
          await sleep(300);
          assert.deepEqual(
            rx.frames.map((f) => [f.from, f.bytes[0], f.bytes.length]),
            [
              ['forger', 3, MAX],
              ['forger', 4, 1],
            ],
          );
          const dropped = rx.t.inboundStats?.().oversize ?? -1;
          // MQTT 3.1.1: both reach the client and are dropped there. MQTT 5: the 64 KB one never leaves the broker
          // (Mosquitto honours the Maximum Packet Size of our CONNECT); the 1001-byte one fits it and is dropped here.
          assert.equal(dropped, protocolVersion === 4 ? 2 : 1);
          assert.ok(!rx.statuses.includes('reconnecting'), `the connection stayed up: ${rx.statuses.join(',')}`);
          if (dropped > 0) assert.match(cap.text(), /inbound frame larger than maxFrameSize dropped/);
          assertNoPayloadInLog(cap.text());
          // Nothing comes back later (the drop was PUBACKed): a further frame is the next thing onFrame sees.
          await raw.publishAsync(topic, Buffer.from(frameOf(5, 1)), { qos: 1 });
          await until(() => rx.frames.length >= 3, 5000, 'the last frame');
          await sleep(200);
          assert.deepEqual(
            rx.frames.map((f) => f.bytes[0]),
            [3, 4, 5],
          );
        } finally {
          await raw.endAsync();
          await rx.t.close();
        }
      });
    }
  });
}

mqttSuite('embedded aedes', async () => {
  const broker = await startBroker();
  return { url: broker.url, available: true, teardown: () => broker.close() };
});

mqttSuite('system Mosquitto 127.0.0.1:1883', async () => ({
  url: 'mqtt://127.0.0.1:1883',
  available: await serviceAvailable('127.0.0.1', 1883),
}));

test('[SPEC 8.2, 8.9] embedded broker: an oversize frame the broker itself injects never reaches onFrame', async () => {
  const broker = await startBroker();
  const rx = await openRx(broker.url, 'rx', {});
  try {
    await broker.inject({ from: 'forger', to: 'rx', topic: 'hopsafe/rx/forger', bytes: frameOf(1, MAX + 1) });
    await broker.inject({ from: 'forger', to: 'rx', topic: 'hopsafe/rx/forger', bytes: frameOf(2, MAX) });
    await until(() => rx.frames.length >= 1);
    await sleep(100);
    assert.deepEqual(
      rx.frames.map((f) => [f.bytes[0], f.bytes.length]),
      [[2, MAX]],
    );
    assert.equal(rx.t.inboundStats?.().oversize, 1);
  } finally {
    await rx.t.close();
    await broker.close();
  }
});

test('[SPEC 8.3, 8.9] amqp (RabbitMQ): a delivery above maxFrameSize never reaches onFrame and is acked (not redelivered)', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', await serviceAvailable('127.0.0.1', 5672))) return;
  const URL = 'amqp://guest:guest@127.0.0.1:5672';
  const exchange = `hopsafe-test-${randomUUID().slice(0, 8)}`;
  const admin = await amqplib.connect(URL);
  const ch = await admin.createConfirmChannel();
  const cap = captureLog();
  const frames: InboundFrame[] = [];
  const rx = amqpTransport({ url: URL, exchange, durable: false, maxFrameSize: MAX, logger: cap.logger });
  let rx2: Transport | undefined;
  try {
    await rx.open('rx', (f) => void frames.push(f));
    // The forger publishes straight to the exchange with rx's routing key (what a hostile broker or client can do).
    const publish = (bytes: Uint8Array): Promise<void> =>
      new Promise((resolve, reject) => ch.publish(exchange, 'rx.forger', Buffer.from(bytes), {}, (err) => (err ? reject(err) : resolve())));
    await publish(frameOf(1, MAX + 1));
    await publish(frameOf(2, 16 * MAX));
    await publish(frameOf(3, MAX));
    await until(() => frames.length >= 1);
    await sleep(200);
    assert.deepEqual(
      frames.map((f) => [f.from, f.bytes[0], f.bytes.length]),
      [['forger', 3, MAX]],
    );
    assert.deepEqual(rx.inboundStats?.(), { oversize: 2 });
    assert.match(cap.text(), /inbound frame larger than maxFrameSize dropped/);
    assertNoPayloadInLog(cap.text());
    await rx.close();
    // Acked, not requeued: the queue is empty and a new consumer of it gets nothing back.
    assert.equal((await ch.checkQueue(`${exchange}.rx`)).messageCount, 0);
    const again: InboundFrame[] = [];
    rx2 = amqpTransport({ url: URL, exchange, durable: false, maxFrameSize: MAX });
    await rx2.open('rx', (f) => void again.push(f));
    await publish(frameOf(4, 1));
    await until(() => again.length >= 1);
    await sleep(200);
    assert.deepEqual(
      again.map((f) => f.bytes[0]),
      [4],
    );
    assert.deepEqual(rx2.inboundStats?.(), { oversize: 0 }, 'the dropped frames were not delivered again');
  } finally {
    await rx.close();
    await rx2?.close();
    await ch.deleteQueue(`${exchange}.rx`).catch(() => undefined);
    await ch.deleteExchange(exchange).catch(() => undefined);
    await admin.close();
  }
});
