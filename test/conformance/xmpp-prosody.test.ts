import { xmppTransport } from '../../src/bindings/xmpp.js';
import { prosodyInstalled, startProsody, type RunningProsody } from '../support/prosody.js';
import { conformance } from './suite.js';

let prosody: RunningProsody;
const MAX = 195_072; // the binding's default, sized for Prosody's 256 KiB stanza limit
conformance({
  name: 'XMPP on Prosody',
  service: 'Prosody (Debian package prosody)',
  available: async () => prosodyInstalled(),
  async setup() {
    prosody = await startProsody({ users: [] });
  },
  async teardown() {
    await prosody.stop();
  },
  async prepare(ids) {
    for (const id of ids) await prosody.register({ username: id, password: `pw-${id}` });
    return async () => undefined;
  },
  transport: (id) => xmppTransport({ service: prosody.service, domain: prosody.domain, password: `pw-${id}`, reconnectDelayMs: 100 }),
  maxPayload: MAX - 67,
  maxFrameSize: MAX,
  timeoutMs: 15_000,
});
