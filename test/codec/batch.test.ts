import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BATCH_MAX_RECORDS, decodeBatch, encodeBatch } from '../../src/codec/batch.js';
import { encodeRecordHeader, frameByte, FrameType } from '../../src/codec/frame.js';
import { writeVarint } from '../../src/codec/varint.js';
import { isHopsafeError } from '../../src/errors/index.js';

/** A well-formed record frame (header + body); its protection does not matter to the container. */
function record(type: FrameType, seq: number, body: Uint8Array): Uint8Array {
  const r = encodeRecordHeader(type, new Uint8Array(8).fill(7), 0, seq, body.length);
  r.set(body, r.length - body.length);
  return r;
}

const recordArb = fc
  .record({
    type: fc.constantFrom(FrameType.DATA, FrameType.KEY_UPDATE, FrameType.ALERT, FrameType.ACK),
    seq: fc.integer({ min: 0, max: 2 ** 40 }),
    body: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  })
  .map((r) => record(r.type, r.seq, r.body));

const malformed = (f: () => unknown): void => assert.throws(f, (e: unknown) => isHopsafeError(e) && e.code === 'ERR_MALFORMED');

test('[SPEC 3.7] BATCH round-trips 2..64 records, in order, byte for byte', () => {
  fc.assert(
    fc.property(fc.array(recordArb, { minLength: 2, maxLength: BATCH_MAX_RECORDS }), (records) => {
      const b = encodeBatch(records);
      assert.equal(b[0], frameByte(FrameType.BATCH));
      assert.deepEqual(
        decodeBatch(b).map((r) => [...r]),
        records.map((r) => [...r]),
      );
    }),
    { numRuns: 200 },
  );
});

test('[SPEC 3.7] a batch of one record or of more than 64 is refused both ways (one record travels alone)', () => {
  const r = record(FrameType.DATA, 0, new Uint8Array(20));
  assert.throws(
    () => encodeBatch([r]),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_INPUT',
  );
  assert.throws(
    () => encodeBatch(Array.from({ length: 65 }, () => r)),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_INPUT',
  );
  const one = new Uint8Array(2 + r.length);
  one[0] = frameByte(FrameType.BATCH);
  one[1] = r.length;
  one.set(r, 2);
  malformed(() => decodeBatch(one));
  const big = encodeBatch(Array.from({ length: 64 }, () => r));
  const extra = new Uint8Array(big.length + 1 + r.length);
  extra.set(big);
  extra[big.length] = r.length;
  extra.set(r, big.length + 1);
  malformed(() => decodeBatch(extra));
  malformed(() => decodeBatch(Uint8Array.of(frameByte(FrameType.BATCH))));
});

test('[SPEC 3.7] only record frames may be batched: no handshake frame, no nested batch, no other version', () => {
  const r = record(FrameType.DATA, 1, new Uint8Array(20));
  const inner = encodeBatch([r, r]);
  const withEntry = (entry: Uint8Array): Uint8Array => {
    const out = new Uint8Array(1 + 2 * (2 + Math.max(entry.length, r.length)));
    out[0] = frameByte(FrameType.BATCH);
    let off = writeVarint(out, 1, r.length);
    out.set(r, off);
    off += r.length;
    off = writeVarint(out, off, entry.length);
    out.set(entry, off);
    return out.subarray(0, off + entry.length);
  };
  assert.equal(decodeBatch(withEntry(r)).length, 2);
  malformed(() => decodeBatch(withEntry(inner)));
  for (const t of [FrameType.HS_INIT, FrameType.HS_RESP, FrameType.HS_ALERT]) {
    const h = r.slice();
    h[0] = frameByte(t);
    malformed(() => decodeBatch(withEntry(h)));
  }
  const v2 = r.slice();
  v2[0] = (2 << 4) | FrameType.DATA;
  malformed(() => decodeBatch(withEntry(v2)));
  assert.throws(
    () => encodeBatch([r, inner]),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_INPUT',
  );
});

test('[SPEC 3.7] truncated, over-long, too-short and trailing entries are refused as a whole', () => {
  const r = record(FrameType.ACK, 3, new Uint8Array(40));
  const b = encodeBatch([r, r, r]);
  const twoRecords = 1 + 2 * (1 + r.length); // a cut right after the second record is a valid batch of two
  for (let cut = 1; cut < b.length; cut++) if (cut !== twoRecords) malformed(() => decodeBatch(b.subarray(0, cut)));
  assert.equal(decodeBatch(b.subarray(0, twoRecords)).length, 2);
  const longer = b.slice();
  longer[1 + r.length + 1] = r.length + 1; // second length claims one byte more than is there before the third
  assert.throws(() => decodeBatch(longer));
  const tiny = Uint8Array.of(frameByte(FrameType.BATCH), 11, ...r.subarray(0, 11), 11, ...r.subarray(0, 11));
  malformed(() => decodeBatch(tiny));
  const trailing = Uint8Array.of(...b, 0);
  malformed(() => decodeBatch(trailing));
  const nonMinimal = Uint8Array.of(frameByte(FrameType.BATCH), 0x40, r.length, ...r, r.length, ...r);
  malformed(() => decodeBatch(nonMinimal));
});

test('[SPEC 3.7] decodeBatch never throws anything but ERR_MALFORMED, and what it returns re-encodes to the input', () => {
  const r = record(FrameType.DATA, 9, new Uint8Array(30));
  const genuine = encodeBatch([r, r, r]);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((x) => Uint8Array.of(frameByte(FrameType.BATCH), ...x)),
        fc.tuple(fc.nat(genuine.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
          const m = genuine.slice();
          m[i] = (m[i] as number) ^ x;
          return m;
        }),
      ),
      (bytes) => {
        let records: Uint8Array[];
        try {
          records = decodeBatch(bytes);
        } catch (e) {
          assert.ok(isHopsafeError(e) && e.code === 'ERR_MALFORMED', String(e));
          return;
        }
        assert.deepEqual([...encodeBatch(records)], [...bytes]);
      },
    ),
    { numRuns: 2000 },
  );
});
