/** The suite across systems: some ids on NATS (system nats-server, JetStream), the others on MQTT (aedes), joined by a bridge. */
import { randomBytes, randomUUID } from 'node:crypto';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { natsTransport } from '../../src/bindings/nats.js';
import { createBridge } from '../../src/bindings/bridge.js';
import type { Transport } from '../../src/transport/transport.js';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { NATS_SERVICE, NATS_URL, deleteStream, natsAvailable } from '../support/nats.js';
import { conformance } from './suite.js';

const prefix = `hopsafe-brn-${randomBytes(3).toString('hex')}`;
let broker: RunningBroker;
const MAX = 256 * 1024; // the smaller side (MQTT) bounds the payload (SPEC 8.5)
const onNats = (id: string): boolean => id.startsWith('cc-') || id.startsWith('a-');
const mqtt = (id: string): Transport =>
  mqttTransport({ url: broker.url, unsubscribeOnClose: true, clientId: `${id}-${randomUUID().slice(0, 6)}` });
const nats = (): Transport =>
  natsTransport({ servers: NATS_URL, prefix, maxFrameSize: MAX, jetstream: { stream: prefix, storage: 'memory' } });

conformance({
  name: 'bridge: NATS JetStream ↔ MQTT (aedes)',
  service: NATS_SERVICE,
  available: natsAvailable,
  async setup() {
    broker = await startBroker();
  },
  async teardown() {
    await broker.close();
    await deleteStream(NATS_URL, prefix);
  },
  async prepare(ids) {
    const bridge = await createBridge({
      sides: { mqtt, nats },
      endpoints: Object.fromEntries(ids.map((id) => [id, onNats(id) ? 'nats' : 'mqtt'])),
    });
    return () => bridge.close();
  },
  transport: (id) => (onNats(id) ? nats() : mqtt(id)),
  maxPayload: MAX - 67,
  maxFrameSize: MAX,
  timeoutMs: 20_000,
});
