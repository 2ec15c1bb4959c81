/**
 * Child process of test/bindings/xmpp-tls.test.ts: two hopsafe endpoints (der-1, control-center; password
 * `pw-{id}`) over `xmppTransport({ service })` — an xmpp:// service, so TLS is STARTTLS, whose CA comes only from
 * NODE_EXTRA_CA_CERTS (read when node starts: why this is a process of its own). Exchanges one record each way and
 * prints one JSON line: `{"ok":true,"received":{id: text}}` or `{"ok":false,"code":…,"message":…}`.
 * Usage: node --import tsx test/support/xmpp-starttls-pair.ts <service> <domain>
 */
import { xmppTransport } from '../../src/bindings/xmpp.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { cast, text, until } from './endpoints.js';

const [service, domain] = process.argv.slice(2);
if (service === undefined || domain === undefined) throw new Error('usage: xmpp-starttls-pair.ts <service> <domain>');
const ids = ['der-1', 'control-center'];
const print = (o: unknown): Promise<void> => new Promise((r) => process.stdout.write(`${JSON.stringify(o)}\n`, () => r()));
try {
  const c = await cast(ids, { transport: (id) => xmppTransport({ service, domain, password: `pw-${id}`, reconnectDelayMs: 100 }) });
  try {
    await c.eps['der-1']!.send('control-center', new TextEncoder().encode('P=4.2MW'));
    await c.eps['control-center']!.send('der-1', new TextEncoder().encode('setpoint'));
    await until(() => ids.every((id) => c.inbox[id]!.length === 1), 10_000, 'records over STARTTLS');
    await print({ ok: true, received: Object.fromEntries(ids.map((id) => [id, text(c.inbox[id]![0]!)])) });
  } finally {
    await c.close();
  }
} catch (e) {
  await print({ ok: false, code: isHopsafeError(e) ? e.code : undefined, message: (e as Error).message });
}
process.exit(0); // the result is printed; nothing may keep a refused client retrying
