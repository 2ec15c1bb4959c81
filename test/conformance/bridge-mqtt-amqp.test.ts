/** The suite across systems: some ids on AMQP (RabbitMQ), the others on MQTT (aedes), joined by a bridge. */
import { randomBytes, randomUUID } from 'node:crypto';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { createBridge } from '../../src/bindings/bridge.js';
import type { Transport } from '../../src/transport/transport.js';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { serviceAvailable } from '../support/services.js';
import { conformance } from './suite.js';
import { removeAmqpObjects } from '../support/amqp-cleanup.js';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
const exchange = `hopsafe-br-${randomBytes(3).toString('hex')}`;
const queues = new Set<string>();
let broker: RunningBroker;
const MAX = 256 * 1024; // the smaller side (MQTT) bounds the payload
const onAmqp = (id: string): boolean => id.startsWith('cc-') || id.startsWith('a-');
const mqtt = (id: string): Transport =>
  mqttTransport({ url: broker.url, unsubscribeOnClose: true, clientId: `${id}-${randomUUID().slice(0, 6)}` });
const amqp = (id: string): Transport => {
  queues.add(`${exchange}.${id}`);
  // Behind a bridge an endpoint uses the smallest frame limit along the path (SPEC 8.5), so oversize fails at send.
  return amqpTransport({ url: URL, exchange, durable: false, maxFrameSize: MAX });
};

conformance({
  name: 'bridge: MQTT (aedes) ↔ AMQP (RabbitMQ)',
  service: 'RabbitMQ 127.0.0.1:5672',
  available: () => serviceAvailable('127.0.0.1', 5672),
  async setup() {
    broker = await startBroker();
  },
  async teardown() {
    await broker.close();
    await removeAmqpObjects(URL, exchange, queues);
  },
  async prepare(ids) {
    const bridge = await createBridge({
      sides: { mqtt, amqp },
      endpoints: Object.fromEntries(ids.map((id) => [id, onAmqp(id) ? 'amqp' : 'mqtt'])),
    });
    return () => bridge.close();
  },
  transport: (id) => (onAmqp(id) ? amqp(id) : mqtt(id)),
  maxPayload: MAX - 67,
  maxFrameSize: MAX,
  timeoutMs: 20_000,
});
