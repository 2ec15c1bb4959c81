/** AMQP transport on the system RabbitMQ (127.0.0.1:5672, guest/guest). [SPEC 8.3] */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import amqplib from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { amqpTransport, AMQP_DEFAULT_MAX_FRAME_SIZE } from '../../src/bindings/amqp.js';
import type { InboundFrame, Transport, TransportStatus } from '../../src/transport/transport.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
let available = false;
let admin: ChannelModel | undefined;
const exchanges = new Set<string>();
const queues = new Set<string>();
const open: Transport[] = [];

before(async () => {
  available = await serviceAvailable('127.0.0.1', 5672);
  if (available) admin = await amqplib.connect(URL);
});

after(async () => {
  for (const t of open) await t.close();
  if (admin) {
    const ch = await admin.createChannel();
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    for (const x of exchanges) await ch.deleteExchange(x).catch(() => undefined);
    await admin.close();
  }
});

function uniqueExchange(): string {
  const x = `hopsafe-test-${randomUUID().slice(0, 8)}`;
  exchanges.add(x);
  return x;
}

function track<T extends Transport>(t: T, exchange: string, id: string): T {
  open.push(t);
  queues.add(`${exchange}.${id}`);
  return t;
}

/** Collects inbound frames; `next(n)` waits until n frames have arrived. */
function inbox(): { frames: InboundFrame[]; handler: (f: InboundFrame) => void; wait(n: number, ms?: number): Promise<InboundFrame[]> } {
  const frames: InboundFrame[] = [];
  const waiters: Array<() => void> = [];
  return {
    frames,
    handler: (f) => {
      frames.push(f);
      for (const w of waiters.splice(0)) w();
    },
    async wait(n, ms = 5000) {
      const deadline = Date.now() + ms;
      while (frames.length < n) {
        if (Date.now() > deadline) throw new Error(`timeout: ${frames.length}/${n} frames`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return frames;
    },
  };
}

async function queueDepth(queue: string): Promise<number> {
  assert.ok(admin);
  const ch = await admin.createChannel();
  try {
    return (await ch.checkQueue(queue)).messageCount;
  } finally {
    await ch.close();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('[SPEC 8.3] frames round-trip in order, binary-safe, with sender from the routing key', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', available)) return;
  const exchange = uniqueExchange();
  const a = track(amqpTransport({ exchange }), exchange, 'der.1');
  const b = track(amqpTransport({ exchange }), exchange, 'control-center');
  const ina = inbox();
  const inb = inbox();
  await a.open('der.1', ina.handler);
  await b.open('control-center', inb.handler);
  assert.equal(a.name, 'amqp');
  assert.equal(a.maxFrameSize, AMQP_DEFAULT_MAX_FRAME_SIZE);

  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  await a.send('control-center', all);
  for (let i = 0; i < 100; i++) await a.send('control-center', Uint8Array.of(i >> 8, i & 255));
  const got = await inb.wait(101);
  assert.deepEqual(got[0]?.bytes, all);
  assert.equal(got[0]?.from, 'der.1');
  for (let i = 0; i < 100; i++) assert.deepEqual(got[i + 1]?.bytes, Uint8Array.of(i >> 8, i & 255), `frame ${i} in order`);

  await b.send('der.1', Uint8Array.of(7));
  const back = await ina.wait(1);
  assert.deepEqual(back[0], { from: 'control-center', bytes: Uint8Array.of(7) });
});

test('[SPEC 8.3] a frame of exactly maxFrameSize passes; one byte more is ERR_PAYLOAD_TOO_LARGE at send', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', available)) return;
  const exchange = uniqueExchange();
  const a = track(amqpTransport({ exchange, durable: false }), exchange, 'a');
  const b = track(amqpTransport({ exchange, durable: false }), exchange, 'b');
  const inb = inbox();
  await a.open('a', () => undefined);
  await b.open('b', inb.handler);
  const big = new Uint8Array(a.maxFrameSize);
  for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 255;
  big[big.length - 1] = 0xab;
  await a.send('b', big);
  const [f] = await inb.wait(1, 15000);
  assert.equal(f?.bytes.length, big.length);
  assert.deepEqual(f?.bytes, big);
  await assert.rejects(a.send('b', new Uint8Array(a.maxFrameSize + 1)), { code: 'ERR_PAYLOAD_TOO_LARGE' });
  const small = track(amqpTransport({ exchange, durable: false, maxFrameSize: 10 }), exchange, 'c');
  await small.open('c', () => undefined);
  await small.send('b', new Uint8Array(10));
  await assert.rejects(small.send('b', new Uint8Array(11)), { code: 'ERR_PAYLOAD_TOO_LARGE' });
});

test('[SPEC 8.3] ack only after the handler settles: a pending handler holds the next delivery (prefetch 1)', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', available)) return;
  const exchange = uniqueExchange();
  const a = track(amqpTransport({ exchange }), exchange, 'a');
  const b = track(amqpTransport({ exchange, prefetch: 1 }), exchange, 'b');
  let release: () => void = () => undefined;
  const seen: number[] = [];
  await a.open('a', () => undefined);
  await b.open('b', (f) => {
    seen.push(f.bytes[0] ?? -1);
    if (f.bytes[0] === 1) return new Promise<void>((r) => (release = r));
  });
  await a.send('b', Uint8Array.of(1));
  await a.send('b', Uint8Array.of(2));
  await sleep(300);
  assert.deepEqual(seen, [1]);
  // Frame 2 is still "ready" in the queue: the broker has not got the ack for frame 1.
  assert.equal(await queueDepth(`${exchange}.b`), 1);
  release();
  const deadline = Date.now() + 3000;
  while (seen.length < 2 && Date.now() < deadline) await sleep(20);
  assert.deepEqual(seen, [1, 2]);
  await sleep(100);
  assert.equal(await queueDepth(`${exchange}.b`), 0);
});

test('[SPEC 8.3] acks are batched (multiple) yet never cover an unsettled frame: on close exactly the unsettled frames return', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', available)) return;
  const exchange = uniqueExchange();
  const a = track(amqpTransport({ exchange, durable: false }), exchange, 'a');
  const acks: { tag: number; multiple: boolean }[] = [];
  // Records every basic.ack the transport sends on its channel.
  const b = track(
    amqpTransport({
      exchange,
      durable: false,
      connect: async (url) => {
        const m = await amqplib.connect(url);
        const create = m.createConfirmChannel.bind(m);
        m.createConfirmChannel = async () => {
          const ch = await create();
          const ack = ch.ack.bind(ch);
          ch.ack = (msg, allUpTo) => {
            acks.push({ tag: msg.fields.deliveryTag, multiple: allUpTo === true });
            ack(msg, allUpTo);
          };
          return ch;
        };
        return m;
      },
    }),
    exchange,
    'b',
  );
  const seen: number[] = [];
  await a.open('a', () => undefined);
  await b.open('b', (f) => {
    const i = f.bytes[0] ?? -1;
    seen.push(i);
    if (i === 150) return new Promise<void>(() => undefined); // never settles
  });
  await Promise.all(Array.from({ length: 160 }, (_, i) => a.send('b', Uint8Array.of(i))));
  const deadline = Date.now() + 5000;
  while (seen.length < 151 && Date.now() < deadline) await sleep(20);
  await sleep(200);
  assert.deepEqual(
    seen,
    Array.from({ length: 151 }, (_, i) => i),
    'in order, and nothing after the pending handler',
  );
  // Frame i has delivery tag i + 1 on the fresh channel: 150 frames settled, acked in fewer basic.acks.
  assert.ok(acks.length > 0 && acks.length < 150, `${acks.length} acks for 150 settled frames`);
  assert.ok(acks.every((x) => x.multiple));
  assert.equal(Math.max(...acks.map((x) => x.tag)), 150, 'acked up to the last settled frame, not beyond');
  await b.close();
  // The unsettled frame and those behind it (150..159) are back in the queue; the settled ones are not.
  assert.equal(await queueDepth(`${exchange}.b`), 10);
});

