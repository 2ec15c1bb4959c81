/**
 * No bridge: an AMQP endpoint and an MQTT endpoint on the same RabbitMQ, via its MQTT plugin
 * (scripts/ci/enable-rabbitmq-mqtt.sh: listener 127.0.0.1:1885). The plugin publishes MQTT topic `a/b/c` as
 * routing key `a.b.c` on `amq.topic` (and routing key `a.b.c` to MQTT topic `a/b/c`), so the AMQP transport with
 * exchange `amq.topic` and routingKeyPrefix = the MQTT prefix addresses the same inboxes. RabbitMQ 3.10 replaces
 * '/' by '.' without swapping, so ids containing '.' do not interoperate this way (see SPEC 8.3). [SPEC 8.3]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import type { InboundFrame, Transport } from '../../src/transport/transport.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const RABBIT_MQTT = 'mqtt://guest:guest@127.0.0.1:1885';
let available = false;
const opened: Transport[] = [];
const queues: string[] = [];

before(async () => {
  available = (await serviceAvailable('127.0.0.1', 5672)) && (await serviceAvailable('127.0.0.1', 1885));
});
after(async () => {
  for (const t of opened) await t.close().catch(() => undefined);
  if (queues.length > 0) {
    const conn = await amqplib.connect(AMQP_URL);
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    await conn.close();
  }
});

function collect(): { got: InboundFrame[]; handler: (f: InboundFrame) => void; wait(n: number): Promise<InboundFrame[]> } {
  const got: InboundFrame[] = [];
  return {
    got,
    handler: (f) => void got.push(f),
    async wait(n) {
      const deadline = Date.now() + 5000;
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`timeout: ${got.length}/${n}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return got;
    },
  };
}

test("[SPEC 8.3] AMQP (amq.topic, routingKeyPrefix) and MQTT on RabbitMQ's MQTT plugin exchange frames with no bridge", async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ MQTT plugin on 127.0.0.1:1885 (scripts/ci/enable-rabbitmq-mqtt.sh)', available)) return;
  const prefix = `hopsafe-${randomUUID().slice(0, 8)}`;
  const clientId = `der-1-${randomUUID().slice(0, 6)}`;
  queues.push(`${prefix}.control-center`, `mqtt-subscription-${clientId}qos1`);
  const der = mqttTransport({ url: RABBIT_MQTT, prefix, protocolVersion: 4, clientId, unsubscribeOnClose: true });
  const cc = amqpTransport({ exchange: 'amq.topic', routingKeyPrefix: prefix, queuePrefix: prefix, durable: true });
  opened.push(der, cc);
  const atDer = collect();
  const atCc = collect();
  await der.open('der-1', atDer.handler);
  await cc.open('control-center', atCc.handler);
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  await der.send('control-center', all);
  for (let i = 0; i < 10; i++) await der.send('control-center', Uint8Array.of(i));
  await cc.send('der-1', all);
  const got = await atCc.wait(11);
  assert.deepEqual(got[0], { from: 'der-1', bytes: all });
  assert.deepEqual(
    got.slice(1).map((f) => f.bytes[0]),
    [...Array(10).keys()],
  );
  assert.deepEqual((await atDer.wait(1))[0], { from: 'control-center', bytes: all });
});
