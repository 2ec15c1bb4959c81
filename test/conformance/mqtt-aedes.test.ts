import { mqttTransport, DEFAULT_MQTT_MAX_FRAME_SIZE } from '../../src/bindings/mqtt.js';
import { startBroker, createMemoryPersistence, type RunningBroker } from '../../src/broker/index.js';
import { toHex } from '../../src/bytes/index.js';
import { conformance } from './suite.js';

let broker: RunningBroker;
const persistence = createMemoryPersistence();
conformance({
  name: 'MQTT on the embedded aedes broker',
  async setup() {
    broker = await startBroker({ persistence });
  },
  async teardown() {
    await broker.close();
  },
  transport: () => mqttTransport({ url: broker.url, mqttOptions: { reconnectPeriod: 100 } }),
  maxPayload: DEFAULT_MQTT_MAX_FRAME_SIZE - 67,
  maxFrameSize: DEFAULT_MQTT_MAX_FRAME_SIZE,
  async spy() {
    const seen: string[] = [];
    const off = broker.tap((f) => void seen.push(toHex(f.bytes)));
    return { seen: () => seen, close: async () => off() };
  },
  // A broker restart (sessions persisted) forces every client to reconnect.
  async disrupt() {
    const port = broker.port;
    await broker.close();
    broker = await startBroker({ port, persistence });
  },
});
