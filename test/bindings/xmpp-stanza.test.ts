import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  XMPP_DEFAULT_MAX_FRAME_SIZE,
  assertXmppId,
  decodeFrameText,
  defaultIdFor,
  defaultJidFor,
  encodeFrameText,
  maxFrameSizeForStanzaLimit,
  splitJid,
} from '../../src/bindings/xmpp-stanza.js';
import { isLoopbackService } from '../../src/bindings/xmpp-stanza.js';

test('[SPEC 8.4] base64 frame text round-trips any bytes; decoding is strict', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const text = encodeFrameText(bytes);
      assert.match(text, /^[A-Za-z0-9+/]*={0,2}$/);
      assert.deepEqual(decodeFrameText(text), bytes);
    }),
  );
  for (const bad of ['AQ', 'AQ=', 'AQJ=', 'AQ I=', 'AQ==\n', '!!!!', 'AQ==AQ==', '=AQ='])
    assert.equal(decodeFrameText(bad), undefined, JSON.stringify(bad));
  assert.deepEqual(decodeFrameText(''), new Uint8Array(0));
});

test('[SPEC 8.4] default maxFrameSize fits the 256 KiB stanza limit with 2 KiB for the envelope', () => {
  assert.equal(XMPP_DEFAULT_MAX_FRAME_SIZE, 195072);
  assert.ok((XMPP_DEFAULT_MAX_FRAME_SIZE / 3) * 4 + 2048 <= 256 * 1024);
  assert.equal(maxFrameSizeForStanzaLimit(10_000, 0), 7500);
});

test('[SPEC 8.4] id ↔ JID mapping: localpart, same domain, lower-case ids only', () => {
  assert.equal(defaultJidFor('der-1', 'localhost'), 'der-1@localhost');
  assert.throws(() => defaultJidFor('DER-1', 'localhost'), { code: 'ERR_INVALID_ID' });
  assert.throws(() => assertXmppId('a/b'), { code: 'ERR_INVALID_ID' });
  assert.equal(defaultIdFor('der-1@localhost', 'localhost'), 'der-1');
  assert.equal(defaultIdFor('der-1@LocalHost', 'localhost'), 'der-1');
  assert.equal(defaultIdFor('der-1@evil.example', 'localhost'), undefined);
  assert.equal(defaultIdFor('localhost', 'localhost'), undefined);
  assert.equal(defaultIdFor('-x@localhost', 'localhost'), undefined);
  assert.deepEqual(splitJid('a@b/c/d'), { local: 'a', domain: 'b', resource: 'c/d' });
  assert.ok(isLoopbackService('xmpp://127.0.0.1:5222'));
  assert.ok(isLoopbackService('xmpp://localhost'));
  assert.ok(!isLoopbackService('xmpp://example.org:5222'));
});
