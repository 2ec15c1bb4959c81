/**
 * The direct "latency hopsafe adds" measurement of the E2E benchmark (src/bench/e2e-timing.ts): the
 * transport handed to a real endpoint is wrapped; these tests drive two endpoints over a hand-pumped
 * transport (frames delivered when the test says, several at once like an MQTT client does) and check
 * which interval each sample covers, using a clock that counts its own reads. Plus how BENCHMARKS.md shows the rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { createTestPki } from '../../src/testing/index.js';
import type { FrameHandler, Transport } from '../../src/transport/transport.js';
import { combineAdded, timedTransport } from '../../bench/e2e-timing.js';
import { benchReportSchema, REQUIRED_RATIOS, REQUIRED_RESULTS } from '../../bench/contract.js';
import { benchmarksMarkdown } from '../../bench/report.js';

interface Sent {
  readonly from: string;
  readonly to: string;
  readonly bytes: Uint8Array;
}

/** Transports whose frames wait in `outbox` until the test delivers them. */
function manualNet(): { transport(): Transport; outbox: Sent[]; handler(id: string): FrameHandler; pump(): Promise<void> } {
  const handlers = new Map<string, FrameHandler>();
  const outbox: Sent[] = [];
  const handler = (id: string): FrameHandler => {
    const h = handlers.get(id);
    assert.ok(h, `${id} is open`);
    return h;
  };
  return {
    outbox,
    handler,
    transport() {
      let self = '';
      return {
        name: 'manual',
        maxFrameSize: 65536,
        async open(id, onFrame) {
          self = id;
          handlers.set(id, onFrame);
        },
        async send(to, bytes) {
          outbox.push({ from: self, to, bytes: bytes.slice() });
        },
        async close() {
          handlers.delete(self);
        },
      };
    },
    async pump() {
      for (let f = outbox.shift(); f; f = outbox.shift()) await handler(f.to)({ from: f.from, bytes: f.bytes });
    },
  };
}

/** A clock that returns 0, 1000, 2000, … (ns): each reading is one step. */
function countingClock(): () => bigint {
  let n = 0n;
  return () => n++ * 1000n;
}

async function pair(coalesce?: { maxRecords?: number; maxDelayUs?: number; minInFlight?: number }): Promise<{
  net: ReturnType<typeof manualNet>;
  a: Awaited<ReturnType<typeof createEndpoint>>;
  b: Awaited<ReturnType<typeof createEndpoint>>;
  ta: ReturnType<typeof timedTransport>;
  tb: ReturnType<typeof timedTransport>;
  got: (number | undefined)[];
}> {
  const pki = await createTestPki({ endpoints: [{ id: 'pub' }, { id: 'sub' }] });
  const net = manualNet();
  const ta = timedTransport(net.transport(), countingClock());
  const tb = timedTransport(net.transport(), countingClock());
  const id = (x: string): { certificate: string; privateKey: string } => pki.identities[x] as { certificate: string; privateKey: string };
  const a = await createEndpoint({
    id: 'pub',
    identity: id('pub'),
    trust: { roots: pki.roots },
    transport: ta.transport,
    ...(coalesce ? { coalesce } : {}),
  });
  const b = await createEndpoint({ id: 'sub', identity: id('sub'), trust: { roots: pki.roots }, transport: tb.transport });
  const got: (number | undefined)[] = [];
  b.on('message', () => got.push(tb.delivered()));
  // Open the session (HS_INIT → HS_RESP with the first message).
  const first = a.send('sub', Uint8Array.of(0));
  await net.pump();
  await first;
  await new Promise((r) => setImmediate(r)); // a new event-loop turn: the next record leaves at once (SPEC 3.7)
  return { net, a, b, ta, tb, got };
}

