import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createSessionIndex } from '../../src/session/session-index.js';

test('[SPEC 5.9, 7.1] two peers may hold one session id; ending one leaves the other recognised', () => {
  const ix = createSessionIndex();
  ix.add('aa', 'victim');
  ix.add('aa', 'mallory'); // a trusted peer reusing an id read off the wire
  assert.equal(ix.heldByOther('aa', 'x'), true);
  assert.equal(ix.heldByOther('aa', 'victim'), true);
  ix.remove('aa', 'mallory');
  // A redirected copy of the victim's record from a third sender is still ERR_WRONG_PEER, not an unknown session.
  assert.equal(ix.heldByOther('aa', 'x'), true);
  assert.equal(ix.heldByOther('aa', 'victim'), false);
  ix.remove('aa', 'victim');
  assert.equal(ix.heldByOther('aa', 'x'), false);
  assert.equal(ix.size, 0);
});

test('[SPEC 7.1] the index agrees with a model under any add/remove sequence (adds are idempotent)', () => {
  const op = fc.record({ add: fc.boolean(), sid: fc.constantFrom('a', 'b', 'c'), peer: fc.constantFrom('p', 'q', 'r') });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), fc.constantFrom('p', 'q', 'r', 's'), (ops, who) => {
      const ix = createSessionIndex();
      const model = new Map<string, Set<string>>();
      for (const o of ops) {
        if (o.add) {
          ix.add(o.sid, o.peer);
          model.set(o.sid, (model.get(o.sid) ?? new Set()).add(o.peer));
        } else {
          ix.remove(o.sid, o.peer);
          model.get(o.sid)?.delete(o.peer);
          if (model.get(o.sid)?.size === 0) model.delete(o.sid);
        }
      }
      for (const sid of ['a', 'b', 'c']) {
        const m = model.get(sid);
        assert.equal(ix.heldByOther(sid, who), m !== undefined && [...m].some((p) => p !== who));
      }
      assert.equal(ix.size, model.size);
    }),
  );
});
