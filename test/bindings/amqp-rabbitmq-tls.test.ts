/**
 * The AMQP binding against RabbitMQ's own TLS listener (no TLS front): a private node this file boots
 * (test/support/rabbitmq.ts: only an amqps listener, `verify_peer` + `fail_if_no_peer_cert`, its own random
 * default user), with openssl-made certificates. amqps with a client certificate works end to end; without a client
 * certificate, with one from another CA, or with a server the client does not trust, the connection is refused.
 * Skipped when rabbitmq-server or openssl is missing (fails under HOPSAFE_REQUIRE_SERVICES=1). [SPEC 8.3]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { amqpTransport, type AmqpTlsOptions } from '../../src/bindings/amqp.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { until } from '../support/endpoints.js';
import { recordsBothWays } from '../support/transport-checks.js';
import { rabbitmqServerBinary, startTlsRabbitmq, type PrivateRabbitmq } from '../support/rabbitmq.js';
import { makeTlsFiles, opensslAvailable, type TlsFiles } from '../support/tls-certs.js';
import { requireOrSkip } from '../support/services.js';

let dir: string | undefined;
let files: TlsFiles | undefined;
let rabbit: PrivateRabbitmq | undefined;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  if (rabbitmqServerBinary() === undefined || !opensslAvailable()) return;
  dir = mkdtempSync(join(tmpdir(), 'hopsafe-rabbit-tls-'));
  files = makeTlsFiles(dir);
  rabbit = await startTlsRabbitmq(files);
});
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  await rabbit?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ready = (t: { skip(m?: string): void }): boolean =>
  requireOrSkip(t, 'rabbitmq-server (a private node) and openssl', rabbit !== undefined && files !== undefined);

const url = (r: PrivateRabbitmq): string => `amqps://127.0.0.1:${r.tlsPort}`;
const exchange = (): string => `hopsafe-tls-${randomUUID().slice(0, 8)}`;

test("[SPEC 8.3] RabbitMQ's TLS listener requiring client certificates: amqps with tls { ca, cert, key } — two endpoints handshake and exchange records", async (t) => {
  if (!ready(t)) return;
  const r = rabbit!;
  const f = files!;
  const tls: AmqpTlsOptions = {
    ca: readFileSync(f.ca),
    cert: readFileSync(f.clientCert),
    key: readFileSync(f.clientKey, 'utf8'),
    servername: 'localhost',
  };
  const x = exchange();
  await recordsBothWays(
    () => amqpTransport({ url: url(r), tls, username: r.username, password: r.password, exchange: x, durable: false }),
    'amqps',
    cleanup,
  );
  assert.match(r.output(), new RegExp(`started TLS \\(SSL\\) listener on 127\\.0\\.0\\.1:${r.tlsPort}`));
  assert.doesNotMatch(r.output(), /started TCP listener/, 'the node has no plain AMQP listener: the records went over TLS');
});

test("[SPEC 8.3] RabbitMQ's TLS listener: no client certificate, one from another CA, or a server from an untrusted CA → refused", async (t) => {
  if (!ready(t)) return;
  const r = rabbit!;
  const f = files!;
  const cases: Array<[string, AmqpTlsOptions, RegExp]> = [
    ['no client certificate', { ca: readFileSync(f.ca), servername: 'localhost' }, /alert certificate required/i],
    [
      'a client certificate from another CA',
      { ca: readFileSync(f.ca), cert: readFileSync(f.strangerCert), key: readFileSync(f.strangerKey), servername: 'localhost' },
      /alert unknown ca/i,
    ],
    [
      "server CA not trusted (Node's store)",
      { cert: readFileSync(f.clientCert), key: readFileSync(f.clientKey), servername: 'localhost' },
      /unable to verify|self.signed|certificate/i,
    ],
    [
      'server CA not trusted (another CA)',
      { ca: readFileSync(f.strangerCa), cert: readFileSync(f.clientCert), key: readFileSync(f.clientKey), servername: 'localhost' },
      /unable to verify|self.signed|certificate/i,
    ],
  ];
  for (const [what, tls, why] of cases) {
    const tr = amqpTransport({
      url: url(r),
      tls,
      username: r.username,
      password: r.password,
      exchange: exchange(),
      durable: false,
      reconnect: { maxAttempts: 1 },
    });
    cleanup.push(() => tr.close());
    const e = await tr
      .open('der-9', () => undefined)
      .then(
        () => undefined,
        (err: unknown) => err as Error,
      );
    assert.ok(e !== undefined, `${what}: open must be refused`);
    assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT', `${what}: ${String(e)}`);
    assert.match(e.message, why, `${what}: ${e.message}`);
  }
  // the first two were refused by RabbitMQ (its TLS alerts are in its log); the last two by the client
  await until(
    () => /SERVER ALERT: Fatal - Certificate required/.test(r.output()) && /SERVER ALERT: Fatal - Unknown CA/.test(r.output()),
    5000,
    `RabbitMQ logged both refused handshakes:\n${r.output().slice(-2000)}`,
  );
});
