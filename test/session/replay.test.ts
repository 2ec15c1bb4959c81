import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { REPLAY_WINDOW, ReplayWindow } from '../../src/session/replay.js';

function accept(w: ReplayWindow, seq: number): boolean {
  if (!w.check(seq)) return false;
  w.commit(seq);
  return true;
}

test('[SPEC 7.4] duplicates are refused, in-order accepted', () => {
  const w = new ReplayWindow();
  for (let i = 0; i < 200; i++) assert.equal(accept(w, i), true);
  for (let i = 200 - REPLAY_WINDOW; i < 200; i++) assert.equal(accept(w, i), false);
});

test('[SPEC 7.4] frames 64 or more below the highest are refused', () => {
  const w = new ReplayWindow();
  accept(w, 100);
  assert.equal(w.check(100 - REPLAY_WINDOW), false);
  assert.equal(w.check(100 - REPLAY_WINDOW + 1), true);
});

test('[SPEC 7.4] any permutation inside the window, with duplicates, is accepted exactly once', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1000 }),
      fc.shuffledSubarray([...Array(REPLAY_WINDOW).keys()], { minLength: REPLAY_WINDOW, maxLength: REPLAY_WINDOW }),
      fc.array(fc.nat(REPLAY_WINDOW - 1), { maxLength: 40 }),
      (base, perm, dups) => {
        const w = new ReplayWindow();
        const order = [...perm.map((p) => base + p)];
        // duplicates inserted at random later positions
        for (const d of dups) order.splice(Math.min(order.length, d + 1), 0, base + (perm[d] ?? 0));
        const accepted = new Map<number, number>();
        for (const s of order) if (accept(w, s)) accepted.set(s, (accepted.get(s) ?? 0) + 1);
        assert.equal(accepted.size, REPLAY_WINDOW);
        for (const n of accepted.values()) assert.equal(n, 1);
      },
    ),
  );
});

test('[SPEC 7.4] a large jump clears the window', () => {
  const w = new ReplayWindow();
  accept(w, 5);
  accept(w, 1000);
  assert.equal(w.check(5), false);
  assert.equal(w.check(999), true);
  assert.equal(w.check(1000), false);
});
