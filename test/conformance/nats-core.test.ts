import { randomBytes } from 'node:crypto';
import { natsTransport, NATS_DEFAULT_MAX_FRAME_SIZE } from '../../src/bindings/nats.js';
import { NATS_SERVICE, NATS_URL, natsAvailable, natsSpy } from '../support/nats.js';
import { conformance } from './suite.js';

const prefix = `hopsafe-conf-${randomBytes(3).toString('hex')}`;
conformance({
  name: 'core NATS on the system nats-server',
  service: NATS_SERVICE,
  available: natsAvailable,
  transport: () => natsTransport({ servers: NATS_URL, prefix }),
  maxPayload: NATS_DEFAULT_MAX_FRAME_SIZE - 67,
  maxFrameSize: NATS_DEFAULT_MAX_FRAME_SIZE,
  timeoutMs: 15_000,
  spy: () => natsSpy(prefix),
});
