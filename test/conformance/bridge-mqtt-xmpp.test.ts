/** The suite across systems: control-center-like ids on XMPP (Prosody), the others on MQTT (aedes), joined by a bridge. */
import { randomUUID } from 'node:crypto';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { xmppTransport } from '../../src/bindings/xmpp.js';
import { createBridge, type Bridge } from '../../src/bindings/bridge.js';
import type { Transport } from '../../src/transport/transport.js';
import type { Interceptor } from '../../src/transport/interceptor.js';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { toHex } from '../../src/bytes/index.js';
import { prosodyInstalled, startProsody, type RunningProsody } from '../support/prosody.js';
import { conformance } from './suite.js';

let prosody: RunningProsody;
let broker: RunningBroker;
const taps = new Set<Interceptor>();
const onXmpp = (id: string): boolean => id.startsWith('cc-') || id.startsWith('a-');
const mqtt = (id: string): Transport =>
  mqttTransport({ url: broker.url, unsubscribeOnClose: true, clientId: `${id}-${randomUUID().slice(0, 6)}` });
const xmpp = (id: string): Transport =>
  xmppTransport({ service: prosody.service, domain: prosody.domain, password: `pw-${id}`, reconnectDelayMs: 100 });
const MAX = 195_072; // the smaller side (XMPP) bounds the payload

conformance({
  name: 'bridge: MQTT (aedes) ↔ XMPP (Prosody)',
  service: 'Prosody (Debian package prosody)',
  available: async () => prosodyInstalled(),
  async setup() {
    prosody = await startProsody({ users: [] });
    broker = await startBroker();
  },
  async teardown() {
    await prosody.stop();
    await broker.close();
  },
  async prepare(ids) {
    for (const id of ids) await prosody.register({ username: id, password: `pw-${id}` });
    const bridge: Bridge = await createBridge({
      sides: { mqtt, xmpp },
      endpoints: Object.fromEntries(ids.map((id) => [id, onXmpp(id) ? 'xmpp' : 'mqtt'])),
      tap: (f) => {
        for (const t of taps) t(f);
        return undefined;
      },
    });
    return () => bridge.close();
  },
  transport: (id) => (onXmpp(id) ? xmpp(id) : mqtt(id)),
  maxPayload: MAX - 67,
  maxFrameSize: MAX,
  timeoutMs: 20_000,
  async spy() {
    const seen: string[] = [];
    const t: Interceptor = (f) => void seen.push(toHex(f.bytes));
    taps.add(t);
    return { seen: () => seen, close: async () => void taps.delete(t) };
  },
});
