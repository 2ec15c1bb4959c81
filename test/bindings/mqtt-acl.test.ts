/**
 * The example Mosquitto ACL (examples/mosquitto/hopsafe.acl) on a private Mosquitto process:
 * each client reads only its own inbox and writes only its own sender slot. [SPEC 8.2]
 * Skipped when the mosquitto binary is absent (fails under HOPSAFE_REQUIRE_SERVICES=1).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import type { InboundFrame, Transport } from '../../src/transport/transport.js';
import { mosquittoBinary, startPrivateMosquitto, type PrivateMosquitto } from '../support/mosquitto.js';
import { requireOrSkip } from '../support/services.js';

const binary = mosquittoBinary();
let broker: PrivateMosquitto | undefined;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  if (binary) broker = await startPrivateMosquitto(binary);
});
after(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
  await broker?.stop();
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("[SPEC 8.2] Mosquitto ACL: endpoints get their frames; mallory can neither read der-1's inbox nor publish in control-center's name", async (t) => {
  if (!requireOrSkip(t, 'mosquitto binary', binary !== undefined) || !broker) return;
  const url = broker.url;

  const der1Frames: InboundFrame[] = [];
  const der1: Transport = mqttTransport({ url }); // clientId defaults to the endpoint id: what %c matches
  cleanup.push(() => der1.close());
  await der1.open('der-1', (f) => void der1Frames.push(f));
  const cc: Transport = mqttTransport({ url });
  cleanup.push(() => cc.close());
  await cc.open('control-center', () => {});

  const mallorySeen: string[] = [];
  const mallory = await mqtt.connectAsync(url, { clientId: 'mallory', reconnectPeriod: 0 });
  cleanup.push(() => mallory.endAsync());
  mallory.on('message', (topic) => mallorySeen.push(topic));
  const granted = await mallory.subscribeAsync('hopsafe/der-1/#', { qos: 1 });
  await mallory.subscribeAsync('hopsafe/mallory/#', { qos: 1 }); // its own inbox: allowed

  // The legitimate path works.
  await cc.send('der-1', Uint8Array.from([1]));
  await until(() => der1Frames.length === 1);
  assert.deepEqual([der1Frames[0]!.from, [...der1Frames[0]!.bytes]], ['control-center', [1]]);

  // Forged sender slot: mallory publishes on hopsafe/der-1/control-center. The broker accepts the PUBLISH (MQTT 3.1.1
  // has no way to refuse it) but drops it. Then mallory uses its own slot, which is allowed, and cc sends once more:
  // der-1 must see exactly mallory's honest frame and cc's second frame, never the forged one.
  await mallory.publishAsync('hopsafe/der-1/control-center', Buffer.from([0x66]), { qos: 1 });
  await mallory.publishAsync('hopsafe/der-1/mallory', Buffer.from([0x77]), { qos: 1 });
  await cc.send('der-1', Uint8Array.from([2]));
  await until(() => der1Frames.length >= 3);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    der1Frames.map((f) => [f.from, [...f.bytes]]),
    [
      ['control-center', [1]],
      ['mallory', [0x77]],
      ['control-center', [2]],
    ],
  );

  // Reading: whatever SUBACK said, no frame addressed to der-1 ever reached mallory.
  assert.deepEqual(mallorySeen, [], `mallory saw ${mallorySeen.join(', ')} (SUBACK ${JSON.stringify(granted)})`);

  // The ACL is not blocking everything for mallory: der-1 can write to mallory's inbox from its own slot.
  await der1.send('mallory', Uint8Array.from([3]));
  await until(() => mallorySeen.length === 1);
  assert.deepEqual(mallorySeen, ['hopsafe/mallory/der-1']);
});

test('[SPEC 8.2] MQTT 5: a frame above the maximum packet size the broker announced is ERR_PAYLOAD_TOO_LARGE, not a dropped connection', {
  timeout: 15_000,
}, async (t) => {
  if (!requireOrSkip(t, 'mosquitto binary', binary !== undefined) || !broker) return;
  const url = broker.url; // examples/mosquitto/mosquitto.conf: max_packet_size 300000
  const frames: InboundFrame[] = [];
  // The receiver must accept frames this large too: since issue 14 a transport drops inbound frames above its own
  // maxFrameSize (SPEC 8.9), and the default (256 KiB) is below the 299,000 bytes sent here.
  const rx = mqttTransport({ url, protocolVersion: 5, sessionExpirySeconds: 10, maxFrameSize: 1024 * 1024 });
  cleanup.push(() => rx.close());
  await rx.open('der-2', (f) => void frames.push(f));
  const tx = mqttTransport({ url, protocolVersion: 5, sessionExpirySeconds: 10, maxFrameSize: 1024 * 1024 });
  cleanup.push(() => tx.close());
  const statuses: string[] = [];
  tx.onStatus?.((s) => statuses.push(s));
  await tx.open('der-3', () => {});
  await assert.rejects(
    tx.send('der-2', new Uint8Array(300_000)),
    (e: unknown) => e instanceof Error && 'code' in e && e.code === 'ERR_PAYLOAD_TOO_LARGE',
  );
  await tx.send('der-2', new Uint8Array(299_000));
  await until(() => frames.length === 1);
  assert.equal(frames[0]!.bytes.byteLength, 299_000);
  assert.deepEqual(statuses, ['connected']);
});
