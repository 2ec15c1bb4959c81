/**
 * Published test vectors, run against BOTH providers. [SPEC 4]
 * Sources: RFC 5869, RFC 4231, RFC 7748, McGrew–Viega GCM, RFC 8439, RFC 8032, RFC 5903.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSync } from 'node:crypto';
import { concat, toHex } from '../../src/bytes/index.js';
import { vectors } from './vectors.js';
import { ed25519Pkcs8, ed25519Spki, providers } from '../support/crypto-fixtures.js';

const SLOW = process.env.HOPSAFE_SLOW === '1';
const hx = (b: Uint8Array | null): string => (b ? toHex(b) : 'null');

for (const p of providers) {
  test(`[${p.name}] RFC 5869 HKDF-SHA-256 test cases 1-3`, () => {
    for (const c of vectors.hkdf().cases) {
      const prk = p.hkdfExtract(c.hash, c.salt, c.ikm);
      assert.equal(hx(prk), hx(c.prk), `${c.name} PRK`);
      assert.equal(hx(p.hkdfExpand(c.hash, prk, c.info, c.length)), hx(c.okm), `${c.name} OKM`);
    }
  });

  test(`[${p.name}] HKDF-SHA-384 equals OpenSSL's HKDF (node:crypto hkdfSync) on the RFC 5869 inputs`, () => {
    // RFC 5869 has no SHA-384 vectors; hkdfSync is OpenSSL's own HKDF, a code path independent of both providers.
    for (const c of vectors.hkdf().cases) {
      for (const length of [1, 48, 49, 100, 255 * 48]) {
        const want = new Uint8Array(hkdfSync('sha384', c.ikm, c.salt, c.info, length));
        const got = p.hkdfExpand('sha384', p.hkdfExtract('sha384', c.salt, c.ikm), c.info, length);
        assert.equal(hx(got), hx(want), `${c.name} L=${length}`);
      }
    }
  });

  test(`[${p.name}] RFC 4231 HMAC-SHA-256 and HMAC-SHA-384 test cases 1-4, 6, 7`, () => {
    const cases = vectors.hmac().cases;
    assert.equal(cases.length, 6);
    for (const c of cases) {
      assert.equal(hx(p.hmac('sha256', c.key, c.data)), hx(c.sha256), `${c.name} SHA-256`);
      assert.equal(hx(p.hmac('sha384', c.key, c.data)), hx(c.sha384), `${c.name} SHA-384`);
    }
  });

  test(`[${p.name}] RFC 7748 §5.2 X25519 scalar multiplication`, () => {
    for (const c of vectors.x25519().scalarMult) assert.equal(hx(p.kexDerive('x25519', c.scalar, c.u)), hx(c.out), c.name);
  });

  for (const it of vectors.x25519().iterated) {
    // The 1000-iteration run costs about a second per provider; opt in with HOPSAFE_SLOW=1.
    const skip = it.iterations > 1 && !SLOW ? 'slow: set HOPSAFE_SLOW=1 to run the 1000-iteration ladder' : false;
    test(`[${p.name}] RFC 7748 §5.2 iterated X25519 ladder, ${it.iterations} iteration(s)`, { skip }, () => {
      // k = u = 9; then (k, u) ← (X25519(k, u), k).
      let k: Uint8Array = new Uint8Array(32);
      k[0] = 9;
      let u = k;
      for (let i = 0; i < it.iterations; i++) [k, u] = [p.kexDerive('x25519', k, u), k];
      assert.equal(hx(k), hx(it.k));
    });
  }

  test(`[${p.name}] RFC 7748 §6.1 X25519 Diffie-Hellman`, () => {
    const { dh } = vectors.x25519();
    const alice = p.kexKeyPair('x25519', dh.alicePrivate);
    const bob = p.kexKeyPair('x25519', dh.bobPrivate);
    assert.equal(hx(alice.publicKey), hx(dh.alicePublic));
    assert.equal(hx(bob.publicKey), hx(dh.bobPublic));
    assert.equal(hx(alice.privateKey), hx(dh.alicePrivate), 'private key returned as given');
    assert.equal(hx(p.kexDerive('x25519', dh.alicePrivate, dh.bobPublic)), hx(dh.shared));
    assert.equal(hx(p.kexDerive('x25519', dh.bobPrivate, dh.alicePublic)), hx(dh.shared));
  });

  test(`[${p.name}] GCM spec test cases 1-4, 13-16 and RFC 8439 §2.8.2 ChaCha20-Poly1305`, () => {
    const cases = vectors.aead().cases;
    assert.equal(cases.length, 9);
    for (const c of cases) {
      const sealed = p.aeadSeal(c.alg, c.key, c.nonce, c.plaintext, c.aad);
      assert.equal(hx(sealed), hx(concat(c.ciphertext, c.tag)), `${c.name} seal`);
      assert.equal(hx(p.aeadOpen(c.alg, c.key, c.nonce, sealed, c.aad)), hx(c.plaintext), `${c.name} open`);
      const bad = Uint8Array.from(sealed);
      bad[bad.length - 1]! ^= 0x01;
      assert.equal(p.aeadOpen(c.alg, c.key, c.nonce, bad, c.aad), null, `${c.name} tampered tag`);
    }
  });

  test(`[${p.name}] RFC 8032 §7.1 Ed25519 TEST 1-3: signature equals the RFC's, and verifies`, () => {
    for (const c of vectors.ed25519().cases) {
      const sk = p.importPrivateKey(ed25519Pkcs8(c.secret));
      const pk = p.importPublicKey(ed25519Spki(c.public));
      assert.equal(sk.signatureAlg, 'ed25519');
      assert.equal(sk.provider, p.name);
      assert.equal(pk.signatureAlg, 'ed25519');
      assert.equal(hx(pk.spki), hx(ed25519Spki(c.public)));
      assert.equal(hx(p.sign(sk, c.message)), hx(c.signature), `${c.name} sign`);
      assert.equal(p.verify(pk, c.message, c.signature), true, `${c.name} verify`);
      const bad = Uint8Array.from(c.signature);
      bad[0]! ^= 0x80;
      assert.equal(p.verify(pk, c.message, bad), false, `${c.name} tampered`);
    }
  });

  test(`[${p.name}] RFC 5903 §8.1 (P-256) and §8.2 (P-384) ECDH`, () => {
    for (const c of vectors.ecdh().cases) {
      assert.equal(hx(p.kexKeyPair(c.group, c.i).publicKey), hx(c.gi), `${c.name} g^i`);
      assert.equal(hx(p.kexKeyPair(c.group, c.r).publicKey), hx(c.gr), `${c.name} g^r`);
      assert.equal(hx(p.kexDerive(c.group, c.i, c.gr)), hx(c.shared), `${c.name} initiator`);
      assert.equal(hx(p.kexDerive(c.group, c.r, c.gi)), hx(c.shared), `${c.name} responder`);
    }
  });
}
