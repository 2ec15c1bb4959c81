import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readVarint, varintLength, writeVarint } from '../../src/codec/varint.js';
import { HopsafeError } from '../../src/errors/index.js';

test('[SPEC 3.2] varint round-trips and uses the minimal length', () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), (n) => {
      const buf = new Uint8Array(8);
      const end = writeVarint(buf, 0, n);
      assert.equal(end, varintLength(n));
      assert.deepEqual(readVarint(buf, 0), [n, end]);
    }),
  );
});

test('[SPEC 3.2] RFC 9000 §A.1 examples decode', () => {
  const cases: [number[], number][] = [
    [[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c], Number(151288809941952652n)], // above 2^53: the decoder's number is this value rounded, as here
    [[0x9d, 0x7f, 0x3e, 0x7d], 494878333],
    [[0x7b, 0xbd], 15293],
    [[0x25], 37],
  ];
  for (const [bytes, value] of cases) {
    if (value > Number.MAX_SAFE_INTEGER) {
      assert.throws(() => readVarint(Uint8Array.from(bytes), 0), HopsafeError);
      continue;
    }
    assert.deepEqual(readVarint(Uint8Array.from(bytes), 0), [value, bytes.length]);
  }
});

test('[SPEC 3.2] non-minimal encodings are refused', () => {
  // RFC 9000 notes 0x40 0x25 also decodes to 37: we refuse it.
  assert.throws(
    () => readVarint(Uint8Array.from([0x40, 0x25]), 0),
    (e: unknown) => e instanceof HopsafeError && e.code === 'ERR_MALFORMED',
  );
});

test('[SPEC 3.2] short input returns undefined', () => {
  assert.equal(readVarint(Uint8Array.from([0x80, 1]), 0), undefined);
  assert.equal(readVarint(new Uint8Array(0), 0), undefined);
});
