/**
 * [SPEC 7.1] Order of receive checks inside a session: session id, epoch, replay window, tag, payload — the first
 * failing check decides the code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../src/bytes/index.js';
import { codeOf } from '../support/codes.js';
import { handshake, makePair } from '../support/session-pair.js';

const flipLast = (f: Uint8Array): Uint8Array => {
  const g = f.slice();
  g[g.length - 1] = (g[g.length - 1] as number) ^ 1;
  return g;
};

test('[SPEC 7.1, 7.4] which code wins: session before epoch before replay before tag', async () => {
  const { sa, sb } = await handshake(await makePair({ keyType: 'ed25519' }));
  const t = Date.now();
  const f = sa.seal(utf8('x'));
  assert.equal(
    codeOf(() => sb.open(f, t)),
    'accepted',
  );
  // a duplicate is ERR_REPLAY whether or not its tag is intact
  assert.equal(
    codeOf(() => sb.open(f, t)),
    'ERR_REPLAY',
  );
  assert.equal(
    codeOf(() => sb.open(flipLast(f), t)),
    'ERR_REPLAY',
  );
  // a fresh record with a bad tag is ERR_BAD_MAC, and does not move the window: the genuine one is still accepted
  const g = sa.seal(utf8('y'));
  assert.equal(
    codeOf(() => sb.open(flipLast(g), t)),
    'ERR_BAD_MAC',
  );
  assert.equal(
    codeOf(() => sb.open(g, t)),
    'accepted',
  );
  // an unknown epoch is ERR_UNKNOWN_EPOCH before any replay or MAC work
  const e5 = f.slice();
  e5[10] = 5;
  assert.equal(
    codeOf(() => sb.open(flipLast(e5), t)),
    'ERR_UNKNOWN_EPOCH',
  );
  // another session id is ERR_UNKNOWN_SESSION before the epoch check
  const other = e5.slice();
  other[1] = (other[1] as number) ^ 0xff;
  assert.equal(
    codeOf(() => sb.open(other, t)),
    'ERR_UNKNOWN_SESSION',
  );
  // a truncated header is ERR_MALFORMED before everything else
  assert.equal(
    codeOf(() => sb.open(other.subarray(0, 11), t)),
    'ERR_MALFORMED',
  );
  // a KEY_UPDATE of epoch receiveEpoch + 1 is not held: ERR_UNKNOWN_EPOCH
  sa.keyUpdate(t);
  const ku2 = sa.keyUpdate(t); // sealed under epoch 1, which sb does not have yet
  assert.equal(
    codeOf(() => sb.open(ku2, t)),
    'ERR_UNKNOWN_EPOCH',
  );
});
