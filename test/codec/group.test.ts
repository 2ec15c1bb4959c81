import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HopsafeError } from '../../src/errors/index.js';
import { frameByte, FrameType, frameType, isRecordFrame } from '../../src/codec/frame.js';
import * as der from '../../src/codec/tlv.js';
import {
  GROUP_NAME_PATTERN,
  decodeGroupControl,
  decodeGroupHeader,
  encodeGroupControl,
  encodeGroupHeader,
  type GroupControl,
} from '../../src/codec/group.js';

const code = (c: string) => (e: unknown) => e instanceof HopsafeError && e.code === c;

test('[SPEC 3.1, 13.3, 13.4] GROUP_DATA (9) and GROUP_CTRL (10) are frame types; only GROUP_CTRL is a session record', () => {
  assert.equal(frameType(Uint8Array.of(frameByte(FrameType.GROUP_DATA))), 9);
  assert.equal(frameType(Uint8Array.of(frameByte(FrameType.GROUP_CTRL))), 10);
  assert.throws(() => frameType(Uint8Array.of(0x1b)), code('ERR_MALFORMED'));
  assert.equal(isRecordFrame(Uint8Array.of(frameByte(FrameType.GROUP_CTRL))), true);
  assert.equal(isRecordFrame(Uint8Array.of(frameByte(FrameType.GROUP_DATA))), false);
});

test('[SPEC 13.3] group header round-trips; short, truncated, other-type, other-version and out-of-range headers are refused', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      (gid, epoch, seq) => {
        const f = encodeGroupHeader(gid, epoch, seq, 0);
        const h = decodeGroupHeader(f);
        assert.deepEqual([...h.groupId], [...gid]);
        assert.equal(h.epoch, epoch);
        assert.equal(h.seq, seq);
        assert.equal(h.length, f.length);
      },
    ),
  );
  const f = encodeGroupHeader(new Uint8Array(16), 1, 70, 0);
  assert.throws(() => decodeGroupHeader(f.subarray(0, 19)), code('ERR_MALFORMED'));
  assert.throws(() => decodeGroupHeader(f.subarray(0, 20)), code('ERR_MALFORMED')); // 2-byte varint cut
  assert.throws(() => decodeGroupHeader(Uint8Array.of(frameByte(FrameType.DATA), ...f.subarray(1))), code('ERR_MALFORMED'));
  assert.throws(() => decodeGroupHeader(Uint8Array.of(0x29, ...f.subarray(1))), code('ERR_VERSION'));
  const big = encodeGroupHeader(new Uint8Array(16), 0, 2 ** 48, 0);
  assert.throws(() => decodeGroupHeader(big), code('ERR_MALFORMED'));
});

const arbName = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => GROUP_NAME_PATTERN.test(s));
const arbKey = fc.record({
  groupId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  epoch: fc.integer({ min: 0, max: 0xffff }),
  suite: fc.integer({ min: 0, max: 0xffff }),
  protection: fc.constantFrom('integrity' as const, 'confidentiality' as const),
  epochSecret: fc.uint8Array({ minLength: 32, maxLength: 64 }),
  previousEnd: fc.integer({ min: 0, max: 2 ** 48 }),
  signer: fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 }), { nil: undefined }),
});
const arbControl: fc.Arbitrary<GroupControl> = fc.oneof(
  fc.record({ name: arbName, key: arbKey }).map(({ name, key }) => {
    const { signer, ...k } = key;
    return {
      kind: 'key' as const,
      name,
      key: signer ? { ...k, sourceAuth: 'signature' as const, signer } : { ...k, sourceAuth: 'none' as const },
    };
  }),
  arbName.map((name) => ({ kind: 'join' as const, name })),
  arbName.map((name) => ({ kind: 'leave' as const, name })),
  arbName.map((name) => ({ kind: 'removed' as const, name })),
  arbName.map((name) => ({ kind: 'refused' as const, name, code: 'ERR_FORBIDDEN' })),
);

test('[SPEC 13.4] GroupControl: canonical DER round-trips; any change of one byte is refused or decodes to another value', () => {
  fc.assert(
    fc.property(arbControl, fc.nat(), fc.integer({ min: 1, max: 255 }), (c, at, x) => {
      const der = encodeGroupControl(c);
      assert.deepEqual(decodeGroupControl(der), c);
      const bad = der.slice();
      const i = at % bad.length;
      bad[i] = (bad[i] as number) ^ x;
      try {
        const d = decodeGroupControl(bad);
        // Accepted only as the canonical encoding of a different value.
        assert.notDeepEqual(d, c);
        assert.deepEqual([...encodeGroupControl(d)], [...bad]);
      } catch (e) {
        assert.ok(e instanceof HopsafeError && ['ERR_MALFORMED', 'ERR_VERSION', 'ERR_TOO_LARGE'].includes(e.code), String(e));
      }
    }),
    { numRuns: 500 },
  );
});

test('[SPEC 13.4] GroupControl refuses a signer without signature mode, a detail on join, a bad refusal code, trailing bytes', () => {
  const key = {
    groupId: new Uint8Array(16),
    epoch: 0,
    suite: 0x0101,
    protection: 'confidentiality' as const,
    sourceAuth: 'none' as const,
    epochSecret: new Uint8Array(32),
    previousEnd: 0,
  };
  // Written by hand: sourceAuth none(0) with a signer present.
  const k = der.seq([
    der.oct(key.groupId),
    der.int(0),
    der.int(0x0101),
    der.enm(1),
    der.enm(0),
    der.oct(key.epochSecret),
    der.int(0),
    der.oct(Uint8Array.of(1)),
  ]);
  assert.throws(() => decodeGroupControl(der.seq([der.int(1), der.enm(0), der.str('g'), k])), code('ERR_MALFORMED'));
  // and signature(1) without one
  const k2 = der.seq([der.oct(key.groupId), der.int(0), der.int(0x0101), der.enm(1), der.enm(1), der.oct(key.epochSecret), der.int(0)]);
  assert.throws(() => decodeGroupControl(der.seq([der.int(1), der.enm(0), der.str('g'), k2])), code('ERR_MALFORMED'));
  // a join with a fourth field; an unknown kind; another version
  assert.throws(() => decodeGroupControl(der.seq([der.int(1), der.enm(1), der.str('g'), der.str('x')])), code('ERR_MALFORMED'));
  assert.throws(() => decodeGroupControl(der.seq([der.int(1), der.enm(5), der.str('g')])), code('ERR_MALFORMED'));
  assert.throws(() => decodeGroupControl(der.seq([der.int(2), der.enm(1), der.str('g')])), code('ERR_VERSION'));
  const join = encodeGroupControl({ kind: 'join', name: 'g' });
  assert.throws(() => decodeGroupControl(Uint8Array.of(...join, 0)), code('ERR_MALFORMED'));
  assert.throws(() => encodeGroupControl({ kind: 'join', name: 'bad\u0001name' }), code('ERR_INPUT'));
  const refused = encodeGroupControl({ kind: 'refused', name: 'g', code: 'ERR_FORBIDDEN' });
  const lower = refused.slice();
  lower[lower.length - 1] = 0x64; // 'D' -> 'd'
  assert.throws(() => decodeGroupControl(lower), code('ERR_MALFORMED'));
});
