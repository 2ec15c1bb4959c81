import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HopsafeError } from '../../src/errors/index.js';
import { assertGroupAddress, splitGroupAddress } from '../../src/transport/group-address.js';
import { groupTopic, parseGroupTopic } from '../../src/bindings/mqtt-groups.js';
import { assertPrefix, frameTopic, inboxFilter, parseFrameTopic } from '../../src/bindings/mqtt-topics.js';
import { groupAddressFromKey, groupRoutingKey } from '../../src/bindings/amqp-groups.js';
import { bindingKey, routingKey, senderFromKey } from '../../src/bindings/amqp-routing.js';

const id = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}$/);
const hex = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
const code = (c: string) => (e: unknown) => e instanceof HopsafeError && e.code === c;

/** MQTT filter matching (+ one level, # the rest). */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

test('[SPEC 13.9] group addresses: {publisher}/{32 hex}; anything else ERR_INPUT', () => {
  assert.deepEqual(splitGroupAddress(`der.1/${'ab'.repeat(16)}`), { publisher: 'der.1', groupId: 'ab'.repeat(16) });
  for (const bad of [
    'ab'.repeat(16),
    `der/${'AB'.repeat(16)}`,
    `der/${'ab'.repeat(15)}`,
    `-x/${'ab'.repeat(16)}`,
    `a/b/${'ab'.repeat(16)}`,
    7,
  ])
    assert.throws(() => assertGroupAddress(bad), code('ERR_INPUT'), String(bad));
});

test('[SPEC 13.9, 8.2] MQTT: a group topic is never an inbox topic, and no inbox filter matches one', () => {
  fc.assert(
    fc.property(id, hex, id, id, id, (pub, g, self, to, from) => {
      const a = `${pub}/${g}`;
      const gt = groupTopic('hopsafe', a);
      assert.equal(gt, `hopsafe/~g/${pub}/${g}`);
      assert.equal(parseGroupTopic('hopsafe', gt), a);
      assert.equal(matches(inboxFilter('hopsafe', self), gt), false);
      const parsed = parseFrameTopic(gt);
      assert.ok(parsed === undefined || parsed.prefix !== 'hopsafe', 'never an inbox of this prefix');
      assert.equal(parseGroupTopic('hopsafe', frameTopic('hopsafe', to, from)), undefined);
    }),
  );
  assert.throws(() => assertPrefix('hopsafe/~g'), code('ERR_CONFIG'));
  assert.throws(() => assertPrefix('~x'), code('ERR_CONFIG'));
});

test('[SPEC 13.9, 8.3] AMQP: a group routing key is never an inbox key, and no inbox binding matches one', () => {
  fc.assert(
    fc.property(id, hex, id, id, id, (pub, g, self, to, from) => {
      const a = `${pub}/${g}`;
      for (const prefix of ['', 'hopsafe']) {
        const k = groupRoutingKey(prefix, a);
        assert.equal(groupAddressFromKey(prefix, k), a);
        assert.equal(senderFromKey(prefix, self, k), undefined);
        // binding `[prefix.]{w(self)}.*`: the word after the prefix is '~g', never an id word
        assert.notEqual(k.split('.')[prefix ? 1 : 0], bindingKey(prefix, self).split('.')[prefix ? 1 : 0]);
        assert.equal(groupAddressFromKey(prefix, routingKey(prefix, to, from)), undefined);
      }
    }),
  );
});
