/**
 * Hop-by-hop TLS and server authentication for the NATS binding, on private nats-servers this file starts itself
 * (own config, free port, store and certificates in a temp dir; never the system server): one with a TLS listener
 * (server certificate from a test CA made with openssl) and user/password authorization, one with mutual TLS
 * (`verify: true`) and token authorization. Both with JetStream. Skipped when nats-server or openssl is missing
 * (fails under HOPSAFE_REQUIRE_SERVICES=1). [SPEC 8.11]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { natsTransport, type NatsTransportOptions } from '../../src/bindings/nats.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { recordsBothWays, refusedOpen } from '../support/transport-checks.js';
import { opensslAvailable, pem, type TlsFiles } from '../support/tls-certs.js';
import { natsServerBinary, startSecureNats, type PrivateNats, type SecureNats } from '../support/nats.js';
import { requireOrSkip } from '../support/services.js';

const binary = natsServerBinary();
const tools = binary !== undefined && opensslAvailable();
const PASSWORD = randomBytes(9).toString('base64url');
const TOKEN = randomBytes(12).toString('base64url');
let servers: SecureNats | undefined;
let files: TlsFiles | undefined;
let tlsPass: PrivateNats | undefined;
let mtlsToken: PrivateNats | undefined;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  if (!tools) return;
  servers = await startSecureNats(binary!, { 'der-1': PASSWORD, 'control-center': PASSWORD }, TOKEN);
  ({ files, tlsPass, mtlsToken } = servers);
});
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  await servers?.stop();
});

const skipUnlessTools = (t: { skip(m?: string): void }): boolean =>
  requireOrSkip(t, 'nats-server and openssl', tools && tlsPass !== undefined && mtlsToken !== undefined);

const tlsUrl = (s: PrivateNats): string => `tls://127.0.0.1:${s.port}`;
const prefix = (): string => `hopsafe-tls-${randomBytes(3).toString('hex')}`;

/** Opens a transport that must be refused (no reconnect loop: the first connect fails); returns the error. */
const refused = (o: NatsTransportOptions): Promise<Error> => refusedOpen(natsTransport({ openTimeoutMs: 4000, ...o }), 'der-1', cleanup);

test('[SPEC 8.11] tls:// with the server CA and a user/password: two endpoints handshake and exchange records (core and JetStream)', async (t) => {
  if (!skipUnlessTools(t)) return;
  const f = files!;
  for (const jetstream of [false, true]) {
    const p = prefix();
    await recordsBothWays(
      (id) =>
        natsTransport({
          servers: tlsUrl(tlsPass!),
          tls: { ca: pem(f.ca) },
          user: id,
          pass: PASSWORD,
          prefix: p,
          ...(jetstream ? { jetstream: { stream: p, storage: 'memory' as const } } : {}),
        }),
      jetstream ? 'tls + password, JetStream' : 'tls + password',
      cleanup,
    );
  }
});

test('[SPEC 8.11] tls:// refused: a CA that did not sign the server certificate, no CA, or plain nats:// to a TLS-only server → ERR_TRANSPORT naming the certificate', async (t) => {
  if (!skipUnlessTools(t)) return;
  const f = files!;
  for (const [what, o] of [
    ['another CA', { servers: tlsUrl(tlsPass!), tls: { ca: pem(f.strangerCa) } }],
    ['no CA (system store)', { servers: tlsUrl(tlsPass!) }],
    ['nats:// with tls options of another CA', { servers: `nats://127.0.0.1:${tlsPass!.port}`, tls: { ca: pem(f.strangerCa) } }],
  ] as const) {
    const e = await refused({ ...o, user: 'der-1', pass: PASSWORD });
    assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT', `${what}: ${String(e)}`);
    assert.match(e.message, /certificate|self.signed|verify/i, what);
    assert.ok(!e.message.includes(PASSWORD), 'no password in the error message');
  }
});

test('[SPEC 8.11] user/password refused: a wrong password, an unknown user or none → ERR_TRANSPORT (authorization), the password in no error', async (t) => {
  if (!skipUnlessTools(t)) return;
  const tls = { ca: pem(files!.ca) };
  for (const creds of [{ user: 'der-1', pass: `${PASSWORD}x` }, { user: 'nobody', pass: PASSWORD }, {}]) {
    const e = await refused({ servers: tlsUrl(tlsPass!), tls, ...creds });
    assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT', String(e));
    assert.match(e.message, /authoriz/i, JSON.stringify(creds));
    assert.ok(!e.message.includes(PASSWORD), 'no password in the error message');
  }
});

test('[SPEC 8.11] mutual TLS (verify: true) and a token: right certificate and token → records; a stranger certificate, none, or a wrong token → ERR_TRANSPORT', async (t) => {
  if (!skipUnlessTools(t)) return;
  const f = files!;
  const ca = pem(f.ca);
  const client = { ca, cert: pem(f.clientCert), key: pem(f.clientKey) };
  const p = prefix();
  await recordsBothWays(
    () => natsTransport({ servers: tlsUrl(mtlsToken!), tls: client, token: TOKEN, prefix: p }),
    'mutual tls + token',
    cleanup,
  );
  for (const [what, o, pattern] of [
    // the server's TLS alert comes after the client's handshake (TLS 1.3): the client retries until openTimeoutMs,
    // then one attempt without retries names the alert ("bad certificate"), or the reset when the server's close
    // overtakes it
    [
      'a client certificate from another CA',
      { tls: { ca, cert: pem(f.strangerCert), key: pem(f.strangerKey) }, token: TOKEN },
      /without retries: .*(certificate|ECONNRESET)/i,
    ],
    ['no client certificate', { tls: { ca }, token: TOKEN }, /without retries: .*(certificate|ECONNRESET)/i],
    ['a wrong token', { tls: client, token: `${TOKEN}x` }, /authoriz/i],
    ['no token', { tls: client }, /authoriz/i],
  ] as const) {
    const e = await refused({ servers: tlsUrl(mtlsToken!), ...o });
    assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT', `${what}: ${String(e)}`);
    assert.match(e.message, pattern, `${what}: ${e.message}`);
    assert.ok(!e.message.includes(TOKEN), 'no token in the error message');
  }
});
