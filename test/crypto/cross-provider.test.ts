/**
 * Cross-provider properties: node:crypto and noble agree byte for byte on every deterministic
 * operation, and interoperate on the randomized ones. [SPEC 4]
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { p256, p384 } from '@noble/curves/nist.js';
import { toHex } from '../../src/bytes/index.js';
import type { AeadAlg, CryptoProvider, HashAlg, KexGroup, PrivateKeyHandle, PublicKeyHandle } from '../../src/crypto/provider.js';
import { AEAD_KEY_LENGTH, HASH_LENGTH } from '../../src/crypto/provider.js';
import { node, noble, nodeKeyPair, outcome, pairs, type DerKeyPair } from '../support/crypto-fixtures.js';

const RUNS = { numRuns: 60 };
const hx = (b: Uint8Array | null): string => (b ? toHex(b) : 'null');
const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength });
const hashAlg = fc.constantFrom<HashAlg>('sha256', 'sha384');
const aeadAlg = fc.constantFrom<AeadAlg>('aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305');
const GROUPS: readonly KexGroup[] = ['x25519', 'p256', 'p384', 'brainpoolP256r1'];

/** A random AEAD input with a key of the right length for its algorithm. */
const aeadInput = aeadAlg.chain((alg) =>
  fc.record({
    alg: fc.constant(alg),
    key: bytes(AEAD_KEY_LENGTH[alg], AEAD_KEY_LENGTH[alg]),
    nonce: bytes(12, 12),
    plaintext: bytes(200),
    aad: bytes(40),
  }),
);

test('[SPEC 4] hash and HMAC are identical across providers', () => {
  fc.assert(
    fc.property(hashAlg, bytes(300), bytes(200), (alg, key, data) => {
      assert.equal(hx(node.hash(alg, data)), hx(noble.hash(alg, data)));
      assert.equal(noble.hash(alg, data).length, noble.hashLength(alg));
      assert.equal(hx(node.hmac(alg, key, data)), hx(noble.hmac(alg, key, data)));
    }),
    RUNS,
  );
});

test('[SPEC 4] HKDF extract/expand are identical across providers (including empty salt and L = 0)', () => {
  fc.assert(
    fc.property(hashAlg, bytes(80), bytes(80), bytes(60), fc.nat({ max: 600 }), (alg, salt, ikm, info, length) => {
      const prk = node.hkdfExtract(alg, salt, ikm);
      assert.equal(hx(noble.hkdfExtract(alg, salt, ikm)), hx(prk));
      assert.equal(prk.length, HASH_LENGTH[alg]);
      assert.equal(hx(noble.hkdfExpand(alg, prk, info, length)), hx(node.hkdfExpand(alg, prk, info, length)));
    }),
    RUNS,
  );
});

test('[SPEC 4] AEAD seal is identical across providers and opens in the other', () => {
  fc.assert(
    fc.property(aeadInput, ({ alg, key, nonce, plaintext, aad }) => {
      const sealed = node.aeadSeal(alg, key, nonce, plaintext, aad);
      assert.equal(hx(noble.aeadSeal(alg, key, nonce, plaintext, aad)), hx(sealed));
      assert.equal(sealed.length, plaintext.length + 16);
      for (const [a, b] of pairs) {
        const s = a.aeadSeal(alg, key, nonce, plaintext, aad);
        assert.equal(hx(b.aeadOpen(alg, key, nonce, s, aad)), hx(plaintext), `${a.name} → ${b.name}`);
      }
    }),
    RUNS,
  );
});

test('[SPEC 4] any single bit flip in sealed data, AAD or nonce makes open return null in both providers', () => {
  const flip = (b: Uint8Array, bit: number): Uint8Array => {
    const c = Uint8Array.from(b);
    c[bit >> 3]! ^= 1 << (bit & 7);
    return c;
  };
  fc.assert(
    fc.property(aeadInput, fc.constantFrom('sealed', 'aad', 'nonce'), fc.nat(), (inp, where, r) => {
      const { alg, key, nonce, plaintext, aad } = inp;
      for (const [a, b] of pairs) {
        const sealed = a.aeadSeal(alg, key, nonce, plaintext, aad);
        const target = where === 'sealed' ? sealed : where === 'aad' ? aad : nonce;
        if (target.length === 0) return; // nothing to flip (empty AAD)
        const bit = r % (target.length * 8);
        const s2 = where === 'sealed' ? flip(sealed, bit) : sealed;
        const a2 = where === 'aad' ? flip(aad, bit) : aad;
        const n2 = where === 'nonce' ? flip(nonce, bit) : nonce;
        for (const p of [a, b]) assert.equal(p.aeadOpen(alg, key, n2, s2, a2), null, `${where} bit ${bit} in ${p.name}`);
      }
    }),
    { numRuns: 100 },
  );
});

