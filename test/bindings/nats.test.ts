/**
 * NATS transport on the system nats-server (127.0.0.1:4222, JetStream) and on private nats-servers started here
 * (own port and store dir) for size limits and restarts. Tests create and delete their own streams. [SPEC 8.11]
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsDurableName, natsInbox, natsSubject, natsTransport, NATS_DEFAULT_MAX_FRAME_SIZE } from '../../src/bindings/nats.js';
import { HopsafeError } from '../../src/errors/index.js';
import type { InboundFrame, Transport, TransportStatus } from '../../src/transport/transport.js';
import { requireOrSkip } from '../support/services.js';
import { until } from '../support/endpoints.js';
import {
  NATS_SERVICE,
  NATS_URL,
  deleteStream,
  natsAvailable,
  natsServerBinary,
  startPrivateNats,
  type PrivateNats,
} from '../support/nats.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

let available = false;
let spyConn: NatsConnection | undefined;
const streams = new Set<string>();
const opened: Transport[] = [];

before(async () => {
  available = await natsAvailable();
  if (available) spyConn = await connect({ servers: NATS_URL });
});

after(async () => {
  for (const t of opened) await t.close();
  for (const s of streams) await deleteStream(NATS_URL, s);
  await spyConn?.close();
});

const guard = (t: { skip(m?: string): void }): boolean => requireOrSkip(t, NATS_SERVICE, available);
const uniquePrefix = (): string => `hopsafe-t${randomBytes(3).toString('hex')}`;
const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof HopsafeError && e.code === c;

function track<T extends Transport>(t: T): T {
  opened.push(t);
  return t;
}

async function receiver(t: Transport, id: string): Promise<InboundFrame[]> {
  const got: InboundFrame[] = [];
  await t.open(id, (f) => void got.push(f));
  return got;
}

test('[SPEC 8.11] subject mapping: ids with dots become one token each, reversibly', () => {
  assert.equal(natsSubject('hopsafe', 'cc.grid-1', 'der.17'), 'hopsafe.cc/grid-1.der/17');
  assert.equal(natsInbox('a.b', 'der.17'), 'a.b.der/17.*');
  assert.equal(natsDurableName('der.17'), 'hopsafe-der~17');
  assert.notEqual(natsDurableName('a.b'), natsDurableName('a_b'));
  assert.throws(() => natsTransport({ prefix: 'a.*' }), code('ERR_CONFIG'));
  assert.throws(() => natsTransport({ prefix: '' }), code('ERR_CONFIG'));
  assert.throws(() => natsTransport({ maxFrameSize: 65 * 1024 * 1024 }), code('ERR_CONFIG'));
  assert.throws(() => natsTransport({ jetstream: { stream: 'a.b' } }), code('ERR_CONFIG'));
});

test('[SPEC 8.11] core: ids with dots, payload byte for byte, sender from the last token; foreign subjects dropped', async (t) => {
  if (!guard(t)) return;
  const prefix = uniquePrefix();
  const seen: string[] = [];
  spyConn!.subscribe(`${prefix}.>`, { callback: (_e, m) => void seen.push(m.subject) });
  await spyConn!.flush();
  const a = track(natsTransport({ servers: NATS_URL, prefix }));
  const b = track(natsTransport({ servers: NATS_URL, prefix }));
  await a.open('der.17', () => undefined);
  const got = await receiver(b, 'cc.grid');
  const bytes = new Uint8Array(randomBytes(1000));
  await a.send('cc.grid', bytes);
  // Not frames: one token too many, a sender token that is no valid id, another inbox.
  spyConn!.publish(`${prefix}.cc/grid.x.y`, new Uint8Array([1]));
  spyConn!.publish(`${prefix}.cc/grid.-bad`, new Uint8Array([2]));
  spyConn!.publish(`${prefix}.other.der/17`, new Uint8Array([3]));
  await spyConn!.flush();
  await until(() => got.length >= 1, 5000, 'frame');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(got.length, 1);
  assert.equal(got[0]!.from, 'der.17');
  assert.ok(Buffer.from(got[0]!.bytes).equals(Buffer.from(bytes)));
  assert.ok(seen.includes(`${prefix}.cc/grid.der/17`), seen.join(','));
});

test('[SPEC 8.10, 8.11] send guards in order; maxFrameSize; oversize inbound dropped and counted before onFrame', async (t) => {
  if (!guard(t)) return;
  const prefix = uniquePrefix();
  const a = track(natsTransport({ servers: NATS_URL, prefix, maxFrameSize: 100 }));
  await assert.rejects(a.send('b', new Uint8Array(1)), code('ERR_STATE'));
  const got = await receiver(a, 'a');
  assert.equal(a.maxFrameSize, 100);
  await assert.rejects(a.send('-x', new Uint8Array(1)), code('ERR_INVALID_ID'));
  await assert.rejects(a.send('b', 'text' as unknown as Uint8Array), code('ERR_INPUT'));
  await assert.rejects(a.send('b', new Uint8Array(101)), code('ERR_PAYLOAD_TOO_LARGE'));
  spyConn!.publish(natsSubject(prefix, 'a', 'b'), new Uint8Array(101));
  spyConn!.publish(natsSubject(prefix, 'a', 'b'), new Uint8Array(100));
  await spyConn!.flush();
  await until(() => got.length === 1, 5000, 'the small frame');
  assert.equal(got[0]!.bytes.byteLength, 100);
  assert.equal(a.inboundStats!().oversize, 1);
  await a.close();
  await a.close();
  await assert.rejects(a.send('b', new Uint8Array(200)), code('ERR_CLOSED'), 'closed wins over size');
  assert.equal(natsTransport({}).maxFrameSize, NATS_DEFAULT_MAX_FRAME_SIZE);
});

test('[SPEC 8.9, 8.11] core: beyond maxUnsettledFrames pending handler calls, frames are dropped and counted', async (t) => {
  if (!guard(t)) return;
  const prefix = uniquePrefix();
  const r = track(natsTransport({ servers: NATS_URL, prefix, maxUnsettledFrames: 2 }));
  let calls = 0;
  const never = new Promise<void>(() => undefined);
  await r.open('r', () => {
    calls++;
    return never;
  });
  for (let i = 0; i < 5; i++) spyConn!.publish(natsSubject(prefix, 'r', 's'), new Uint8Array([i]));
  await spyConn!.flush();
  await until(() => (r.inboundStats!().overflow ?? 0) === 3, 5000, 'overflow count');
  assert.equal(calls, 2);
  assert.equal(r.inboundStats!().queued, 2);
});

test('[SPEC 8.11] JetStream: frames to an endpoint that is down wait in the stream; acked after the handler, delivered once', async (t) => {
  if (!guard(t)) return;
  const prefix = uniquePrefix();
  const stream = `${prefix}-js`;
  streams.add(stream);
  const js = { stream, storage: 'memory' as const };
  const a = track(natsTransport({ servers: NATS_URL, prefix, jetstream: js }));
  await a.open('der.1', () => undefined);
  // b opens once (creating its durable consumer), then goes away.
  const b1 = natsTransport({ servers: NATS_URL, prefix, jetstream: js });
  await b1.open('cc.1', () => undefined);
  assert.equal(b1.durableName, 'hopsafe-cc~1');
  await b1.close();
  for (let i = 0; i < 3; i++) await a.send('cc.1', new Uint8Array([i]));
  // A handler that refuses the first frame: it is acked like the others (never redelivered).
  const b2 = track(natsTransport({ servers: NATS_URL, prefix, jetstream: js }));
  const got: number[] = [];
  await b2.open('cc.1', (f) => {
    got.push(f.bytes[0]!);
    if (f.bytes[0] === 0) throw new Error('refused');
  });
  await until(() => got.length === 3, 10_000, 'stored frames');
  assert.deepEqual(got, [0, 1, 2]);
  await b2.close();
  const b3 = track(natsTransport({ servers: NATS_URL, prefix, jetstream: js }));
  const again = await receiver(b3, 'cc.1');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(again.length, 0, 'acked frames are not delivered again');
});

test('[SPEC 8.11] JetStream: send fails with ERR_TRANSPORT when no stream captures the subject', async (t) => {
  if (!guard(t)) return;
  const prefix = uniquePrefix();
  const stream = `${prefix}-gone`;
  streams.add(stream);
  const a = track(natsTransport({ servers: NATS_URL, prefix, jetstream: { stream, storage: 'memory' } }));
  await a.open('a', () => undefined);
  await deleteStream(NATS_URL, stream);
  await assert.rejects(a.send('b', new Uint8Array([1])), code('ERR_TRANSPORT'));
  const noCreate = natsTransport({
    servers: NATS_URL,
    prefix: uniquePrefix(),
    jetstream: { createStream: false, stream: `${prefix}-none` },
  });
  await assert.rejects(
    noCreate.open('a', () => undefined),
    code('ERR_TRANSPORT'),
  );
  await assert.rejects(noCreate.send('b', new Uint8Array(1)), code('ERR_CLOSED'));
});

describe('private nats-server (own port and store dir)', () => {
  const binary = natsServerBinary();
  const need = (t: { skip(m?: string): void }): boolean =>
    requireOrSkip(t, 'nats-server binary (/usr/sbin/nats-server)', binary !== undefined);

  test('[SPEC 8.11] maxFrameSize is capped by the server max_payload (minus header room with JetStream)', async (t) => {
    if (!need(t)) return;
    const srv = await startPrivateNats(binary!, 'max_payload: 4096');
    try {
      const core = natsTransport({ servers: srv.url });
      await core.open('a', () => undefined);
      assert.equal(core.maxFrameSize, 4096);
      await assert.rejects(core.send('b', new Uint8Array(4097)), code('ERR_PAYLOAD_TOO_LARGE'));
      await core.send('b', new Uint8Array(4096));
      await core.close();
      const js = natsTransport({ servers: srv.url, jetstream: true });
      await js.open('a', () => undefined);
      assert.equal(js.maxFrameSize, 4096 - 128);
      await js.send('b', new Uint8Array(4096 - 128));
      await assert.rejects(js.send('b', new Uint8Array(4096 - 127)), code('ERR_PAYLOAD_TOO_LARGE'));
      await js.close();
    } finally {
      await srv.destroy();
    }
  });

  for (const mode of ['core', 'jetstream'] as const) {
    test(`[SPEC 8.10, 8.11] ${mode}: server restart — status events, bounded queue (ERR_QUEUE_FULL), queued frames delivered after the reconnect`, async (t) => {
      if (!need(t)) return;
      const srv: PrivateNats = await startPrivateNats(binary!);
      const jetstream = mode === 'jetstream' ? { storage: 'file' as const } : undefined;
      // Core NATS stores nothing: the receiver must have re-subscribed before the sender's queue goes out, so the
      // sender retries more slowly than the receiver (JetStream needs no such care: the stream keeps the frames).
      const a = natsTransport({
        servers: srv.url,
        maxQueue: 2,
        reconnectTimeWaitMs: jetstream ? 100 : 1500,
        ...(jetstream ? { jetstream } : {}),
      });
      const b = natsTransport({ servers: srv.url, reconnectTimeWaitMs: 100, ...(jetstream ? { jetstream } : {}) });
      try {
        const statuses: TransportStatus[] = [];
        a.onStatus!((s) => statuses.push(s));
        await a.open('a', () => undefined);
        const got = await receiver(b, 'b');
        await a.send('b', new Uint8Array([0]));
        await until(() => got.length === 1, 5000, 'first frame');
        await srv.stop();
        await until(() => statuses.includes('reconnecting'), 5000, 'reconnecting');
        const queued = [a.send('b', new Uint8Array([1])), a.send('b', new Uint8Array([2]))];
        await assert.rejects(a.send('b', new Uint8Array([3])), code('ERR_QUEUE_FULL'));
        await srv.restart();
        await Promise.all(queued);
        await until(() => statuses.at(-1) === 'connected', 10_000, 'connected again');
        await until(() => got.length === 3, 15_000, 'queued frames');
        assert.deepEqual(
          got.map((f) => f.bytes[0]),
          [0, 1, 2],
        );
        assert.deepEqual(statuses.slice(0, 2), ['connected', 'reconnecting']);
      } finally {
        await a.close();
        await b.close();
        await srv.destroy();
      }
    });
  }

  test('[SPEC 8.10] close fails frames still queued with ERR_CLOSED; status closed', async (t) => {
    if (!need(t)) return;
    const srv = await startPrivateNats(binary!);
    const a = natsTransport({ servers: srv.url, reconnectTimeWaitMs: 100 });
    const statuses: TransportStatus[] = [];
    a.onStatus!((s) => statuses.push(s));
    try {
      await a.open('a', () => undefined);
      await srv.stop();
      await until(() => statuses.includes('reconnecting'), 5000, 'reconnecting');
      const pending = a.send('b', new Uint8Array([1]));
      await a.close();
      await assert.rejects(pending, code('ERR_CLOSED'));
      assert.equal(statuses.at(-1), 'closed');
    } finally {
      await srv.destroy();
    }
  });
});

test('[SPEC 8.11] a partition (TCP relay cut): the transport reconnects and frames queued meanwhile arrive', async (t) => {
  if (!guard(t)) return;
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: 4222 });
  const prefix = uniquePrefix();
  const a = track(natsTransport({ servers: `nats://127.0.0.1:${proxy.port}`, prefix, reconnectTimeWaitMs: 100 }));
  const b = track(natsTransport({ servers: NATS_URL, prefix }));
  try {
    const statuses: TransportStatus[] = [];
    a.onStatus!((s) => statuses.push(s));
    await a.open('a', () => undefined);
    const got = await receiver(b, 'b');
    await proxy.cut();
    await until(() => statuses.includes('reconnecting'), 5000, 'reconnecting');
    const sent = a.send('b', new Uint8Array([7]));
    await proxy.restore();
    await sent;
    await until(() => got.length === 1, 10_000, 'frame after the partition');
    assert.equal(got[0]!.bytes[0], 7);
  } finally {
    await proxy.close();
  }
});
