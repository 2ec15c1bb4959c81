/**
 * [SPEC 7.6] End-to-end acknowledgements at the protocol layer: the Ack codec, the session's ACK records and
 * the sender's AckTracker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { acceptedMap, acknowledges, decodeAck, encodeAck, ACK_RANGE_SPAN, type AckRange } from '../../src/codec/ack.js';
import { FrameType, frameType } from '../../src/codec/frame.js';
import { AckTracker } from '../../src/session/acknowledgement.js';
import { ReplayWindow } from '../../src/session/replay.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { handshake, makePair } from '../support/session-pair.js';
import { codeOf } from '../support/codes.js';

const range = (epoch: number, highest: number, seqs: readonly number[]): AckRange => ({
  epoch,
  highest,
  accepted: acceptedMap(highest, (s) => seqs.includes(s)),
});

test('[SPEC 7.6] Ack round-trips and marks exactly the accepted records', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      fc.array(fc.nat(ACK_RANGE_SPAN - 1), { maxLength: 64 }),
      (epoch, highest, offsets) => {
        const seqs = [highest, ...offsets.map((o) => highest - o).filter((s) => s >= 0)];
        const r = range(epoch, highest, seqs);
        const [back] = decodeAck(encodeAck([r]));
        assert.ok(back);
        assert.deepEqual(back, r);
        for (let s = Math.max(0, highest - ACK_RANGE_SPAN - 2); s <= highest + 2; s++)
          assert.equal(acknowledges(back, s), seqs.includes(s) && highest - s < ACK_RANGE_SPAN, `seq ${s}`);
      },
    ),
  );
});

test('[SPEC 7.6] Ack decoding is strict: highest unmarked, bits below 0, two ranges of one epoch, non-canonical, oversize', () => {
  const ok = range(1, 3, [3, 1]);
  const bad: Uint8Array[] = [
    encodeAck([{ ...ok, accepted: acceptedMap(3, (s) => s === 1) }]),
    encodeAck([{ epoch: 1, highest: 3, accepted: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x19) }]),
    encodeAck([ok, ok]),
    Uint8Array.of(0x30, 0x81, ...encodeAck([ok]).subarray(1)),
    encodeAck([{ ...ok, accepted: new Uint8Array(8).fill(0xff) }]),
  ];
  for (const b of bad)
    assert.equal(
      codeOf(() => decodeAck(b)),
      'ERR_MALFORMED',
    );
  assert.equal(
    codeOf(() => decodeAck(new Uint8Array(200).fill(0x30))),
    'ERR_TOO_LARGE',
    'size cap before parsing [SPEC 5.2]',
  );
});

test('[SPEC 7.6] Ack ranges are in ascending epoch order: the previous epoch first; descending is ERR_MALFORMED', () => {
  const prev = range(4, 9, [9, 8]);
  const cur = range(5, 0, [0]);
  assert.deepEqual(decodeAck(encodeAck([prev, cur])), [prev, cur]);
  assert.equal(
    codeOf(() => decodeAck(encodeAck([cur, prev]))),
    'ERR_MALFORMED',
  );
  assert.equal(
    codeOf(() => decodeAck(encodeAck([range(7, 1, [1]), range(2, 3, [3])]))),
    'ERR_MALFORMED',
    'not only adjacent epochs',
  );
  assert.throws(
    () => encodeAck([]),
    (e) => isHopsafeError(e) && e.code === 'ERR_INPUT',
  );
});

test('[SPEC 7.6] ReplayWindow.has mirrors what was committed, inside the window only', () => {
  const w = new ReplayWindow();
  for (const s of [0, 2, 5, 70]) w.commit(s);
  assert.equal(w.has(70), true);
  assert.equal(w.has(69), false);
  assert.equal(w.has(5), false, 'outside the window');
  w.commit(60);
  assert.equal(w.has(60), true);
});

test('[SPEC 7.6] a session acknowledges the DATA records it accepted, per open epoch; ACKs are protected records', async () => {
  const { sa, sb } = await handshake(await makePair());
  const now = Date.now();
  const frames = Array.from({ length: 10 }, (_, i) => sa.seal(Uint8Array.of(i)));
  for (const i of [0, 1, 2, 4, 7]) sb.open(frames[i] as Uint8Array, now);
  assert.equal(sb.acksDue, 5);
  const ack = sb.sealAck(now);
  assert.ok(ack);
  assert.equal(frameType(ack), FrameType.ACK);
  assert.equal(sb.acksDue, 0);
  const [d] = sa.open(ack, now);
  assert.equal(d?.type, 'ack');
  if (d?.type !== 'ack') return;
  assert.equal(d.ranges.length, 1);
  const r = d.ranges[0] as AckRange;
  assert.deepEqual([r.epoch, r.highest], [0, 7]);
  for (let s = 0; s < 10; s++) assert.equal(acknowledges(r, s), [0, 1, 2, 4, 7].includes(s), `seq ${s}`);
  // an ACK is not itself acknowledged (no ACK loops) and cannot be replayed
  assert.equal(sa.acksDue, 0);
  assert.equal(
    codeOf(() => sa.open(ack, now)),
    'ERR_REPLAY',
  );
  // a flipped bit anywhere is refused like any record [SPEC 7.1]
  const again = sb.sealAck(now) as Uint8Array;
  again[again.length - 20] = (again[again.length - 20] as number) ^ 1;
  assert.equal(
    codeOf(() => sa.open(again, now)),
    'ERR_BAD_MAC',
  );
});

test('[SPEC 7.6] nothing received yet → no ACK; after a key update the previous epoch is acknowledged too, until its grace ends', async () => {
  const { sa, sb } = await handshake(await makePair({ protection: 'integrity' }));
  const now = Date.now();
  assert.equal(sb.sealAck(now), undefined);
  sb.open(sa.seal(Uint8Array.of(1)), now);
  const late = sa.seal(Uint8Array.of(2));
  sb.open(sa.keyUpdate(now), now);
  sb.open(sa.seal(Uint8Array.of(3)), now);
  sb.open(late, now); // in flight across the update: accepted during grace
  const [d] = sa.open(sb.sealAck(now) as Uint8Array, now);
  assert.ok(d?.type === 'ack');
  assert.deepEqual(
    d.ranges.map((r) => [r.epoch, r.highest]),
    [
      [0, 2],
      [1, 0],
    ],
  );
  const afterGrace = now + sb.options.graceMs + 1;
  sb.open(sa.seal(Uint8Array.of(4)), afterGrace);
  const [d2] = sa.open(sb.sealAck(afterGrace) as Uint8Array, afterGrace);
  assert.ok(d2?.type === 'ack');
  assert.deepEqual(
    d2.ranges.map((r) => r.epoch),
    [1],
  );
});

test('[SPEC 7.6] AckTracker: confirmed ⊆ accepted; records 64 below an acknowledged one are not confirmed; other sessions untouched', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.func(fc.boolean()), fc.integer({ min: 1, max: 32 }), (n, dropped, every) => {
      const t = new AckTracker<number>();
      const session = {};
      const other = {};
      t.add(other, 0, 0, 0, -1);
      const w = new ReplayWindow();
      const accepted = new Set<number>();
      const confirmed = new Set<number>();
      const notConfirmed = new Set<number>();
      let lastAckedTop = -1;
      for (let seq = 0; seq < n; seq++) {
        t.add(session, 0, seq, seq, seq);
        if (!dropped(seq)) {
          w.commit(seq);
          accepted.add(seq);
        }
        if ((seq + 1) % every === 0 && w.highest >= 0) {
          const r = t.ack(session, [{ epoch: 0, highest: w.highest, accepted: acceptedMap(w.highest, (s) => w.has(s)) }], 0);
          for (const s of r.confirmed) confirmed.add(s);
          for (const s of r.notConfirmed) notConfirmed.add(s);
          lastAckedTop = w.highest;
        }
      }
      for (const s of confirmed) assert.ok(accepted.has(s), `confirmed ${s} was never accepted`);
      for (const s of notConfirmed) assert.ok(!accepted.has(s), `accepted ${s} reported unconfirmed although ACKs were not lost`);
      // every record 64 below the top of the last ACK was decided one way or the other
      for (let s = 0; s <= lastAckedTop - ACK_RANGE_SPAN; s++) assert.ok(confirmed.has(s) || notConfirmed.has(s), `seq ${s} undecided`);
      assert.deepEqual(
        t.take((e) => e.session === other),
        [-1],
      );
    }),
  );
});

test('[SPEC 7.6] AckTracker: an epoch two below the lowest acknowledged one is closed; newer epochs wait', () => {
  const t = new AckTracker<string>();
  const s = {};
  t.add(s, 0, 5, 0, 'e0');
  t.add(s, 1, 0, 0, 'e1');
  t.add(s, 3, 0, 0, 'e3');
  const r = t.ack(s, [range(2, 0, [0])], 0);
  assert.deepEqual(r, { confirmed: [], notConfirmed: ['e0'] });
  assert.deepEqual(t.items(), ['e1', 'e3']);
  assert.equal(
    t.takeNewest((e) => e.epoch === 3),
    'e3',
  );
  assert.equal(t.shift(), 'e1');
  assert.equal(t.size, 0);
});

test('[SPEC 7.6] AckTracker agrees with a naive model under interleaved sessions, epochs, gaps and out-of-order ACKs', () => {
  type E = { s: number; epoch: number; seq: number; id: number };
  const naive = (es: E[], s: number, ranges: readonly AckRange[]): { keep: E[]; c: number[]; n: number[] } => {
    const closedBelow = Math.min(...ranges.map((r) => r.epoch)) - 1;
    const keep: E[] = [];
    const c: number[] = [];
    const n: number[] = [];
    for (const e of es) {
      const r = e.s === s ? ranges.find((x) => x.epoch === e.epoch) : undefined;
      if (e.s === s && r && acknowledges(r, e.seq)) c.push(e.id);
      else if (e.s === s && ((r && r.highest - e.seq >= ACK_RANGE_SPAN) || e.epoch < closedBelow)) n.push(e.id);
      else keep.push(e);
    }
    return { keep, c, n };
  };
  const op = fc.oneof(
    fc.record({ k: fc.constant('send' as const), s: fc.nat(1), bump: fc.boolean() }),
    fc.record({
      k: fc.constant('ack' as const),
      s: fc.nat(1),
      back: fc.nat(80),
      map: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
      prev: fc.boolean(),
    }),
    fc.record({ k: fc.constant('shift' as const) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const sessions = [{}, {}];
      const t = new AckTracker<number>();
      let model: E[] = [];
      const next = [
        { epoch: 0, seq: 0 },
        { epoch: 0, seq: 0 },
      ];
      let id = 0;
      for (const o of ops) {
        if (o.k === 'send') {
          const st = next[o.s] as { epoch: number; seq: number };
          if (o.bump) Object.assign(st, { epoch: st.epoch + 1, seq: 0 });
          model.push({ s: o.s, epoch: st.epoch, seq: st.seq, id });
          t.add(sessions[o.s] as object, st.epoch, st.seq, 0, id++);
          st.seq++;
        } else if (o.k === 'shift') {
          assert.equal(t.shift(), model.shift()?.id);
        } else {
          const st = next[o.s] as { epoch: number; seq: number };
          const highest = Math.max(0, st.seq - 1 - o.back);
          const bits = (o.map | 1n) & ((1n << BigInt(Math.min(64, highest + 1))) - 1n);
          const accepted = new Uint8Array(8);
          new DataView(accepted.buffer).setBigUint64(0, bits);
          const ranges: AckRange[] = [{ epoch: st.epoch, highest, accepted }];
          if (o.prev && st.epoch > 0)
            ranges.unshift({
              epoch: st.epoch - 1,
              highest: 70,
              accepted: new Uint8Array(8).fill(0x55).map((b, i) => (i === 7 ? b | 1 : b)),
            });
          const want = naive(model, o.s, ranges);
          const got = t.ack(sessions[o.s] as object, ranges, 0);
          // the tracker may stop early at entries not yet covered; everything it decides must match the model
          assert.deepEqual(
            [...got.confirmed].sort((a, b) => a - b),
            [...want.c].sort((a, b) => a - b),
          );
          assert.deepEqual(
            [...got.notConfirmed].sort((a, b) => a - b),
            [...want.n].sort((a, b) => a - b),
          );
          model = want.keep;
        }
        assert.deepEqual(
          t.items(),
          model.map((e) => e.id),
        );
        assert.equal(t.size, model.length);
      }
    }),
    { numRuns: 300 },
  );
});