test('[SPEC 4] truncated or extended sealed data never opens', () => {
  fc.assert(
    fc.property(aeadInput, fc.integer({ min: -40, max: 3 }), ({ alg, key, nonce, plaintext, aad }, delta) => {
      fc.pre(delta !== 0);
      const sealed = node.aeadSeal(alg, key, nonce, plaintext, aad);
      const changed =
        delta < 0 ? sealed.subarray(0, Math.max(0, sealed.length + delta)) : Uint8Array.from([...sealed, ...new Uint8Array(delta)]);
      for (const p of [node, noble]) assert.equal(p.aeadOpen(alg, key, nonce, changed, aad), null);
    }),
    RUNS,
  );
});

for (const group of GROUPS) {
  test(`[SPEC 4.2] ${group}: key pairs and shared secrets are identical both ways across providers`, (t) => {
    if (!node.supportsGroup(group)) return t.skip(`this OpenSSL build has no ${group}`);
    assert.equal(noble.supportsGroup(group), true);
    for (let i = 0; i < 4; i++) {
      const a = node.kexKeyPair(group);
      const b = noble.kexKeyPair(group);
      // The public value is a function of the private key, the same in both providers.
      assert.equal(hx(noble.kexKeyPair(group, a.privateKey).publicKey), hx(a.publicKey));
      assert.equal(hx(node.kexKeyPair(group, b.privateKey).publicKey), hx(b.publicKey));
      const s = node.kexDerive(group, a.privateKey, b.publicKey);
      assert.equal(s.length, group === 'p384' ? 48 : 32);
      assert.equal(hx(noble.kexDerive(group, b.privateKey, a.publicKey)), hx(s));
      assert.equal(hx(noble.kexDerive(group, a.privateKey, b.publicKey)), hx(s));
      assert.equal(hx(node.kexDerive(group, b.privateKey, a.publicKey)), hx(s));
    }
  });
}

test('[SPEC 4.2] X25519: for ANY 32-byte peer value both providers give the same secret or both refuse (ERR_MALFORMED)', () => {
  fc.assert(
    fc.property(bytes(32, 32), bytes(32, 32), (sk, peer) => {
      const a = outcome(() => node.kexDerive('x25519', sk, peer));
      assert.equal(
        outcome(() => noble.kexDerive('x25519', sk, peer)),
        a,
      );
      assert.ok(a.startsWith('ok:') || a === 'err:ERR_MALFORMED', a);
    }),
    { numRuns: 25 },
  );
});

test('[SPEC 4.2] P-256/P-384: a peer point with any bit flipped is refused by both providers alike', () => {
  const groups = ['p256', 'p384'] as const;
  const keys = groups.map((g) => ({ g, me: node.kexKeyPair(g), peer: noble.kexKeyPair(g) }));
  fc.assert(
    fc.property(fc.constantFrom(0, 1), fc.nat(), (gi, r) => {
      const { g, me, peer } = keys[gi]!;
      const bad = Uint8Array.from(peer.publicKey);
      const bit = r % (bad.length * 8);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      const a = outcome(() => node.kexDerive(g, me.privateKey, bad));
      assert.equal(
        outcome(() => noble.kexDerive(g, me.privateKey, bad)),
        a,
      );
      assert.equal(a, 'err:ERR_MALFORMED'); // off the curve (or not 0x04) with overwhelming probability
    }),
    { numRuns: 60 },
  );
});

interface Imported {
  readonly sk: Record<string, PrivateKeyHandle>;
  readonly pk: Record<string, PublicKeyHandle>;
}
function importBoth(k: DerKeyPair): Imported {
  return {
    sk: { node: node.importPrivateKey(k.pkcs8), noble: noble.importPrivateKey(k.pkcs8) },
    pk: { node: node.importPublicKey(k.spki), noble: noble.importPublicKey(k.spki) },
  };
}
const prov = (p: CryptoProvider): 'node' | 'noble' => (p === node ? 'node' : 'noble');

