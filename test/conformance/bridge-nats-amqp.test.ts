/** The suite across systems: some ids on core NATS (system nats-server), the others on AMQP (RabbitMQ), joined by a bridge. */
import { randomBytes } from 'node:crypto';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { natsTransport, NATS_DEFAULT_MAX_FRAME_SIZE } from '../../src/bindings/nats.js';
import { createBridge } from '../../src/bindings/bridge.js';
import type { Transport } from '../../src/transport/transport.js';
import { serviceAvailable } from '../support/services.js';
import { NATS_URL, natsAvailable } from '../support/nats.js';
import { conformance } from './suite.js';
import { removeAmqpObjects } from '../support/amqp-cleanup.js';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
const prefix = `hopsafe-bra-${randomBytes(3).toString('hex')}`;
const exchange = prefix;
const queues = new Set<string>();
const MAX = NATS_DEFAULT_MAX_FRAME_SIZE; // the smaller side (NATS, 1 MiB max_payload) bounds the payload (SPEC 8.5)
const onNats = (id: string): boolean => id.startsWith('cc-') || id.startsWith('a-');
const nats = (): Transport => natsTransport({ servers: NATS_URL, prefix, maxFrameSize: MAX });
const amqp = (id: string): Transport => {
  queues.add(`${exchange}.${id}`);
  // Behind a bridge an endpoint uses the smallest frame limit along the path (SPEC 8.5), so oversize fails at send.
  return amqpTransport({ url: URL, exchange, durable: false, maxFrameSize: MAX });
};

conformance({
  name: 'bridge: core NATS ↔ AMQP (RabbitMQ)',
  service: 'NATS 127.0.0.1:4222 and RabbitMQ 127.0.0.1:5672',
  available: async () => (await natsAvailable()) && (await serviceAvailable('127.0.0.1', 5672)),
  async teardown() {
    await removeAmqpObjects(URL, exchange, queues);
  },
  async prepare(ids) {
    const bridge = await createBridge({
      sides: { nats, amqp },
      endpoints: Object.fromEntries(ids.map((id) => [id, onNats(id) ? 'nats' : 'amqp'])),
    });
    return () => bridge.close();
  },
  transport: (id) => (onNats(id) ? nats() : amqp(id)),
  maxPayload: MAX - 67,
  maxFrameSize: MAX,
  timeoutMs: 20_000,
});
