/**
 * Offline start (SPEC 5.11) on the other storing brokers: an MQTT persistent session on the system Mosquitto
 * (clean session 0, QoS 1, the inbox subscription kept across the peer's absence) and an AMQP durable queue on the
 * system RabbitMQ. The peer was up once (so the broker stores for it), is down while the initiator sends three
 * messages, and a new process of it starts 2 minutes later — by an injected clock both endpoints read, so no test waits
 * 2 minutes. Expected as on JetStream (test/bindings/nats-offline-peer.test.ts): the stored HS_INIT is refused as
 * stale, the initiator sends one fresh one, the three messages arrive once, in order. Skipped when the broker is
 * unreachable (fails under HOPSAFE_REQUIRE_SERVICES=1). [SPEC 5.11, 8.2, 8.3]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { MessageEvent } from '../../src/endpoint/events.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { amqpTransport } from '../../src/bindings/amqp.js';
import type { Transport } from '../../src/transport/transport.js';
import { utf8 } from '../../src/bytes/index.js';
import { createTestPki } from '../../src/testing/index.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';
import { text, until } from '../support/endpoints.js';
import { removeAmqpObjects } from '../support/amqp-cleanup.js';

const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function offlineStart(transport: (id: string) => Transport): Promise<void> {
  const pki = await createTestPki({ endpoints: [{ id: 'cc' }, { id: 'der' }] });
  let offset = 0;
  const clock = (): number => Date.now() + offset;
  const endpoint = async (id: string, extra: { offlineStartMs?: number } = {}): Promise<Endpoint> => {
    const e = await createEndpoint({
      id,
      identity: pki.identities[id]!,
      trust: { roots: pki.roots },
      transport: transport(id),
      clock,
      ...extra,
    });
    cleanup.push(() => e.close());
    return e;
  };
  // der was up once: the broker now stores what is sent to it (persistent session / durable queue)
  await (await endpoint('der')).close();
  const cc = await endpoint('cc', { offlineStartMs: 5 * 60_000 });
  const ccRejects: string[] = [];
  cc.on('reject', (r) => ccRejects.push(r.code));
  const sends = ['one', 'two', 'three'].map((m) => cc.send('der', utf8(m)));
  await sleep(1500); // the HS_INIT (and a re-send) reached the broker
  offset += 2 * 60_000; // der stays away for 2 minutes
  await sleep(1500);
  assert.equal(cc.stats().handshakes.failed, 0, 'offlineStartMs: still pending after handshakeTimeoutMs');

  const der = await endpoint('der');
  const got: MessageEvent[] = [];
  der.on('message', (m) => got.push(m));
  await Promise.all(sends);
  await until(() => got.length === 3, 20_000, 'the three messages after der starts');
  await sleep(1000); // a duplicate would show up here
  assert.deepEqual(got.map(text), ['one', 'two', 'three']);
  assert.ok((der.stats().rejected.ERR_STALE ?? 0) >= 1, 'the stored HS_INIT was refused as stale');
  assert.equal(cc.stats().handshakes.initiated, 2, 'one fresh HS_INIT');
  assert.equal(der.stats().handshakes.completed, 1);
  assert.ok(!ccRejects.includes('ERR_STALE'), 'the hint never reached the application');
  await der.send('cc', utf8('reply'));
}

test('[SPEC 5.11, 8.2] MQTT persistent session (Mosquitto, QoS 1): a session started while the peer is offline for 2 minutes completes; each message once, in order', async (t) => {
  if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;
  const prefix = `hopsafe-off-${randomBytes(3).toString('hex')}`;
  const nonce = randomBytes(3).toString('hex');
  // at the very end (cleanups run in reverse): end der's persistent session by a clean connect with its client id
  cleanup.push(async () => {
    const tr = mqttTransport({ url: 'mqtt://127.0.0.1:1883', prefix, clientId: `der-${nonce}`, mqttOptions: { clean: true } });
    await tr.open('der', () => undefined);
    await tr.close();
  });
  // the same client id for der's two processes, so the broker keeps its session (and subscription) in between
  await offlineStart((id) =>
    mqttTransport({ url: 'mqtt://127.0.0.1:1883', prefix, clientId: `${id}-${nonce}`, unsubscribeOnClose: false }),
  );
});

test('[SPEC 5.11, 8.3] AMQP durable queue (RabbitMQ): a session started while the peer is offline for 2 minutes completes; each message once, in order', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', await serviceAvailable('127.0.0.1', 5672))) return;
  const exchange = `hopsafe-off-${randomBytes(3).toString('hex')}`;
  cleanup.push(async () => {
    await removeAmqpObjects(
      AMQP_URL,
      exchange,
      ['cc', 'der'].map((id) => `${exchange}.${id}`),
    );
  });
  await offlineStart(() => amqpTransport({ url: AMQP_URL, exchange, durable: true }));
});
