/**
 * Hop-by-hop TLS and broker authentication for the MQTT binding (mqttOptions → mqtt.js), on a private Mosquitto this
 * file starts itself (own config, dir and free ports; never the system broker): a TLS listener that requires a
 * client certificate from its CA, a plain listener with a password_file and allow_anonymous false, and one that
 * requires both. Skipped when mosquitto, mosquitto_passwd or openssl is missing (fails under HOPSAFE_REQUIRE_SERVICES=1).
 * [SPEC 8.2]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { recordsBothWays, refusedOpen } from '../support/transport-checks.js';
import { mosquittoBinary, mosquittoPasswdBinary, startSecureMosquitto, type SecureMosquitto } from '../support/mosquitto.js';
import { opensslAvailable } from '../support/tls-certs.js';
import { requireOrSkip } from '../support/services.js';

const binary = mosquittoBinary();
const passwd = mosquittoPasswdBinary();
const tools = binary !== undefined && passwd !== undefined && opensslAvailable();
const PASSWORD = randomBytes(9).toString('base64url');
let broker: SecureMosquitto | undefined;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  if (tools) broker = await startSecureMosquitto(binary!, passwd!, { 'der-1': PASSWORD, 'control-center': PASSWORD });
});
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  await broker?.stop();
});

const skipUnlessTools = (t: { skip(m?: string): void }): boolean =>
  requireOrSkip(t, 'mosquitto, mosquitto_passwd and openssl', tools && broker !== undefined);

/** Opens a transport that must be refused; returns the error. */
async function refused(url: string, mqttOptions: IClientOptions): Promise<Error> {
  return refusedOpen(mqttTransport({ url, mqttOptions: { reconnectPeriod: 0, ...mqttOptions }, openTimeoutMs: 4000 }), 'der-1', cleanup);
}

test('[SPEC 8.2] mqtts:// with a client certificate: two endpoints handshake and exchange records through a broker that requires client certs', async (t) => {
  if (!skipUnlessTools(t)) return;
  const b = broker!;
  const tls = { ca: readFileSync(b.tls.ca), cert: readFileSync(b.tls.clientCert), key: readFileSync(b.tls.clientKey) };
  const c = await recordsBothWays(() => mqttTransport({ url: b.tlsUrl, mqttOptions: tls, unsubscribeOnClose: true }), 'mqtts', cleanup);
  assert.deepEqual([c.rejects['der-1'], c.rejects['control-center']], [[], []]);
});

test('[SPEC 8.2] mqtts://: no client certificate, one from another CA, or an untrusted server certificate → open refused', async (t) => {
  if (!skipUnlessTools(t)) return;
  const b = broker!;
  const ca = readFileSync(b.tls.ca);
  for (const [what, opts] of [
    ['no client certificate', { ca }],
    ['a client certificate from another CA', { ca, cert: readFileSync(b.tls.strangerCert), key: readFileSync(b.tls.strangerKey) }],
    ['the broker CA not trusted', { cert: readFileSync(b.tls.clientCert), key: readFileSync(b.tls.clientKey) }],
  ] as const) {
    const e = await refused(b.tlsUrl, opts);
    // refused by the TLS handshake itself (an alert from the broker, or the client's own certificate check)
    assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT', `${what}: ${String(e)}`);
    assert.match(e.message, /certificate|unknown ca|alert|handshake/i, what);
  }
  // plain MQTT on the TLS listener does not get through either
  const e = await refused(b.tlsUrl.replace('mqtts:', 'mqtt:'), {});
  assert.ok(isHopsafeError(e), String(e));
});

test('[SPEC 8.2] username/password reach the broker: right password → open, wrong or none → refused (allow_anonymous false); the password is in no error', async (t) => {
  if (!skipUnlessTools(t)) return;
  const b = broker!;
  const ok = mqttTransport({ url: b.authUrl, mqttOptions: { username: 'der-1', password: PASSWORD }, unsubscribeOnClose: true });
  cleanup.push(() => ok.close());
  await ok.open('der-1', () => undefined);
  await ok.send('der-1', Uint8Array.from([1]));
  await ok.close();
  for (const opts of [{ username: 'der-1', password: `${PASSWORD}x` }, { username: 'nobody', password: PASSWORD }, {}]) {
    const e = await refused(b.authUrl, opts);
    assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT', String(e));
    assert.match(e.message, /not authorized/i);
    assert.ok(!e.message.includes(PASSWORD), 'no password in the error message');
  }
  // both at once: TLS with a client certificate and the user's password
  const tls = { ca: readFileSync(b.tls.ca), cert: readFileSync(b.tls.clientCert), key: readFileSync(b.tls.clientKey) };
  const both = mqttTransport({
    url: b.tlsAuthUrl,
    mqttOptions: { ...tls, username: 'der-1', password: PASSWORD },
    unsubscribeOnClose: true,
  });
  cleanup.push(() => both.close());
  await both.open('der-1', () => undefined);
  await both.close();
  assert.match((await refused(b.tlsAuthUrl, tls)).message, /not authorized/i);
});