test('[SPEC 8.3] a handler that rejects or throws still acks: the frame is not requeued', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', available)) return;
  const exchange = uniqueExchange();
  const a = track(amqpTransport({ exchange }), exchange, 'a');
  const b = amqpTransport({ exchange, prefetch: 1 });
  queues.add(`${exchange}.b`);
  let calls = 0;
  await a.open('a', () => undefined);
  await b.open('b', (f) => {
    calls++;
    if (f.bytes[0] === 1) throw new Error('session rejected the frame');
    return Promise.reject(new Error('async rejection'));
  });
  await a.send('b', Uint8Array.of(1));
  await a.send('b', Uint8Array.of(2));
  const deadline = Date.now() + 3000;
  while (calls < 2 && Date.now() < deadline) await sleep(20);
  assert.equal(calls, 2);
  await sleep(100);
  // Closing the channel would return any unacked message to the queue.
  await b.close();
  assert.equal(await queueDepth(`${exchange}.b`), 0);
});

test('[SPEC 8.3] reconnect after the socket dies: re-declares, queued sends go out, frames flow both ways', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', available)) return;
  const exchange = uniqueExchange();
  const models: ChannelModel[] = [];
  let allowConnect = true;
  const a = track(
    amqpTransport({
      exchange,
      maxQueue: 3,
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
      connect: async (url) => {
        if (!allowConnect) throw new Error('connection refused (test)');
        const m = await amqplib.connect(url);
        models.push(m);
        return m;
      },
    }),
    exchange,
    'a',
  );
  const b = track(amqpTransport({ exchange }), exchange, 'b');
  const statuses: TransportStatus[] = [];
  a.onStatus?.((s) => statuses.push(s));
  const ina = inbox();
  const inb = inbox();
  await a.open('a', ina.handler);
  await b.open('b', inb.handler);
  await a.send('b', Uint8Array.of(0));
  await inb.wait(1);

  allowConnect = false;
  const stream = (models[0]!.connection as unknown as { stream: Socket }).stream;
  stream.destroy(new Error('simulated network failure'));
  while (!statuses.includes('reconnecting')) await sleep(10);
  // While down: sends queue up to maxQueue, then ERR_QUEUE_FULL.
  const queued = [a.send('b', Uint8Array.of(1)), a.send('b', Uint8Array.of(2)), a.send('b', Uint8Array.of(3))];
  await assert.rejects(a.send('b', Uint8Array.of(4)), { code: 'ERR_QUEUE_FULL' });
  // Frames sent to `a` while it is down wait in its durable queue.
  await b.send('a', Uint8Array.of(9));
  allowConnect = true;
  await Promise.all(queued);
  assert.equal(statuses.at(-1), 'connected');
  assert.ok(models.length >= 2);
  const got = await inb.wait(4);
  assert.deepEqual(
    got.map((f) => f.bytes[0]),
    [0, 1, 2, 3],
  );
  const back = await ina.wait(1);
  assert.deepEqual(back[0], { from: 'b', bytes: Uint8Array.of(9) });
});

