/** Bounded, sans-I/O limits on unauthenticated input. [SPEC 3.6, 5.7] */
import { sha256Hex } from '../../src/pki/x509.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AlertLimiter, HandshakeAdmission } from '../../src/session/admission.js';

const limits = { handshakesPerSecond: 500, handshakesPerSecondPerPeer: 10, maxConcurrentHandshakes: 2, knownPeerChecksPerSecond: 3 };

test('[SPEC 3.6] one hint per (peer, session, code) per second: a spoofer using other ids or codes cannot use up a genuine one', () => {
  const l = new AlertLimiter({ perSecond: 1000 }, 0);
  assert.equal(l.allow('p', 'aa', 'ERR_UNKNOWN_SESSION', 0), true);
  assert.equal(l.allow('p', 'aa', 'ERR_UNKNOWN_SESSION', 500), false);
  assert.equal(l.allow('p', 'bb', 'ERR_UNKNOWN_SESSION', 500), true, 'another session of the same peer');
  assert.equal(l.allow('p', 'aa', 'ERR_STALE', 500), true, 'another code');
  assert.equal(l.allow('p', 'aa', 'ERR_UNKNOWN_SESSION', 1000), true, 'a second later');
});

test('[SPEC 3.6] the global hint rate holds whatever the keys', () => {
  const l = new AlertLimiter({ perSecond: 10 }, 0);
  let allowed = 0;
  for (let i = 0; i < 1000; i++) if (l.allow(`forged-${i}`, 'aa', 'ERR_UNKNOWN_SESSION', 0)) allowed++;
  assert.equal(allowed, 10);
});

test('[SPEC 5.7] admission: concurrency bound, per-sender bucket, release once; authenticated HS_INITs take no token', () => {
  const a = new HandshakeAdmission(limits, 0);
  const r1 = a.admit('s', 0, false);
  const r2 = a.admit('s', 0, false);
  assert.ok(r1 && r2);
  assert.equal(a.admit('t', 0, true), undefined, 'concurrency bound');
  r1();
  r1();
  assert.equal(a.verifying, 1, 'a release counts once');
  r2();
  let n = 0;
  for (let i = 0; i < 10; i++) {
    const r = a.admit('s', 0, false);
    if (r) {
      n++;
      r();
    }
  }
  assert.equal(n, 2, 'burst 4 per sender: 2 left');
  const r = a.admit('s', 0, true);
  assert.ok(r, 'an authenticated HS_INIT is admitted with the bucket empty');
});

test('[SPEC 5.7] known peers: a key only for the same leaf, within the check budget', () => {
  const a = new HandshakeAdmission(limits, 0);
  const leaf = Uint8Array.of(1, 2, 3);
  const key = { signatureAlg: 'ed25519' } as never;
  a.remember('p', { fingerprint: sha256Hex(leaf), publicKey: key });
  assert.equal(a.knownKey('p', Uint8Array.of(1, 2, 4), 0), undefined, 'another certificate');
  assert.equal(a.knownKey('q', leaf, 0), undefined, 'another sender');
  const got = [0, 1, 2, 3].map(() => a.knownKey('p', leaf, 0));
  assert.deepEqual(
    got.map((k) => k === key),
    [true, true, true, false],
    'knownPeerChecksPerSecond',
  );
});

test('[SPEC 5.7] property: however many forged ids, the per-sender state stays within its LRU bound', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 300 }), (ids) => {
      const a = new HandshakeAdmission({ ...limits, maxConcurrentHandshakes: 1e9 }, 0);
      for (const id of ids) a.admit(id, 0, false);
      const size = (a as unknown as { perSender: { size: number } }).perSender.size;
      return size <= Math.min(new Set(ids).size, 4096);
    }),
    { numRuns: 200 },
  );
});
