/** The suite with no bridge: AMQP endpoints and MQTT endpoints on one RabbitMQ through its MQTT plugin (SPEC 8.3). */
import { randomBytes, randomUUID } from 'node:crypto';
import amqplib from 'amqplib';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { amqpTransport } from '../../src/bindings/amqp.js';
import type { Transport } from '../../src/transport/transport.js';
import { serviceAvailable } from '../support/services.js';
import { conformance } from './suite.js';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const RABBIT_MQTT = 'mqtt://guest:guest@127.0.0.1:1885';
const prefix = `hopsafe-plg-${randomBytes(3).toString('hex')}`;
const queues = new Set<string>();
const onAmqp = (id: string): boolean => id.startsWith('cc-') || id.startsWith('a-');
const MAX = 256 * 1024;
const amqp = (id: string): Transport => {
  queues.add(`${prefix}.${id}`);
  return amqpTransport({
    url: AMQP_URL,
    exchange: 'amq.topic',
    routingKeyPrefix: prefix,
    queuePrefix: prefix,
    durable: false,
    maxFrameSize: MAX,
  });
};
const mqtt = (id: string): Transport => {
  const clientId = `${id}-${randomUUID().slice(0, 6)}`;
  queues.add(`mqtt-subscription-${clientId}qos1`); // the plugin's queue for a persistent session
  return mqttTransport({ url: RABBIT_MQTT, prefix, unsubscribeOnClose: true, clientId, maxFrameSize: MAX });
};

conformance({
  name: 'RabbitMQ: AMQP ↔ MQTT through the MQTT plugin (no bridge)',
  service: 'RabbitMQ MQTT plugin 127.0.0.1:1885 (scripts/ci/enable-rabbitmq-mqtt.sh)',
  available: async () => (await serviceAvailable('127.0.0.1', 5672)) && (await serviceAvailable('127.0.0.1', 1885)),
  async teardown() {
    const conn = await amqplib.connect(AMQP_URL);
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    await conn.close().catch(() => undefined);
  },
  transport: (id) => (onAmqp(id) ? amqp(id) : mqtt(id)),
  maxPayload: MAX - 67,
  maxFrameSize: MAX,
  timeoutMs: 20_000,
});
