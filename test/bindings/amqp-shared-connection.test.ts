/**
 * amqpTransport({ connection }): hopsafe on an amqplib connection the application already has, on the system
 * RabbitMQ (127.0.0.1:5672 guest/guest; skipped when unreachable unless HOPSAFE_REQUIRE_SERVICES=1). hopsafe opens
 * its own channel, the application's own channel and consumer keep working, and closing the hopsafe endpoint leaves
 * the connection open; when the application closes its connection the transport reports `disconnected`. [SPEC 8.3]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import amqplib, { type ChannelModel } from 'amqplib';
import { amqpTransport } from '../../src/bindings/amqp.js';
import type { TransportStatus } from '../../src/transport/transport.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
const cleanup: Array<() => Promise<unknown>> = [];
const exchanges: string[] = [];
const queues: string[] = [];
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  if (exchanges.length + queues.length === 0) return;
  const admin = await amqplib.connect(URL);
  const ch = await admin.createChannel();
  for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
  for (const x of exchanges) await ch.deleteExchange(x).catch(() => undefined);
  await admin.close();
});

function names(ids: string[]): string {
  const exchange = `hopsafe-shared-${randomUUID().slice(0, 8)}`;
  exchanges.push(exchange);
  queues.push(...ids.map((id) => `${exchange}.${id}`));
  return exchange;
}

/** The application's connection with its own channel, queue and consumer. */
async function appConnection(): Promise<{
  conn: ChannelModel;
  queue: string;
  received: string[];
  closes: number[];
  publish(s: string): void;
}> {
  const conn = await amqplib.connect(URL);
  cleanup.push(() => conn.close());
  const closes: number[] = [];
  conn.on('close', () => closes.push(Date.now()));
  const ch = await conn.createChannel();
  const queue = `app-${randomUUID().slice(0, 8)}`;
  queues.push(queue);
  await ch.assertQueue(queue, { durable: false, autoDelete: true });
  const received: string[] = [];
  await ch.consume(queue, (m) => {
    if (m) {
      received.push(m.content.toString());
      ch.ack(m);
    }
  });
  return { conn, queue, received, closes, publish: (s) => void ch.sendToQueue(queue, Buffer.from(s)) };
}

test("[SPEC 8.3] amqpTransport({ connection }) on the application's connection: handshake and records, the app's channel unaffected, close leaves the connection open", async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', await serviceAvailable('127.0.0.1', 5672))) return;
  const app = await appConnection();
  const exchange = names(['der-1', 'control-center']);
  const c = await cast(['der-1', 'control-center'], {
    transport: (id) => (id === 'der-1' ? amqpTransport({ connection: app.conn, exchange }) : amqpTransport({ url: URL, exchange })),
  });
  cleanup.push(() => c.close());

  app.publish('before');
  await c.eps['der-1']!.send('control-center', new TextEncoder().encode('P=4.2MW'));
  await c.eps['control-center']!.send('der-1', new TextEncoder().encode('setpoint'));
  await until(() => c.inbox['control-center']!.length === 1 && c.inbox['der-1']!.length === 1, 10_000, 'records both ways');
  assert.equal(text(c.inbox['control-center']![0]!), 'P=4.2MW');
  assert.equal(text(c.inbox['der-1']![0]!), 'setpoint');
  app.publish('during');
  await until(() => app.received.length === 2, 5000, "the application's own messages");

  await c.eps['der-1']!.close();
  // the connection is still usable: the app's channel delivers, and a new channel opens
  app.publish('after');
  await until(() => app.received.length === 3, 5000, "the application's messages after close");
  assert.deepEqual(app.received, ['before', 'during', 'after']);
  const extra = await app.conn.createChannel();
  await extra.checkQueue(app.queue);
  await extra.close();
  assert.deepEqual(app.closes, [], "closing the hopsafe endpoint did not close the application's connection");
});

test('[SPEC 8.3] amqpTransport({ connection }): the app closing its connection → disconnected and ERR_TRANSPORT; options of the connection are refused', async (t) => {
  assert.throws(
    () => amqpTransport({ connection: {} as ChannelModel }),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG',
  );
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', await serviceAvailable('127.0.0.1', 5672))) return;
  const app = await appConnection();
  for (const extra of [{ url: URL }, { username: 'guest' }, { password: 'guest' }, { tls: {} }]) {
    assert.throws(
      () => amqpTransport({ connection: app.conn, ...extra }),
      (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG' && e.message.includes(Object.keys(extra)[0]!),
      JSON.stringify(extra),
    );
  }
  const exchange = names(['der-3']);
  const tr = amqpTransport({ connection: app.conn, exchange, durable: false });
  cleanup.push(() => tr.close());
  const statuses: TransportStatus[] = [];
  tr.onStatus?.((s) => statuses.push(s));
  await tr.open('der-3', () => undefined);
  await tr.send('der-3', Uint8Array.from([1])); // confirmed by the broker on hopsafe's channel
  await app.conn.close();
  await until(() => statuses.includes('disconnected'), 5000, 'disconnected');
  await assert.rejects(tr.send('der-3', Uint8Array.from([2])), (e: unknown) => isHopsafeError(e) && e.code === 'ERR_TRANSPORT');
});