test('[SPEC 8.3] frames with a malformed routing key are dropped (and acked); misuse is refused', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', available)) return;
  const exchange = uniqueExchange();
  const b = track(amqpTransport({ exchange }), exchange, 'b');
  const inb = inbox();
  await b.open('b', inb.handler);
  assert.ok(admin);
  const ch = await admin.createConfirmChannel();
  ch.publish(exchange, 'b.-bad', Buffer.from([1]));
  ch.publish(exchange, 'b.good', Buffer.from([2]));
  await ch.waitForConfirms();
  await ch.close();
  const got = await inb.wait(1);
  await sleep(100);
  assert.equal(got.length, 1);
  assert.deepEqual(got[0], { from: 'good', bytes: Uint8Array.of(2) });
  assert.equal(await queueDepth(`${exchange}.b`), 0);

  await assert.rejects(
    b.open('b', () => undefined),
    { code: 'ERR_STATE' },
  );
  await assert.rejects(b.send('no/slash', Uint8Array.of(1)), { code: 'ERR_INVALID_ID' });
  const unopened = amqpTransport({ exchange });
  await assert.rejects(unopened.send('b', Uint8Array.of(1)), { code: 'ERR_STATE' });
  await b.close();
  await b.close();
  await assert.rejects(b.send('a', Uint8Array.of(1)), { code: 'ERR_CLOSED' });
  assert.throws(() => amqpTransport({ queuePrefix: 'amq.x' }), { code: 'ERR_CONFIG' });
  const down = amqpTransport({ url: 'amqp://guest:guest@127.0.0.1:1', exchange });
  await assert.rejects(
    down.open('z', () => undefined),
    { code: 'ERR_TRANSPORT' },
  );
});
