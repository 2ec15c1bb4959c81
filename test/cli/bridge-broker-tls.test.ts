/**
 * `hopsafe bridge --broker-ca/--broker-cert/--broker-key --username` (password from HOPSAFE_BROKER_PASSWORD) between a
 * private Mosquitto this file starts itself (its listener requiring a client certificate and a user's password) and
 * an embedded aedes broker: frames cross both ways; the password appears in no output; a missing file is reported by
 * flag name. Skipped when mosquitto, mosquitto_passwd or openssl is missing (fails under HOPSAFE_REQUIRE_SERVICES=1).
 * [SPEC 8.5]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startBroker } from '../../src/broker/index.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { mosquittoBinary, mosquittoPasswdBinary, startSecureMosquitto, type SecureMosquitto } from '../support/mosquitto.js';
import { opensslAvailable } from '../support/tls-certs.js';
import { requireOrSkip } from '../support/services.js';
import { receiver } from '../support/frames.js';
import { CLI } from '../support/cli-peer.js';

const binary = mosquittoBinary();
const passwd = mosquittoPasswdBinary();
const tools = binary !== undefined && passwd !== undefined && opensslAvailable();
const PASSWORDS = { bridge: randomBytes(9).toString('base64url'), 'der-1': randomBytes(9).toString('base64url') };
let broker: SecureMosquitto | undefined;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  if (tools) broker = await startSecureMosquitto(binary!, passwd!, PASSWORDS);
});
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  await broker?.stop();
});

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.HOPSAFE_BROKER_USERNAME;
  delete e.HOPSAFE_BROKER_PASSWORD;
  return { ...e, ...extra };
}

test('[SPEC 8.5] hopsafe bridge: an mqtts side with a client certificate and a broker password ↔ a plain side', async (t) => {
  if (!requireOrSkip(t, 'mosquitto, mosquitto_passwd and openssl', tools && broker !== undefined)) return;
  const b = broker!;
  const plain = await startBroker();
  cleanup.push(() => plain.close());
  const args = [
    'bridge',
    '--side',
    `secure=${b.tlsAuthUrl}`,
    '--side',
    `plain=${plain.url}`,
    '--route',
    'der-*=secure',
    '--route',
    'cc=plain',
    '--id',
    'der-1,cc',
    '--broker-ca',
    b.tls.ca,
    '--broker-cert',
    b.tls.clientCert,
    '--broker-key',
    b.tls.clientKey,
    '--username',
    'bridge',
  ];
  const child = spawn(process.execPath, [...CLI, ...args], { env: env({ HOPSAFE_BROKER_PASSWORD: PASSWORDS.bridge }) });
  cleanup.push(async () => void (child.exitCode === null && child.kill('SIGKILL')));
  let err = '';
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('hopsafe bridge: up')) resolve();
    });
    void exit.then((code) => reject(new Error(`bridge exited ${code}: ${err}`)));
  });
  const tls = { ca: readFileSync(b.tls.ca), cert: readFileSync(b.tls.clientCert), key: readFileSync(b.tls.clientKey) };
  const der = await receiver(
    mqttTransport({ url: b.tlsAuthUrl, mqttOptions: { ...tls, username: 'der-1', password: PASSWORDS['der-1'] } }),
    'der-1',
    cleanup,
  );
  const cc = await receiver(mqttTransport({ url: plain.url }), 'cc', cleanup);
  await der.t.send('cc', Uint8Array.of(1, 2, 3));
  await cc.t.send('der-1', Uint8Array.of(4));
  assert.deepEqual((await cc.wait(1))[0], { from: 'der-1', bytes: Uint8Array.of(1, 2, 3) });
  assert.deepEqual((await der.wait(1))[0], { from: 'cc', bytes: Uint8Array.of(4) });
  child.kill('SIGTERM');
  assert.equal(await exit, 0, err);
  for (const secret of Object.values(PASSWORDS)) assert.ok(!err.includes(secret) && !out.includes(secret), 'no password in the output');
});

test('[SPEC 8.5] hopsafe bridge: --broker-ca of a missing file, or with no TLS side → exit 1 naming the flag, no stack', async (t) => {
  if (!requireOrSkip(t, 'mosquitto, mosquitto_passwd and openssl', tools && broker !== undefined)) return;
  const b = broker!;
  const base = ['bridge', '--side', `a=${b.authUrl}`, '--side', 'b=mqtt://127.0.0.1:1', '--route', '*=a', '--id', 'x'];
  for (const [extra, reason] of [
    [['--broker-ca', 'nope.pem'], /^hopsafe: ERR_CONFIG: --broker-ca nope\.pem: no such file$/m],
    [['--broker-ca', b.tls.ca], /need an MQTT or AMQP side with a TLS URL/],
  ] as const) {
    const r = spawnSync(process.execPath, [...CLI, ...base, ...extra], { encoding: 'utf8', timeout: 30_000, env: env({}) });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, reason);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  }
});
