/**
 * Hop-by-hop TLS and broker credentials for the AMQP binding: `tls` (CA, client certificate and key, servername) on
 * an amqps:// URL, and `username`/`password` beyond the URL. The TLS listener is a TLS front this file starts itself
 * (test/support/tls-proxy.ts: requires a client certificate, pipes to the system RabbitMQ 127.0.0.1:5672), so the
 * broker is not reconfigured (RabbitMQ's own TLS listener: amqp-rabbitmq-tls.test.ts, on a private node). Skipped when RabbitMQ is unreachable or openssl is missing (fails under
 * HOPSAFE_REQUIRE_SERVICES=1). [SPEC 8.3]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { amqpTransport, type AmqpTransportOptions } from '../../src/bindings/amqp.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { until } from '../support/endpoints.js';
import { recordsBothWays, refusedOpen } from '../support/transport-checks.js';
import { makeTlsFiles, opensslAvailable, type TlsFiles } from '../support/tls-certs.js';
import { startTlsProxy, type TlsProxy } from '../support/tls-proxy.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

const RABBIT = { host: '127.0.0.1', port: 5672 };
let ready = false;
let dir: string | undefined;
let files: TlsFiles | undefined;
let proxy: TlsProxy | undefined;
const cleanup: Array<() => Promise<unknown>> = [];
const exchanges: string[] = [];
const queues: string[] = [];

before(async () => {
  ready = opensslAvailable() && (await serviceAvailable(RABBIT.host, RABBIT.port));
  if (!ready) return;
  dir = mkdtempSync(join(tmpdir(), 'hopsafe-amqps-'));
  files = makeTlsFiles(dir);
  proxy = await startTlsProxy(files, RABBIT);
});
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  await proxy?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (exchanges.length + queues.length === 0) return;
  const admin = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
  const ch = await admin.createChannel();
  for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
  for (const x of exchanges) await ch.deleteExchange(x).catch(() => undefined);
  await admin.close();
});

const skipUnlessReady = (t: { skip(m?: string): void }): boolean =>
  requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672 and openssl', ready && proxy !== undefined);

function exchangeFor(ids: string[]): string {
  const exchange = `hopsafe-tls-${randomUUID().slice(0, 8)}`;
  exchanges.push(exchange);
  queues.push(...ids.map((id) => `${exchange}.${id}`));
  return exchange;
}

async function openError(o: AmqpTransportOptions): Promise<Error> {
  return refusedOpen(amqpTransport({ ...o, exchange: exchangeFor(['der-9']), durable: false }), 'der-9', cleanup);
}

test('[SPEC 8.3] amqps:// with tls { ca, cert, key, servername }: two endpoints handshake and exchange records; the client certificate reached the TLS listener', async (t) => {
  if (!skipUnlessReady(t)) return;
  const f = files!;
  const url = `amqps://guest:guest@127.0.0.1:${proxy!.port}`;
  // ca as bytes, cert and key as PEM strings: both forms are accepted
  const tls = {
    ca: new Uint8Array(readFileSync(f.ca)),
    cert: readFileSync(f.clientCert, 'utf8'),
    key: readFileSync(f.clientKey, 'utf8'),
    servername: 'localhost',
  };
  const exchange = exchangeFor(['der-1', 'control-center']);
  const before = proxy!.clients.length;
  await recordsBothWays(() => amqpTransport({ url, tls, exchange, durable: false }), 'amqps', cleanup);
  assert.deepEqual(proxy!.clients.slice(before), ['der-1', 'der-1'], 'both connections presented the client certificate');
});

test('[SPEC 8.3] amqps://: no client certificate, a foreign one, or an untrusted server → refused; tls with amqp:// → ERR_CONFIG', async (t) => {
  assert.throws(
    () => amqpTransport({ url: 'amqp://127.0.0.1', tls: { ca: 'x' } }),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG' && /amqps/.test(e.message),
  );
  assert.throws(
    () => amqpTransport({ url: 'amqps://127.0.0.1', tls: { cert: 'x' } }),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG',
  );
  if (!skipUnlessReady(t)) return;
  const f = files!;
  const url = `amqps://guest:guest@127.0.0.1:${proxy!.port}`;
  const refusedBefore = proxy!.refused;
  for (const [what, tls] of [
    ['no client certificate', { ca: readFileSync(f.ca), servername: 'localhost' }],
    [
      'a client certificate from another CA',
      { ca: readFileSync(f.ca), cert: readFileSync(f.strangerCert), key: readFileSync(f.strangerKey), servername: 'localhost' },
    ],
  ] as const) {
    const e = await openError({ url, tls });
    assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT', `${what}: ${String(e)}`);
  }
  await until(() => proxy!.refused === refusedBefore + 2, 3000, 'the TLS listener refused both handshakes');
  const e = await openError({ url, tls: { cert: readFileSync(f.clientCert), key: readFileSync(f.clientKey), servername: 'localhost' } });
  assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT' && /certificate/i.test(e.message), `untrusted server: ${String(e)}`);
});

test("[SPEC 8.3] username/password reach the broker and win over the URL's; a wrong one is refused and appears in no error", async (t) => {
  if (!skipUnlessReady(t)) return;
  const wrong = `wrong-${randomUUID().slice(0, 8)}`;
  // the URL's credentials are wrong, the options' right: opens
  const ok = amqpTransport({
    url: `amqp://nobody:${wrong}@127.0.0.1:5672`,
    username: 'guest',
    password: 'guest',
    exchange: exchangeFor(['der-2']),
    durable: false,
  });
  cleanup.push(() => ok.close());
  await ok.open('der-2', () => undefined);
  await ok.send('der-2', Uint8Array.from([1]));
  await ok.close();
  // only a password: the user comes from the URL
  const userFromUrl = amqpTransport({
    url: `amqp://guest:${wrong}@127.0.0.1:5672`,
    password: 'guest',
    exchange: exchangeFor(['der-3']),
    durable: false,
  });
  cleanup.push(() => userFromUrl.close());
  await userFromUrl.open('der-3', () => undefined);
  await userFromUrl.close();
  // the URL's credentials are right, the options' wrong: refused — so the options are what reaches the broker
  const e = await openError({ url: 'amqp://guest:guest@127.0.0.1:5672', username: 'guest', password: wrong });
  assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT', String(e));
  assert.match(e.message, /ACCESS_REFUSED|refused|authentication/i);
  assert.ok(!e.message.includes(wrong), 'no password in the error message');
  assert.throws(
    () => amqpTransport({ url: 'amqp://127.0.0.1', password: 'x' }),
    (err: unknown) => isHopsafeError(err) && err.code === 'ERR_CONFIG',
  );
});