test('timeSend: from the call to the frame handed to the wrapped send; nothing handed over, no sample; sends outside it untimed', async () => {
  const net = manualNet();
  const ta = timedTransport(net.transport(), countingClock());
  await ta.transport.open('pub', () => undefined);
  const r = ta.timeSend(() => 'x');
  assert.deepEqual(r, { result: 'x', ns: undefined });
  // Clock reads: t0 = 0, hand-over = 1000 → 1000 ns.
  const s = ta.timeSend(() => ta.transport.send('sub', Uint8Array.of(1)));
  assert.equal(s.ns, 1000);
  await s.result;
  // Outside timeSend the wrapped send reads no clock, so it does not shift the next measurement.
  await ta.transport.send('sub', Uint8Array.of(2));
  assert.equal(ta.timeSend(() => ta.transport.send('sub', Uint8Array.of(3))).ns, 1000);
  assert.equal(net.outbox.length, 3);
});

test('publisher side through a real endpoint: one sample per message sent on an open session', async () => {
  const { net, a, b, ta } = await pair();
  try {
    const ns: (number | undefined)[] = [];
    for (let i = 0; i < 5; i++) {
      const r = ta.timeSend(() => a.send('sub', Uint8Array.of(i)));
      ns.push(r.ns);
      await r.result;
      await new Promise((r) => setImmediate(r)); // one message per event-loop turn: each record leaves alone
    }
    // t0 read, then exactly one hand-over read per DATA record: 1000 ns on the counting clock.
    assert.deepEqual(ns, [1000, 1000, 1000, 1000, 1000]);
    // The publisher's records only: sub's delayed ACK of the first message (acks.delayMs = 20) may join the outbox
    // when the loop above takes longer than that on a loaded machine.
    assert.equal(net.outbox.filter((f) => f.from === 'pub').length, 5);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

/** `n` sends in one run of synchronous code, each timed: its in-call sample (or undefined) and the later ones, in order. */
function timedBurst(
  ta: ReturnType<typeof timedTransport>,
  a: Awaited<ReturnType<typeof createEndpoint>>,
  n: number,
): { sync: (number | undefined)[]; later: number[]; done: Promise<unknown> } {
  const sync: (number | undefined)[] = [];
  const later: number[] = [];
  const sends: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const r = ta.timeSend(
      () => a.send('sub', Uint8Array.of(i)),
      (ns) => later.push(ns),
    );
    sync.push(r.ns);
    sends.push(r.result);
  }
  return { sync, later, done: Promise.all(sends) };
}

test('publisher side, coalesced records (SPEC 3.7): timed to the hand-over of the BATCH frame that carries them', async () => {
  const { net, a, b, ta } = await pair({ maxDelayUs: 1_000_000, minInFlight: 1 }); // the delay bound's clock is real time: keep it out
  try {
    const { sync, later, done } = timedBurst(ta, a, 3);
    await done;
    // The first goes alone within its call (t0, hand-over: 1000 ns); the other two wait for the end of the turn,
    // where one clock read times both: their t0s were reads 3 and 4 (2 was the first's hand-over) of the counting
    // clock, the batch hand-over read 5 → 2000 and 1000 ns.
    assert.deepEqual(sync, [1000, undefined, undefined]);
    assert.deepEqual(later, [2000, 1000]);
    assert.deepEqual(
      net.outbox.map((f) => f.bytes[0]! & 0x0f),
      [3, 8],
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('publisher side, a batch that fills inside a later send() call: that call and the records before it are timed to it', async () => {
  const { net, a, b, ta } = await pair({ maxRecords: 3, maxDelayUs: 1_000_000, minInFlight: 1 });
  try {
    const { sync, later, done } = timedBurst(ta, a, 4);
    await done;
    // Reads: 0 t0#0, 1 hand-over of #0 (alone); 2 t0#1; 3 t0#2; 4 t0#3, 5 hand-over of the batch [#1 #2 #3] inside
    // call #3 → #3: 1000 ns; #1 and #2 (waiting): 3000 and 2000 ns.
    assert.deepEqual(sync, [1000, undefined, undefined, 1000]);
    assert.deepEqual(later, [3000, 2000]);
    assert.deepEqual(
      net.outbox.map((f) => f.bytes[0]! & 0x0f),
      [3, 8],
    );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('subscriber side: each message is timed from the delivery of its own frame, also when frames arrive in a burst', async () => {
  const { net, a, b, got } = await pair();
  try {
    got.length = 0;
    for (let i = 1; i <= 2; i++) await a.send('sub', Uint8Array.of(i));
    const [m1, m2] = net.outbox.splice(0);
    assert.ok(m1 && m2);
    const h = net.handler('sub');
    // Burst: m1, a replay of m1 (refused: no message), m2, handed over back to back. The endpoint handles a record
    // for an idle peer at once, so clock reads go: m1 arrives at 0, its message at 1 → 1000; the replay arrives at 2
    // and settles without a sample; m2 arrives at 3, its message at 4 → 1000. A correlation that ignored the
    // replay's settlement would pair m2's message with the replay's arrival: 4 − 2 = 2000.
    const rejected: string[] = [];
    b.on('reject', (e) => rejected.push(e.code));
    await Promise.all([h({ from: 'pub', bytes: m1.bytes }), h({ from: 'pub', bytes: m1.bytes }), h({ from: 'pub', bytes: m2.bytes })]);
    assert.equal(rejected.length, 1, 'the replay was refused');
    assert.deepEqual(got, [1000, 1000]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('combineAdded joins both sides on the payload stamp; unmatched messages count on their side only', () => {
  const a = combineAdded({ stamps: [10, 20, 30], ns: [5000, 1000, 3000] }, { stamps: [20, 30, 40], ns: [2000, 4000, 9000] });
  assert.deepEqual(a.sumUs, [3, 7]);
  assert.deepEqual(a.publisherUs, [1, 3, 5]);
  assert.deepEqual(a.subscriberUs, [2, 4, 9]);
});

test('BENCHMARKS.md shows the direct rows next to E2E − plain: section 6 columns, the target row, the notes table', () => {
  const row = 'amqp_rabbitmq_confidentiality_256B';
  const report = benchReportSchema.parse({
    machine: { cpu: 'x', cores: 2, memoryBytes: 1, os: 'l', node: '20', openssl: '3', v8: '1', date: 'd' },
    mode: 'quick',
    durationS: 1,
    results: [
      ...REQUIRED_RESULTS.map((name) => ({ name, skipped: 'absent' })),
      { name: `${row}_added_p99_latency_us`, unit: 'µs', value: 4321 },
      { name: `${row}_hopsafe_added_p50_latency_us`, unit: 'µs', value: 8.5, note: 'direct' },
      { name: `${row}_hopsafe_added_p99_latency_us`, unit: 'µs', value: 61.5, note: 'direct, per message' },
      { name: `mqtt_aedes_confidentiality_256B_hopsafe_added_p99_latency_us`, unit: 'µs', value: 2400 },
    ],
    ratios: Object.fromEntries(REQUIRED_RATIOS.map((k) => [k, { skipped: 'absent' }])),
  });
  const md = benchmarksMarkdown(report);
  assert.match(md, /\| amqp rabbitmq \| confidentiality \|[^\n]*\| 4,321 \| 8\.50 \| 61\.50 \|/);
  assert.match(
    md,
    /p99 added latency at half load, amqp rabbitmq, confidentiality \(E2E p99 − plain p99\) \| ≤ 100 µs \| 4,321 µs \| \*\*missed\*\*/,
  );
  assert.match(
    md,
    /p99 added latency at half load, amqp rabbitmq, confidentiality \(hopsafe's own work, timed in the processes\) \| ≤ 100 µs \| 61\.50 µs \| met/,
  );
  assert.match(md, /mqtt aedes, confidentiality \(hopsafe's own work, timed in the processes\) \| ≤ 100 µs \| 2,400 µs \| \*\*missed\*\*/);
  assert.match(md, /\| `amqp_rabbitmq_confidentiality_256B_hopsafe_added_p99_latency_us` \| 61\.50 µs \| direct, per message \|/);
});
