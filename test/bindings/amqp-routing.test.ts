import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bindingKey, idToWord, routingKey, senderFromKey, wordToId } from '../../src/bindings/amqp-routing.js';
import { ENDPOINT_ID_PATTERN } from '../../src/transport/transport.js';

const idArb = fc.stringMatching(ENDPOINT_ID_PATTERN);

test('[SPEC 8.3] routing key {to}.{from}, binding {self}.*, ids with dots written with /', () => {
  assert.equal(routingKey('', 'bob', 'alice'), 'bob.alice');
  assert.equal(routingKey('hopsafe', 'der.1', 'cc'), 'hopsafe.der/1.cc');
  assert.equal(bindingKey('', 'bob'), 'bob.*');
  assert.equal(bindingKey('a.b', 'x.y'), 'a.b.x/y.*');
  assert.equal(senderFromKey('', 'bob', 'bob.alice'), 'alice');
  assert.equal(senderFromKey('hopsafe', 'der.1', 'hopsafe.der/1.c/c'), 'c.c');
});

test('[SPEC 8.3] malformed keys yield no sender', () => {
  assert.equal(senderFromKey('', 'bob', 'bob'), undefined);
  assert.equal(senderFromKey('', 'bob', 'bob.a.b'), undefined);
  assert.equal(senderFromKey('', 'bob', 'carol.alice'), undefined);
  assert.equal(senderFromKey('p', 'bob', 'q.bob.alice'), undefined);
  assert.equal(senderFromKey('', 'bob', 'bob.-x'), undefined);
  assert.equal(senderFromKey('', 'bob', 'bob.'), undefined);
  assert.throws(() => routingKey('a.*', 'b', 'c'), { code: 'ERR_CONFIG' });
  assert.throws(() => routingKey('a..b', 'b', 'c'), { code: 'ERR_CONFIG' });
});

test('[SPEC 8.3] property: id ↔ word is reversible and the sender parses back', () => {
  fc.assert(
    fc.property(idArb, idArb, fc.constantFrom('', 'hopsafe', 'a.b-c'), (to, from, prefix) => {
      assert.equal(wordToId(idToWord(to)), to);
      assert.ok(!idToWord(to).includes('.'));
      assert.equal(senderFromKey(prefix, to, routingKey(prefix, to, from)), from);
    }),
  );
});
