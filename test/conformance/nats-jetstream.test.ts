import { randomBytes } from 'node:crypto';
import { natsTransport, NATS_DEFAULT_MAX_FRAME_SIZE } from '../../src/bindings/nats.js';
import { NATS_SERVICE, NATS_URL, deleteStream, natsAvailable, natsSpy } from '../support/nats.js';
import { conformance } from './suite.js';

const prefix = `hopsafe-confjs-${randomBytes(3).toString('hex')}`;
const stream = prefix.replaceAll('.', '_');
// JetStream publishes carry a Nats-Msg-Id header: the binding keeps 128 bytes of max_payload for it.
const MAX = NATS_DEFAULT_MAX_FRAME_SIZE - 128;
conformance({
  name: 'NATS JetStream on the system nats-server',
  service: NATS_SERVICE,
  available: natsAvailable,
  transport: () => natsTransport({ servers: NATS_URL, prefix, jetstream: { stream, storage: 'memory', maxAgeMs: 600_000 } }),
  maxPayload: MAX - 67,
  maxFrameSize: MAX,
  timeoutMs: 15_000,
  spy: () => natsSpy(prefix),
  async teardown() {
    await deleteStream(NATS_URL, stream);
  },
});
