/**
 * natsTransport({ connection }): several hopsafe endpoints on one NatsConnection the application already has, on the
 * system nats-server (127.0.0.1:4222; skipped when unreachable unless HOPSAFE_REQUIRE_SERVICES=1), core NATS and
 * JetStream. Each endpoint subscribes (consumes) its own inbox; closing one stops only its own subscription and never
 * drains or closes the connection; the application's own subscription keeps working; when the application closes
 * its connection the transports report `disconnected` and sends fail with ERR_TRANSPORT. [SPEC 8.11]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsTransport } from '../../src/bindings/nats.js';
import type { TransportStatus } from '../../src/transport/transport.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { requireOrSkip } from '../support/services.js';
import { NATS_SERVICE, NATS_URL, deleteStream, natsAvailable } from '../support/nats.js';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

/** The application's connection with a subscription of its own. */
async function appConnection(): Promise<{ nc: NatsConnection; subject: string; received: string[]; publish(s: string): void }> {
  const nc = await connect({ servers: NATS_URL });
  cleanup.push(() => nc.close());
  const subject = `app.${randomBytes(4).toString('hex')}`;
  const received: string[] = [];
  nc.subscribe(subject, { callback: (_e, m) => void received.push(m.string()) });
  await nc.flush();
  return { nc, subject, received, publish: (s) => nc.publish(subject, s) };
}

for (const mode of ['core', 'jetstream'] as const) {
  test(`[SPEC 8.11] ${mode}: two endpoints share the application's NatsConnection; closing them leaves it open and its own subscription working`, async (t) => {
    if (!requireOrSkip(t, NATS_SERVICE, await natsAvailable())) return;
    const app = await appConnection();
    const prefix = `hopsafe-shared-${randomBytes(3).toString('hex')}`;
    const jetstream = mode === 'jetstream' ? { stream: prefix, storage: 'memory' as const } : undefined;
    if (jetstream) cleanup.push(() => deleteStream(NATS_URL, prefix));
    const ids = ['der.1', 'der.2', 'control-center'];
    const c = await cast(ids, {
      // der.1 and der.2 on the application's connection, control-center on a connection of its own
      transport: (id) =>
        id === 'control-center'
          ? natsTransport({ servers: NATS_URL, prefix, ...(jetstream ? { jetstream } : {}) })
          : natsTransport({ connection: app.nc, prefix, ...(jetstream ? { jetstream } : {}) }),
    });
    cleanup.push(() => c.close());
    const cc = c.eps['control-center']!;
    app.publish('before');
    await c.eps['der.1']!.send('control-center', utf8('P=4.2MW'));
    await c.eps['der.2']!.send('control-center', utf8('P=1.1MW'));
    await cc.send('der.1', utf8('setpoint 1'));
    await cc.send('der.2', utf8('setpoint 2'));
    await until(
      () => c.inbox['control-center']!.length === 2 && c.inbox['der.1']!.length === 1 && c.inbox['der.2']!.length === 1,
      10_000,
      'records both ways',
    );
    assert.deepEqual(c.inbox['control-center']!.map(text).sort(), ['P=1.1MW', 'P=4.2MW']);
    assert.equal(text(c.inbox['der.1']![0]!), 'setpoint 1', 'each endpoint gets only its own frames');
    assert.equal(text(c.inbox['der.2']![0]!), 'setpoint 2');

    // closing one endpoint stops its subscription only: the other one on the same connection goes on
    await c.eps['der.1']!.close();
    assert.equal(app.nc.isClosed(), false, 'the shared connection is not closed');
    await cc.send('der.2', utf8('still here'));
    await until(() => c.inbox['der.2']!.length === 2, 10_000, 'the other endpoint on the shared connection');
    assert.equal(text(c.inbox['der.2']![1]!), 'still here');
    const n1 = c.inbox['der.1']!.length;
    await cc.send('der.1', utf8('to the closed one')).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.inbox['der.1']!.length, n1, 'the closed endpoint no longer receives');

    await c.eps['der.2']!.close();
    app.publish('after');
    await until(() => app.received.length === 2, 5000, "the application's messages after close");
    assert.deepEqual(app.received, ['before', 'after']);
    assert.equal(app.nc.isClosed(), false);
    assert.equal(app.nc.isDraining(), false, 'never drained');
  });
}

test('[SPEC 8.11] natsTransport({ connection }): the app closing its connection → disconnected and ERR_TRANSPORT; connection options with it are ERR_CONFIG', async (t) => {
  assert.throws(
    () => natsTransport({ connection: {} as NatsConnection }),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG',
  );
  if (!requireOrSkip(t, NATS_SERVICE, await natsAvailable())) return;
  const app = await appConnection();
  for (const extra of [
    { servers: NATS_URL },
    { user: 'u' },
    { token: 't' },
    { tls: {} },
    { name: 'n' },
    { reconnectTimeWaitMs: 100 },
  ] as const) {
    assert.throws(
      () => natsTransport({ connection: app.nc, ...extra }),
      (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG' && e.message.includes(Object.keys(extra)[0]!),
      JSON.stringify(extra),
    );
  }
  const prefix = `hopsafe-shared-${randomBytes(3).toString('hex')}`;
  const tr = natsTransport({ connection: app.nc, prefix });
  cleanup.push(() => tr.close());
  const statuses: TransportStatus[] = [];
  tr.onStatus?.((s) => statuses.push(s));
  const got: number[] = [];
  await tr.open('der-3', (f) => void got.push(f.bytes[0]!));
  await tr.send('der-3', Uint8Array.from([1])); // to itself, flushed on the shared connection
  await until(() => got.length === 1, 5000, 'own frame');
  await app.nc.close();
  await until(() => statuses.includes('disconnected'), 5000, 'disconnected');
  await assert.rejects(tr.send('der-3', Uint8Array.from([2])), (e: unknown) => isHopsafeError(e) && e.code === 'ERR_TRANSPORT');
  // a transport opened on a closed connection refuses to open
  const late = natsTransport({ connection: app.nc, prefix });
  await assert.rejects(
    late.open('der-4', () => undefined),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_TRANSPORT',
  );
});
