import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { natsTransport, NATS_DEFAULT_MAX_FRAME_SIZE } from '../../src/bindings/nats.js';
import { toHex } from '../../src/bytes/index.js';
import { NATS_SERVICE, NATS_URL, natsAvailable } from '../support/nats.js';
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
  async spy() {
    // Any client of the server subscribed to everything under the prefix: what a curious operator sees.
    const seen: string[] = [];
    const nc = await connect({ servers: NATS_URL });
    nc.subscribe(`${prefix}.>`, { callback: (_e, m) => void seen.push(toHex(m.data)) });
    await nc.flush();
    return { seen: () => seen, close: () => nc.close() };
  },
});
