/**
 * The frame pool (issue 19, SPEC 8 `copiesFrames`): large frames reuse memory, and nothing a caller does can make two
 * outstanding frames share memory, put foreign memory in the pool, show an earlier frame's bytes, or grow it unbounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_POOL_MIN, FramePool, MAX_POOLED } from '../../src/bytes/frame-pool.js';

test('small and oversize frames are not pooled; a released frame is lent again, zeroed past the new length', () => {
  const pool = new FramePool();
  assert.equal(pool.take(FRAME_POOL_MIN - 1), undefined);
  assert.equal(pool.take(MAX_POOLED + 1), undefined);
  const a = pool.take(20_000)!;
  assert.equal(a.length, 20_000);
  assert.equal(a.byteOffset, 0);
  assert.equal(a.buffer.byteLength, 32_768, 'capacity: the next power of two');
  a.fill(0xaa);
  pool.release(a);
  assert.equal(pool.idleBytes, 32_768);
  const b = pool.take(17_000)!;
  assert.equal(b.buffer, a.buffer, 'the same memory, lent again');
  assert.equal(pool.idleBytes, 0);
  const whole = new Uint8Array(b.buffer);
  assert.ok(
    whole.subarray(17_000).every((x) => x === 0),
    'bytes of the earlier, longer frame past the new length are zeroed',
  );
});

test('release ignores what the pool did not lend, views of lent memory, second releases and stale arrays', () => {
  const pool = new FramePool();
  pool.release(new Uint8Array(8192)); // foreign
  assert.equal(pool.idleBytes, 0);
  const a = pool.take(8192)!;
  pool.release(a.subarray(0, 4096)); // a view of lent memory, not the lent array
  pool.release(new Uint8Array(a.buffer, 0, 8192)); // same bytes, another array
  assert.equal(pool.idleBytes, 0, 'still lent');
  pool.release(a);
  pool.release(a); // second release
  assert.equal(pool.idleBytes, 8192);
  const b = pool.take(8192)!;
  assert.equal(b.buffer, a.buffer);
  pool.release(a); // stale: its buffer was lent again as b
  assert.equal(pool.idleBytes, 0, 'a stale array cannot free memory lent since');
  assert.notEqual(pool.take(8192)!.buffer, b.buffer, 'b is still lent: the next frame gets other memory');
});

test('bounded: idle memory stays within 1 MiB and 16 buffers per capacity', () => {
  const pool = new FramePool();
  const frames = Array.from({ length: 64 }, () => pool.take(5000)!);
  for (const f of frames) pool.release(f);
  assert.equal(pool.idleBytes, 16 * 8192, '16 idle buffers of 8 KiB kept, the rest left to the GC');
  const big = Array.from({ length: 8 }, () => pool.take(MAX_POOLED)!);
  for (const f of big) pool.release(f);
  assert.ok(pool.idleBytes <= 1 << 20, `idle ${pool.idleBytes}`);
});

test('property: outstanding frames never share memory, each is zero past its length when lent, idle memory bounded', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('take' as const), length: fc.integer({ min: 1, max: 70_000 }) }),
    fc.record({ kind: fc.constant('release' as const), index: fc.nat() }),
    fc.record({ kind: fc.constant('rerelease' as const), index: fc.nat() }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const pool = new FramePool();
      const out: Uint8Array[] = [];
      const gone: Uint8Array[] = [];
      for (const o of ops) {
        if (o.kind === 'take') {
          const f = pool.take(o.length);
          if (o.length < FRAME_POOL_MIN) assert.equal(f, undefined);
          if (!f) continue;
          assert.equal(f.length, o.length);
          assert.ok(new Uint8Array(f.buffer).subarray(o.length).every((x) => x === 0));
          for (const g of out) assert.notEqual(g.buffer, f.buffer, 'two outstanding frames share memory');
          f.fill(0x5c); // the caller writes the whole frame
          out.push(f);
        } else if (o.kind === 'release' && out.length > 0) {
          const [f] = out.splice(o.index % out.length, 1);
          pool.release(f!);
          gone.push(f!);
        } else if (o.kind === 'rerelease' && gone.length > 0) pool.release(gone[o.index % gone.length]!);
        assert.ok(pool.idleBytes <= 1 << 20);
      }
    }),
    { numRuns: 300 },
  );
});
