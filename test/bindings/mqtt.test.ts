/**
 * The MQTT binding against the embedded aedes broker and the system Mosquitto (127.0.0.1:1883;
 * skipped when unreachable unless HOPSAFE_REQUIRE_SERVICES=1). [SPEC 8.2]
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { mqttTransport, DEFAULT_MQTT_MAX_FRAME_SIZE, type MqttTransportOptions } from '../../src/bindings/mqtt.js';
import type { InboundFrame, Transport, TransportStatus } from '../../src/transport/transport.js';
import { startBroker, createMemoryPersistence, type RunningBroker } from '../../src/broker/index.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

const MOSQUITTO = { host: '127.0.0.1', port: 1883 };

const uniq = (): string => randomBytes(4).toString('hex');

/** An opened transport plus the frames it received. */
interface Peer {
  id: string;
  t: Transport;
  frames: InboundFrame[];
  statuses: TransportStatus[];
  waitFor(n: number, ms?: number): Promise<void>;
}

async function peer(
  url: string,
  id: string,
  opts: Partial<MqttTransportOptions> = {},
  cleanup?: Array<() => Promise<void>>,
): Promise<Peer> {
  const frames: InboundFrame[] = [];
  const statuses: TransportStatus[] = [];
  let wake: (() => void) | undefined;
  const t = mqttTransport({ url, unsubscribeOnClose: true, ...opts });
  t.onStatus?.((s) => statuses.push(s));
  cleanup?.push(() => t.close());
  await t.open(id, (f) => {
    frames.push(f);
    wake?.();
  });
  return {
    id,
    t,
    frames,
    statuses,
    async waitFor(n, ms = 5000) {
      const deadline = Date.now() + ms;
      while (frames.length < n) {
        if (Date.now() > deadline) throw new Error(`${id}: got ${frames.length} frames, expected ${n}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const frameOf = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  await assert.rejects(
    async () => (typeof p === 'function' ? p() : p),
    (e: unknown) => isHopsafeError(e) && e.code === code,
  );
}

/** The same behaviour, whichever broker carries the frames. */
function commonSuite(
  name: string,
  setup: () => Promise<{ url: string; available: boolean; extra?: Partial<MqttTransportOptions>; teardown?: () => Promise<void> }>,
): void {
  describe(`mqtt binding via ${name}`, () => {
    let url = '';
    let available = false;
    let extra: Partial<MqttTransportOptions> = {};
    const cleanup: Array<() => Promise<void>> = [];
    let teardown: (() => Promise<void>) | undefined; // the broker, closed last
    before(async () => {
      const s = await setup();
      ({ url, available, extra = {} } = s);
      teardown = s.teardown;
    });
    after(async () => {
      await Promise.all(cleanup.splice(0).map((f) => f()));
      await teardown?.();
    });
    /** Per-test options: a unique prefix (shared Mosquitto) and client ids that cannot collide with other runs. */
    const opts = (o: Partial<MqttTransportOptions> = {}): Partial<MqttTransportOptions> => {
      const run = uniq();
      return { prefix: `hopsafe-test-${run}`, clientId: (id: string) => `${id}-${run}`, ...extra, ...o };
    };

    for (const qos of [0, 1] as const) {
      test(`[SPEC 8.2] frames round-trip both ways at QoS ${qos}; from = last topic level; bytes are plain Uint8Array`, async (t) => {
        if (!requireOrSkip(t, name, available)) return;
        const o = opts({ qos });
        const a = await peer(url, 'control-center', o, cleanup);
        const b = await peer(url, 'der-1', o, cleanup);
        await a.t.send('der-1', frameOf(1, 2, 3));
        await b.t.send('control-center', frameOf(4, 5));
        await a.t.send('der-1', new Uint8Array(0));
        await b.waitFor(2);
        await a.waitFor(1);
        assert.deepEqual(
          b.frames.map((f) => [f.from, hex(f.bytes)]),
          [
            ['control-center', '010203'],
            ['control-center', ''],
          ],
        );
        assert.deepEqual(
          a.frames.map((f) => [f.from, hex(f.bytes)]),
          [['der-1', '0405']],
        );
        for (const f of [...a.frames, ...b.frames]) assert.equal(Object.getPrototypeOf(f.bytes), Uint8Array.prototype);
        await Promise.all([a.t.close(), b.t.close()]);
      });
    }

    test('[SPEC 8.2] 20 endpoints all-to-all, per-sender order kept', async (t) => {
      if (!requireOrSkip(t, name, available)) return;
      const o = opts();
      const ids = Array.from({ length: 20 }, (_, i) => `der-${i}`);
      const peers = await Promise.all(ids.map((id) => peer(url, id, o, cleanup)));
      const perPair = 3;
      await Promise.all(
        peers.flatMap((p, i) =>
          peers.filter((q) => q !== p).flatMap((q) => Array.from({ length: perPair }, (_, k) => p.t.send(q.id, frameOf(i, k)))),
        ),
      );
      await Promise.all(peers.map((p) => p.waitFor(19 * perPair)));
      for (const [j, p] of peers.entries()) {
        assert.equal(p.frames.length, 19 * perPair);
        for (const [i, sender] of ids.entries()) {
          if (i === j) continue;
          const got = p.frames.filter((f) => f.from === sender).map((f) => hex(f.bytes));
          assert.deepEqual(
            got,
            Array.from({ length: perPair }, (_, k) => hex(frameOf(i, k))),
            `${p.id} from ${sender}`,
          );
        }
      }
      await Promise.all(peers.map((p) => p.t.close()));
    });

    test('[SPEC 8.2] a frame of exactly maxFrameSize arrives intact; one byte more is ERR_PAYLOAD_TOO_LARGE', async (t) => {
      if (!requireOrSkip(t, name, available)) return;
      const o = opts();
      const a = await peer(url, 'a', o, cleanup);
      const b = await peer(url, 'b', o, cleanup);
      assert.equal(a.t.maxFrameSize, DEFAULT_MQTT_MAX_FRAME_SIZE);
      const big = new Uint8Array(randomBytes(DEFAULT_MQTT_MAX_FRAME_SIZE));
      await a.t.send('b', big);
      await b.waitFor(1);
      assert.equal(Buffer.compare(b.frames[0]!.bytes, big), 0);
      await rejectsWith(a.t.send('b', new Uint8Array(DEFAULT_MQTT_MAX_FRAME_SIZE + 1)), 'ERR_PAYLOAD_TOO_LARGE');
      const small = mqttTransport({ url, maxFrameSize: 100, ...o });
      cleanup.push(() => small.close());
      assert.equal(small.maxFrameSize, 100);
      await small.open('c', () => {});
      await small.send('b', new Uint8Array(100));
      await rejectsWith(small.send('b', new Uint8Array(101)), 'ERR_PAYLOAD_TOO_LARGE');
      await b.waitFor(2);
      await Promise.all([a.t.close(), b.t.close(), small.close()]);
    });

    test('[SPEC 8.1] invalid endpoint ids are ERR_INVALID_ID; bad prefix is ERR_CONFIG', async (t) => {
      if (!requireOrSkip(t, name, available)) return;
      const o = opts();
      for (const bad of ['a/b', '+', '#', '', '.x', '-x', 'x'.repeat(65), 'é']) {
        await rejectsWith(
          mqttTransport({ url, ...o }).open(bad, () => {}),
          'ERR_INVALID_ID',
        );
      }
      for (const bad of ['a/+', '#', '', 'a//b', '/a', '$SYS', 'x\u0000']) {
        assert.throws(
          () => mqttTransport({ url, prefix: bad }),
          (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG',
        );
      }
      const a = await peer(url, 'a', o, cleanup);
      for (const bad of ['b/+', 'b/#', 'x y', '']) await rejectsWith(a.t.send(bad, frameOf(1)), 'ERR_INVALID_ID');
      await a.t.close();
    });

    test('[SPEC 8.2] a spy subscribed to # sees every frame on {prefix}/{to}/{from}, retain=false', async (t) => {
      if (!requireOrSkip(t, name, available)) return;
      const o = opts();
      const seen: Array<{ topic: string; hex: string; retain: boolean }> = [];
      const spy = await mqtt.connectAsync(url, { clientId: `spy-${uniq()}`, reconnectPeriod: 0 });
      cleanup.push(() => spy.endAsync());
      spy.on('message', (topic, payload, packet) => {
        if (topic.startsWith(`${o.prefix}/`)) seen.push({ topic, hex: payload.toString('hex'), retain: packet.retain });
      });
      await spy.subscribeAsync('#', { qos: 1 });
      const a = await peer(url, 'cc', o, cleanup);
      const b = await peer(url, 'der-7', o, cleanup);
      await a.t.send('der-7', frameOf(0xaa, 0xbb));
      await b.t.send('cc', frameOf(0xcc));
      await b.waitFor(1);
      await a.waitFor(1);
      const deadline = Date.now() + 3000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        seen.sort((x, y) => x.topic.localeCompare(y.topic)),
        [
          { topic: `${o.prefix}/cc/der-7`, hex: 'cc', retain: false },
          { topic: `${o.prefix}/der-7/cc`, hex: 'aabb', retain: false },
        ],
      );
      await Promise.all([a.t.close(), b.t.close(), spy.endAsync()]);
    });

    test('[SPEC 8.2] publishes outside {prefix}/{self}/{valid id} are not delivered as frames', async (t) => {
      if (!requireOrSkip(t, name, available)) return;
      const o = opts();
      const b = await peer(url, 'b', o, cleanup);
      const raw = await mqtt.connectAsync(url, { clientId: `raw-${uniq()}`, reconnectPeriod: 0 });
      cleanup.push(() => raw.endAsync());
      await raw.publishAsync(`${o.prefix}/b/bad id`, Buffer.from([9]), { qos: 1 });
      await raw.publishAsync(`${o.prefix}/b/ok`, Buffer.from([1]), { qos: 1 });
      await b.waitFor(1);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(
        b.frames.map((f) => [f.from, hex(f.bytes)]),
        [['ok', '01']],
      );
      await Promise.all([b.t.close(), raw.endAsync()]);
    });

    test('[SPEC 8.2] send before open is ERR_STATE, after close ERR_CLOSED; close is idempotent and reports closed', async (t) => {
      if (!requireOrSkip(t, name, available)) return;
      const o = opts();
      const x = mqttTransport({ url, ...o });
      await rejectsWith(x.send('b', frameOf(1)), 'ERR_STATE');
      const a = await peer(url, 'a', o, cleanup);
      assert.ok(a.statuses.includes('connected'));
      await Promise.all([a.t.close(), a.t.close()]);
      await a.t.close();
      assert.equal(a.statuses.filter((s) => s === 'closed').length, 1);
      await rejectsWith(a.t.send('b', frameOf(1)), 'ERR_CLOSED');
      await rejectsWith(
        a.t.open('a', () => {}),
        'ERR_CLOSED',
      );
      await x.close();
    });

    test('[SPEC 8.2] onFrame is called in arrival order; a throwing handler does not stop delivery; a handler may await its own send', async (t) => {
      if (!requireOrSkip(t, name, available)) return;
      const o = opts();
      const got: string[] = [];
      const b = mqttTransport({ url, ...o });
      cleanup.push(() => b.close());
      await b.open('b', async (f) => {
        got.push(hex(f.bytes));
        if (f.bytes[0] === 2) throw new Error('handler failure');
        await b.send(f.from, f.bytes); // echo, awaiting the PUBACK from inside the handler
      });
      const a = await peer(url, 'a', o, cleanup);
      await Promise.all([1, 2, 3, 4].map((i) => a.t.send('b', frameOf(i))));
      await a.waitFor(3);
      assert.deepEqual(got, ['01', '02', '03', '04']);
      assert.deepEqual(
        a.frames.map((f) => hex(f.bytes)),
        ['01', '03', '04'],
      );
      await Promise.all([a.t.close(), b.close()]);
    });
  });
}

commonSuite('embedded aedes', async () => {
  const broker = await startBroker();
  return { url: broker.url, available: true, teardown: () => broker.close() };
});

commonSuite('system Mosquitto 127.0.0.1:1883', async () => ({
  url: `mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`,
  available: await serviceAvailable(MOSQUITTO.host, MOSQUITTO.port),
}));

commonSuite('system Mosquitto 127.0.0.1:1883 with MQTT 5', async () => ({
  url: `mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`,
  available: await serviceAvailable(MOSQUITTO.host, MOSQUITTO.port),
  extra: { protocolVersion: 5, sessionExpirySeconds: 60 },
}));

test('[SPEC 8.2] trace-level logs carry ids and sizes, never frame bytes', async () => {
  const broker = await startBroker();
  let logText = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString();
      done();
    },
  });
  const logger = pino({ level: 'trace' }, sink);
  const marker = Uint8Array.from(Buffer.from('PLAINTEXT-MARKER-0123456789'));
  const frames: InboundFrame[] = [];
  const a = mqttTransport({ url: broker.url, logger });
  const b = mqttTransport({ url: broker.url, logger });
  try {
    await b.open('b', (f) => {
      frames.push(f);
      throw new Error('handler failed'); // exercises the error log path
    });
    await a.open('a', () => {});
    await a.send('b', marker);
    const deadline = Date.now() + 3000;
    while (frames.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await rejectsWith(a.send('b', new Uint8Array(DEFAULT_MQTT_MAX_FRAME_SIZE + 1)), 'ERR_PAYLOAD_TOO_LARGE');
  } finally {
    await Promise.all([a.close(), b.close()]);
    await broker.close();
  }
  assert.equal(frames.length, 1);
  assert.ok(logText.includes('"transport":"mqtt"'), 'the logger was used');
  assert.ok(logText.includes('frame handler rejected'));
  const b64 = Buffer.from(marker).toString('base64');
  for (const needle of ['PLAINTEXT-MARKER', Buffer.from(marker).toString('hex'), b64.slice(0, 20), '80,76,65,73,78']) {
    assert.ok(!logText.includes(needle), `log contains ${needle}`);
  }
});

describe('mqtt binding: disconnects and the offline queue (embedded aedes restarted on the same port)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    await Promise.all(cleanup.splice(0).map((f) => f()));
  });

  test('[SPEC 8.2] frames sent while the broker is down are queued and delivered after it comes back; status reports it', async () => {
    const persistence = createMemoryPersistence();
    let broker: RunningBroker = await startBroker({ persistence });
    cleanup.push(() => broker.close());
    const port = broker.port;
    const o = { prefix: `hopsafe-test-${uniq()}`, mqttOptions: { reconnectPeriod: 100 } };
    const rx = await peer(broker.url, 'rx', o, cleanup);
    const tx = await peer(broker.url, 'tx', o, cleanup);

    for (let i = 0; i < 10; i++) await tx.t.send('rx', frameOf(i));
    await rx.waitFor(10);

    await broker.close();
    const deadline = Date.now() + 3000;
    while (!tx.statuses.includes('disconnected') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(tx.statuses.includes('disconnected'), `statuses: ${tx.statuses.join(',')}`);

    const queued = Array.from({ length: 10 }, (_, i) => tx.t.send('rx', frameOf(10 + i)));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(tx.statuses.includes('reconnecting'));

    broker = await startBroker({ port, persistence });
    await Promise.all(queued);
    await rx.waitFor(20);
    await new Promise((r) => setTimeout(r, 200));
    const received = rx.frames.map((f) => f.bytes[0]!);
    // QoS 1 is at-least-once: the transport may hand over a redelivered duplicate; the session's replay window drops it.
    // [SPEC 8.2] Order holds while connected; across a reconnect mqtt.js re-sends the publish that was in flight when the
    // connection dropped and its offline queue in an order of its own, which the replay window (SPEC 7.4) accepts.
    const unique = [...new Set(received)];
    assert.deepEqual(
      unique.slice(0, 10),
      Array.from({ length: 10 }, (_, i) => i),
      `received ${received.join(',')}`,
    );
    assert.deepEqual(
      [...unique].sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i),
      `every frame queued while the broker was down arrives: received ${received.join(',')}`,
    );
    assert.equal(tx.statuses.at(-1), 'connected');
    assert.equal(rx.statuses.at(-1), 'connected');
    await Promise.all([rx.t.close(), tx.t.close(), broker.close()]);
  });

  test('[SPEC 8.2] past maxQueue frames while disconnected, send refuses with ERR_QUEUE_FULL; close rejects the queued ones with ERR_CLOSED', async () => {
    const broker = await startBroker();
    cleanup.push(() => broker.close());
    const tx = await peer(broker.url, 'tx', { maxQueue: 5, mqttOptions: { reconnectPeriod: 100 } }, cleanup);
    await broker.close();
    const deadline = Date.now() + 3000;
    while (!tx.statuses.includes('disconnected') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const queued = Array.from({ length: 5 }, (_, i) => tx.t.send('rx', frameOf(i)));
    const outcomes = Promise.allSettled(queued);
    await rejectsWith(tx.t.send('rx', frameOf(99)), 'ERR_QUEUE_FULL');
    await rejectsWith(tx.t.send('rx', frameOf(98)), 'ERR_QUEUE_FULL');
    await tx.t.close();
    for (const r of await outcomes) {
      assert.equal(r.status, 'rejected');
      assert.ok(isHopsafeError(r.reason) && r.reason.code === 'ERR_CLOSED');
    }
  });

  test('[SPEC 8.2] past maxUnsettledFrames pending onFrame calls the transport stops reading until one settles', async () => {
    const broker = await startBroker();
    cleanup.push(() => broker.close());
    const calls: number[] = [];
    const releases: Array<() => void> = [];
    const rx = mqttTransport({ url: broker.url, maxUnsettledFrames: 2 });
    cleanup.push(() => rx.close());
    await rx.open('rx', (f) => {
      calls.push(f.bytes[0]!);
      return new Promise<void>((r) => releases.push(r));
    });
    const tx = await peer(broker.url, 'tx', {}, cleanup);
    await Promise.all([1, 2, 3, 4, 5].map((i) => tx.t.send('rx', frameOf(i))));
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(calls, [1, 2]);
    releases.shift()!();
    const deadline = Date.now() + 3000;
    while (calls.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(calls, [1, 2, 3]);
    while (calls.length < 5 && Date.now() < deadline) {
      releases.shift()?.();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(calls, [1, 2, 3, 4, 5]);
    for (const r of releases) r();
    await Promise.all([rx.close(), tx.t.close()]);
  });

  test('[SPEC 8.2] open fails fast with ERR_TRANSPORT when nothing listens', async () => {
    const broker = await startBroker();
    const url = broker.url;
    await broker.close();
    const t = mqttTransport({ url });
    await rejectsWith(
      t.open('a', () => {}),
      'ERR_TRANSPORT',
    );
    await t.close();
  });
});
