/** The MQTT topic mapping: unit and property tests. [SPEC 8.2] */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertPrefix, frameTopic, inboxFilter, parseFrameTopic } from '../../src/bindings/mqtt-topics.js';
import { ENDPOINT_ID_PATTERN } from '../../src/transport/transport.js';
import { isHopsafeError } from '../../src/errors/index.js';

const idChar = fc.constantFrom(...'ABCXYZabcxyz0189_.-'.split(''));
const endpointId = fc
  .tuple(fc.constantFrom(...'Aa0_'.split('')), fc.array(idChar, { maxLength: 63 }))
  .map(([first, rest]) => first + rest.join(''));
const prefixLevel = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const prefix = fc.array(prefixLevel, { minLength: 1, maxLength: 3 }).map((levels) => levels.join('/'));

test('[SPEC 8.2] a frame from A to B travels on {prefix}/{B}/{A}; the inbox filter is {prefix}/{self}/+', () => {
  assert.equal(frameTopic('hopsafe', 'der-1', 'control-center'), 'hopsafe/der-1/control-center');
  assert.equal(inboxFilter('hopsafe', 'der-1'), 'hopsafe/der-1/+');
  assert.equal(inboxFilter('site/7/hopsafe', 'cc'), 'site/7/hopsafe/cc/+');
});

test('[SPEC 8.2] parseFrameTopic inverts frameTopic for every valid prefix and pair of ids (property)', () => {
  fc.assert(
    fc.property(prefix, endpointId, endpointId, (p, to, from) => {
      assert.ok(ENDPOINT_ID_PATTERN.test(to) && ENDPOINT_ID_PATTERN.test(from));
      assert.deepEqual(parseFrameTopic(frameTopic(assertPrefix(p), to, from)), { prefix: p, to, from });
    }),
    { numRuns: 2000 },
  );
});

test('[SPEC 8.2] parseFrameTopic never throws and only accepts valid ids in the last two levels (property)', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (topic) => {
      const r = parseFrameTopic(topic);
      if (r) {
        assert.ok(ENDPOINT_ID_PATTERN.test(r.to) && ENDPOINT_ID_PATTERN.test(r.from) && r.prefix.length > 0);
        assert.equal(assertPrefix(r.prefix), r.prefix, 'the prefix of a frame topic is a valid prefix');
        assert.equal(`${r.prefix}/${r.to}/${r.from}`, topic);
      }
    }),
    { numRuns: 5000 },
  );
  for (const bad of ['', 'a', 'a/b', '/b/c', 'a/b/', 'a/+/c', 'a/b/#', 'a/b/c d', 'a/.b/c', 'a/b/-c', '$SYS/b/c', 'a/~x/b/c'])
    assert.equal(parseFrameTopic(bad), undefined, bad);
});

test('[SPEC 8.2, 13.9] a group topic {prefix}/~g/{publisher}/{group id} is never parsed as an inbox topic', () => {
  fc.assert(
    fc.property(prefix, endpointId, fc.uint8Array({ minLength: 16, maxLength: 16 }), (p, publisher, id) => {
      const groupId = Buffer.from(id).toString('hex');
      assert.equal(parseFrameTopic(`${assertPrefix(p)}/~g/${publisher}/${groupId}`), undefined);
    }),
    { numRuns: 1000 },
  );
});

test('[SPEC 8.2] prefixes with wildcards, empty levels, NUL or a leading $ are ERR_CONFIG; ids are ERR_INVALID_ID', () => {
  for (const bad of ['', '+', 'a/#', 'a//b', '/a', 'a/', '$SYS', '$hopsafe', 'a\u0000', 'x'.repeat(129), 7, null]) {
    assert.throws(
      () => assertPrefix(bad),
      (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG',
      String(bad),
    );
  }
  for (const good of ['hopsafe', 'a/b/c', 'x'.repeat(128), 'site-1/ems']) assert.equal(assertPrefix(good), good);
  assert.throws(
    () => frameTopic('hopsafe', 'b/c', 'a'),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_INVALID_ID',
  );
  assert.throws(
    () => frameTopic('hopsafe', 'b', '+'),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_INVALID_ID',
  );
  assert.throws(
    () => inboxFilter('hopsafe', '#'),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_INVALID_ID',
  );
});