const ecdsaKeys: Record<'P-256' | 'P-384', Imported[]> = { 'P-256': [], 'P-384': [] };
const edKeys: Imported[] = [];
before(() => {
  // Keys made by node:crypto (generateKeyPairSync), exported as PKCS#8/SPKI DER, imported into both providers.
  for (const curve of ['P-256', 'P-384'] as const) for (let i = 0; i < 3; i++) ecdsaKeys[curve].push(importBoth(nodeKeyPair('ec', curve)));
  for (let i = 0; i < 3; i++) edKeys.push(importBoth(nodeKeyPair('ed25519')));
});

for (const curve of ['P-256', 'P-384'] as const) {
  test(`[SPEC 4.3] ECDSA ${curve}: signed in one provider, verified in the other (both directions)`, () => {
    const alg = curve === 'P-256' ? 'ecdsa-p256-sha256' : 'ecdsa-p384-sha384';
    const sigLen = curve === 'P-256' ? 64 : 96;
    fc.assert(
      fc.property(fc.nat({ max: 2 }), bytes(300), fc.nat(), (ki, msg, r) => {
        const k = ecdsaKeys[curve][ki]!;
        for (const [a, b] of pairs) {
          assert.equal(k.sk[prov(a)]!.signatureAlg, alg);
          assert.equal(k.pk[prov(b)]!.signatureAlg, alg);
          const sig = a.sign(k.sk[prov(a)]!, msg);
          assert.equal(sig.length, sigLen, 'IEEE P1363 r||s');
          assert.equal(b.verify(k.pk[prov(b)]!, msg, sig), true, `${a.name} → ${b.name}`);
          const bad = Uint8Array.from(sig);
          const bit = r % (bad.length * 8);
          bad[bit >> 3]! ^= 1 << (bit & 7);
          assert.equal(b.verify(k.pk[prov(b)]!, msg, bad), false, 'flipped signature bit');
          const other = Uint8Array.from([...msg, 0]);
          assert.equal(b.verify(k.pk[prov(b)]!, other, sig), false, 'other message');
        }
      }),
      { numRuns: curve === 'P-256' ? 15 : 8 },
    );
  });

  test(`[SPEC 4.3] ECDSA ${curve}: high-S signatures (as node may make them) verify in both providers`, () => {
    const curveImpl = curve === 'P-256' ? p256 : p384;
    const n = curveImpl.Point.Fn.ORDER;
    const len = curve === 'P-256' ? 32 : 48;
    const k = ecdsaKeys[curve][0]!;
    const msg = new TextEncoder().encode('high-S');
    const low = noble.sign(k.sk.noble!, msg);
    const s = BigInt('0x' + toHex(low.subarray(len)));
    assert.ok(s <= n / 2n, 'noble emits low-S');
    const high = Uint8Array.from(low);
    high.set(Buffer.from((n - s).toString(16).padStart(len * 2, '0'), 'hex'), len);
    for (const p of [node, noble]) assert.equal(p.verify(k.pk[prov(p)]!, msg, high), true, `${p.name} accepts high-S`);
    // And node's own randomized signatures: about half are high-S; all verify in noble.
    let sawHigh = false;
    for (let i = 0; i < 16 && !sawHigh; i++) {
      const sig = node.sign(k.sk.node!, msg);
      sawHigh ||= BigInt('0x' + toHex(sig.subarray(len))) > n / 2n;
      assert.equal(noble.verify(k.pk.noble!, msg, sig), true);
    }
    assert.ok(sawHigh, 'no high-S signature in 16 node signatures (probability 2^-16)');
  });
}

test('[SPEC 4.3] Ed25519: node-made keys give identical signatures in both providers, verified across', () => {
  fc.assert(
    fc.property(fc.nat({ max: 2 }), bytes(300), (ki, msg) => {
      const k = edKeys[ki]!;
      const sig = node.sign(k.sk.node!, msg);
      assert.equal(hx(noble.sign(k.sk.noble!, msg)), hx(sig));
      assert.equal(noble.verify(k.pk.noble!, msg, sig), true);
      assert.equal(node.verify(k.pk.node!, msg, sig), true);
      const other = Uint8Array.from([...msg, 1]);
      assert.equal(noble.verify(k.pk.noble!, other, sig), false);
    }),
    { numRuns: 25 },
  );
});
