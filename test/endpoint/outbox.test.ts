/**
 * [SPEC 3.7] The per-peer outbox on its own: order, limits, the in-flight gate and settlement, with a fake
 * transport whose sends settle when the test says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Outbox, type CoalesceLimits } from '../../src/endpoint/outbox.js';
import { decodeBatch } from '../../src/codec/batch.js';
import { decodeRecordHeader, encodeRecordHeader, frameByte, FrameType } from '../../src/codec/frame.js';

/** A DATA record frame whose sequence number identifies it. */
function rec(seq: number, bodyLength = 20): Uint8Array {
  return encodeRecordHeader(FrameType.DATA, new Uint8Array(8), 0, seq, bodyLength).fill(0, 12);
}
/** The peer every test's outbox sends to. */
const PEER = 'bob';
const seqOf = (r: Uint8Array): number => decodeRecordHeader(r).seq;

interface Sent {
  readonly frame: Uint8Array;
  outcome?: 'ok' | 'failed';
  settle(ok: boolean): void;
}

function fakeTransport(): { sent: Sent[]; send: (peer: string, f: Uint8Array) => Promise<void> } {
  const sent: Sent[] = [];
  return {
    sent,
    send: (_peer, frame) =>
      new Promise<void>((resolve, reject) => {
        const x: Sent = {
          frame,
          settle: (ok) => {
            x.outcome = ok ? 'ok' : 'failed';
            if (ok) resolve();
            else reject(new Error('transport failed'));
          },
        };
        sent.push(x);
      }),
  };
}

/** The record sequence numbers a handed-over frame carries, in order. */
function carried(frame: Uint8Array): number[] {
  return frame[0] === frameByte(FrameType.BATCH) ? decodeBatch(frame).map(seqOf) : [seqOf(frame)];
}

const limits = (l: Partial<CoalesceLimits> = {}): CoalesceLimits => ({
  maxRecords: 32,
  maxBytes: 16_384,
  maxDelayUs: 1_000_000,
  minInFlight: 4,
  ...l,
});
const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

test('[SPEC 3.7] property: frames leave in push order, within the limits, never a batch of one; each push settles with its frame', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        maxRecords: fc.integer({ min: 2, max: 8 }),
        minInFlight: fc.integer({ min: 0, max: 4 }),
        maxBytes: fc.integer({ min: 40, max: 200 }),
        // per step: push a record of this body length, or settle the oldest unsettled send (ok / failed), or end the run
        steps: fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 120 }).map((n) => ({ push: n })),
            fc.boolean().map((ok) => ({ settle: ok })),
            fc.constant({ tick: true }),
          ),
          { maxLength: 60 },
        ),
      }),
      async ({ maxRecords, minInFlight, maxBytes, steps }) => {
        const t = fakeTransport();
        const box = new Outbox(
          limits({ maxRecords, minInFlight, maxBytes }),
          t,
          PEER,
          () => undefined,
          () => undefined,
        );
        const outcomes = new Map<number, 'ok' | 'failed'>();
        let next = 0;
        let settledUpTo = 0;
        for (const s of steps) {
          if ('push' in s) {
            const seq = next++;
            box.push(rec(seq, s.push)).then(
              () => outcomes.set(seq, 'ok'),
              () => outcomes.set(seq, 'failed'),
            );
          } else if ('settle' in s) {
            t.sent[settledUpTo]?.settle(s.settle);
            if (settledUpTo < t.sent.length) settledUpTo++;
          } else await tick();
        }
        box.flush();
        for (let i = settledUpTo; i < t.sent.length; i++) t.sent[i]!.settle(true);
        await tick();
        await tick();
        // Order: every record exactly once, in push order.
        assert.deepEqual(
          t.sent.flatMap((x) => carried(x.frame)),
          Array.from({ length: next }, (_, i) => i),
        );
        for (const x of t.sent) {
          if (x.frame[0] === frameByte(FrameType.BATCH)) {
            const n = decodeBatch(x.frame).length;
            assert.ok(n >= 2 && n <= maxRecords, `batch of ${n}`);
            assert.ok(x.frame.length <= maxBytes, `batch of ${x.frame.length} bytes`);
          }
        }
        // Settlement: every push settled like the transport send that carried it.
        assert.equal(outcomes.size, next);
        for (const x of t.sent) for (const seq of carried(x.frame)) assert.equal(outcomes.get(seq), x.outcome, `record ${seq}`);
      },
    ),
    { numRuns: 300 },
  );
});

test('[SPEC 3.7] below minInFlight nothing waits; at it, records wait for the end of the run', async () => {
  const t = fakeTransport();
  const box = new Outbox(
    limits({ minInFlight: 2 }),
    t,
    PEER,
    () => undefined,
    () => undefined,
  );
  void box.push(rec(0));
  void box.push(rec(1));
  assert.equal(t.sent.length, 2, 'two unsettled sends: the gate opens');
  void box.push(rec(2));
  void box.push(rec(3));
  assert.equal(t.sent.length, 2, 'waiting');
  await tick();
  assert.deepEqual(
    t.sent.map((x) => carried(x.frame)),
    [[0], [1], [2, 3]],
  );
  t.sent[0]!.settle(true);
  t.sent[1]!.settle(true);
  t.sent[2]!.settle(true);
  await tick();
  void box.push(rec(4));
  assert.equal(t.sent.length, 4, 'the transport caught up: at once again');
});

test('[SPEC 3.7] a transport that throws instead of rejecting fails the records it carried, nothing escapes the flush', async () => {
  let calls = 0;
  const box = new Outbox(
    limits({ minInFlight: 1 }),
    {
      send: (_peer, f) => {
        calls++;
        if (calls > 1) throw new Error(`sync failure for ${f.length} bytes`);
        return new Promise<void>(() => undefined);
      },
    },
    PEER,
    () => undefined,
    () => undefined,
  );
  const first = box.push(rec(0));
  const waiting = [box.push(rec(1)), box.push(rec(2))];
  await tick();
  const outcomes = await Promise.allSettled(waiting);
  assert.deepEqual(
    outcomes.map((o) => o.status),
    ['rejected', 'rejected'],
  );
  void first;
});

test('[SPEC 3.7] onIdle once nothing waits and nothing is in flight; onBatch counts records per BATCH', async () => {
  const t = fakeTransport();
  let idle = 0;
  const batches: number[] = [];
  const box = new Outbox(
    limits({ minInFlight: 1 }),
    t,
    PEER,
    () => idle++,
    (n) => batches.push(n),
  );
  void box.push(rec(0));
  void box.push(rec(1));
  void box.push(rec(2));
  await tick();
  assert.deepEqual(batches, [2]);
  assert.equal(idle, 0, 'two sends in flight');
  t.sent[0]!.settle(true);
  await tick();
  assert.equal(idle, 0);
  t.sent[1]!.settle(false);
  await tick();
  assert.equal(idle, 1);
});
