/**
 * [SPEC 13.3, 13.7, 13.9, 8.3] Groups over RabbitMQ when the broker is out of reach. The broker is the system RabbitMQ
 * (never stopped here): an endpoint reaches it through a TCP relay of the test's own that the test cuts and restores
 * (test/support/tcp-proxy.ts), which is what a broker outage looks like from that endpoint.
 * - A member cut off: the group frames published meanwhile wait in its queue (bound to the group key, it outlives the
 *   connection); after the reconnect it reads every one of them, once, in order, within the epochs it holds.
 * - A publisher cut off: its publishes are queued (bounded, SPEC 13.3) and go out after the reconnect, in order; each
 *   member reads each message once. Its close() during an outage returns (bounded), failing what is still queued.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { amqpTransport } from '../../src/bindings/amqp.js';
import type { Group } from '../../src/endpoint/groups.js';
import { utf8 } from '../../src/bytes/index.js';
import { HopsafeError } from '../../src/errors/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { removeAmqpObjects } from '../support/amqp-cleanup.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
const IDS = ['der', 'scada', 'hist'];

/**
 * der (publisher), scada and hist (members) on RabbitMQ, `behindRelay` through the relay; der's group `t` with both
 * members joined and `m0` read by both.
 */
async function setup(behindRelay: string): Promise<{
  c: Awaited<ReturnType<typeof cast>>;
  g: Group;
  proxy: TcpProxy;
  close: () => Promise<void>;
}> {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: 5672 });
  const exchange = `hopsafe-go-${randomBytes(3).toString('hex')}`;
  const c = await cast(IDS, {
    transport: (id) =>
      amqpTransport({
        url: id === behindRelay ? `amqp://guest:guest@127.0.0.1:${proxy.port}` : URL,
        exchange,
        queuePrefix: exchange,
        durable: false,
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      }),
  });
  const g = await c.eps.der!.group('t', { members: ['scada', 'hist'] });
  await c.eps.scada!.join('der', 't');
  await c.eps.hist!.join('der', 't');
  await g.publish(utf8('m0'));
  await until(() => c.inbox.hist!.length === 1 && c.inbox.scada!.length === 1, 5000, 'm0');
  return {
    c,
    g,
    proxy,
    async close() {
      await proxy.restore().catch(() => undefined);
      await c.close();
      await proxy.close();
      await removeAmqpObjects(
        URL,
        exchange,
        IDS.map((id) => `${exchange}.${id}`),
      );
    },
  };
}

test('[SPEC 13.7, 13.9, 8.3] RabbitMQ: a member cut off from the broker reads what was published meanwhile, once each, in order', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', await serviceAvailable('127.0.0.1', 5672))) return;
  const { c, g, proxy, close } = await setup('hist');
  try {
    await proxy.cut(); // hist's connection drops; new connections are refused until restore()
    for (let i = 1; i <= 5; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.scada!.length === 6, 5000, 'scada reads while hist is cut off');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.inbox.hist!.length, 1, 'nothing reaches hist while it is cut off');
    await proxy.restore();
    await until(() => c.inbox.hist!.length === 6, 15_000, 'catch-up after the reconnect');
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now
    assert.deepEqual(c.inbox.hist!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    assert.deepEqual(c.inbox.scada!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    for (const m of c.inbox.hist!) assert.equal(m.group, 't');
    // [SPEC 8.3, 13.6] at-least-once: a frame delivered but not acknowledged before the cut comes again after the
    // reconnect; the replay window refuses it (ERR_REPLAY), it never reaches the application twice (checked above)
    for (const r of c.rejects.hist!) assert.equal(r.code, 'ERR_REPLAY', `only redeliveries are refused: ${r.code}`);
  } finally {
    await close();
  }
});

test('[SPEC 13.3, 13.9, 8.3] RabbitMQ: a publisher cut off from the broker queues its group publishes and sends them after the reconnect', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', await serviceAvailable('127.0.0.1', 5672))) return;
  const { c, g, proxy, close } = await setup('der');
  try {
    await proxy.cut();
    let settled = 0;
    const pending = [1, 2, 3].map((i) => g.publish(utf8(`m${i}`)).finally(() => settled++));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(settled, 0, 'a publish during the outage waits for the broker');
    assert.equal(c.inbox.scada!.length, 1);
    await proxy.restore();
    await Promise.all(pending);
    await until(() => c.inbox.hist!.length === 4 && c.inbox.scada!.length === 4, 15_000, 'queued publishes delivered');
    await new Promise((r) => setTimeout(r, 300));
    for (const id of ['scada', 'hist']) assert.deepEqual(c.inbox[id]!.map(text), ['m0', 'm1', 'm2', 'm3'], id);

    // An outage again, then close(): bounded, and what is still queued fails with ERR_CLOSED.
    await proxy.cut();
    const stuck = g.publish(utf8('m4'));
    const outcome = stuck.then(
      () => 'sent',
      (e: unknown) => (e instanceof HopsafeError ? e.code : String(e)),
    );
    const started = Date.now();
    await c.eps.der!.close();
    assert.ok(Date.now() - started < 10_000, `close() during an outage returned after ${Date.now() - started} ms`);
    assert.equal(await outcome, 'ERR_CLOSED');
  } finally {
    await close();
  }
});
