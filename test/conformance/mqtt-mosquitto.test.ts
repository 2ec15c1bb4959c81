import mqtt from 'mqtt';
import { randomBytes } from 'node:crypto';
import { mqttTransport, DEFAULT_MQTT_MAX_FRAME_SIZE } from '../../src/bindings/mqtt.js';
import { toHex } from '../../src/bytes/index.js';
import { serviceAvailable } from '../support/services.js';
import { conformance } from './suite.js';

const URL = 'mqtt://127.0.0.1:1883';
const prefix = `hopsafe-conf-${randomBytes(3).toString('hex')}`;
conformance({
  name: 'MQTT on the system Mosquitto',
  service: 'Mosquitto 127.0.0.1:1883',
  available: () => serviceAvailable('127.0.0.1', 1883),
  transport: () => mqttTransport({ url: URL, prefix, unsubscribeOnClose: true }),
  maxPayload: DEFAULT_MQTT_MAX_FRAME_SIZE - 67,
  maxFrameSize: DEFAULT_MQTT_MAX_FRAME_SIZE,
  timeoutMs: 15_000,
  async spy() {
    // Any client of the broker subscribed to everything: what a curious broker operator sees.
    const seen: string[] = [];
    const c = await mqtt.connectAsync(URL, { clientId: `spy-${randomBytes(3).toString('hex')}` });
    c.on('message', (_t, payload) => seen.push(toHex(new Uint8Array(payload))));
    await c.subscribeAsync(`${prefix}/#`);
    return { seen: () => seen, close: async () => void (await c.endAsync()) };
  },
});
