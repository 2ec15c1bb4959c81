/**
 * Error behaviour of both providers: bad local inputs are ERR_INPUT, bad peer/encoded values are
 * ERR_MALFORMED, what a provider cannot do is ERR_UNSUPPORTED; AEAD open failures are a bare null.
 * [SPEC 4.2] [SPEC 4.3] [SPEC 4.4]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { p256 } from '@noble/curves/nist.js';
import { concat, fromHex, toHex } from '../../src/bytes/index.js';
import type { AeadAlg, KexGroup } from '../../src/crypto/provider.js';
import { AEAD_KEY_LENGTH, HASH_LENGTH } from '../../src/crypto/provider.js';
import { ed25519Pkcs8, ed25519Spki, node, noble, nodeKeyPair, outcome, providers, throwsCode } from '../support/crypto-fixtures.js';
import { vectors } from './vectors.js';

const AEADS: readonly AeadAlg[] = ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'];
const GROUPS: readonly KexGroup[] = ['x25519', 'p256', 'p384', 'brainpoolP256r1'];
const FIELD: Readonly<Record<KexGroup, number>> = { x25519: 32, p256: 32, p384: 48, brainpoolP256r1: 32 };

/** DER TLV with a minimal definite length. */
function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(...content);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return concat(Uint8Array.from([tag, ...len]), body);
}
const OID_EC = fromHex('06072a8648ce3d0201');
const OID_P256 = fromHex('06082a8648ce3d030107');
const OID_P384 = fromHex('06052b81040022');
const OID_ED25519 = fromHex('06032b6570');

for (const p of providers) {
  test(`[${p.name}] AEAD: wrong key or nonce length is ERR_INPUT for seal and open`, () => {
    for (const alg of AEADS) {
      const kl = AEAD_KEY_LENGTH[alg];
      for (const bad of [0, 15, 16, 17, 24, 31, 32, 33].filter((n) => n !== kl)) {
        throwsCode(
          () => p.aeadSeal(alg, new Uint8Array(bad), new Uint8Array(12), new Uint8Array(1), new Uint8Array(0)),
          'ERR_INPUT',
          `${alg} key ${bad}`,
        );
        throwsCode(
          () => p.aeadOpen(alg, new Uint8Array(bad), new Uint8Array(12), new Uint8Array(17), new Uint8Array(0)),
          'ERR_INPUT',
          `${alg} key ${bad}`,
        );
      }
      for (const bad of [0, 8, 11, 13, 16, 24]) {
        throwsCode(
          () => p.aeadSeal(alg, new Uint8Array(kl), new Uint8Array(bad), new Uint8Array(1), new Uint8Array(0)),
          'ERR_INPUT',
          `${alg} nonce ${bad}`,
        );
        throwsCode(
          () => p.aeadOpen(alg, new Uint8Array(kl), new Uint8Array(bad), new Uint8Array(17), new Uint8Array(0)),
          'ERR_INPUT',
          `${alg} nonce ${bad}`,
        );
      }
    }
  });

  test(`[${p.name}] AEAD: open returns null (never throws) for short input, wrong key, wrong AAD`, () => {
    for (const alg of AEADS) {
      const key = new Uint8Array(AEAD_KEY_LENGTH[alg]).fill(7);
      const nonce = new Uint8Array(12).fill(1);
      const sealed = p.aeadSeal(alg, key, nonce, new Uint8Array([1, 2, 3]), new Uint8Array([9]));
      for (let n = 0; n < 16; n++) assert.equal(p.aeadOpen(alg, key, nonce, sealed.subarray(0, n), new Uint8Array([9])), null);
      const other = Uint8Array.from(key);
      other[0]! ^= 1;
      assert.equal(p.aeadOpen(alg, other, nonce, sealed, new Uint8Array([9])), null);
      assert.equal(p.aeadOpen(alg, key, nonce, sealed, new Uint8Array([8])), null);
      assert.equal(p.aeadOpen(alg, key, nonce, sealed, new Uint8Array(0)), null);
      // An empty plaintext seals to the tag alone and opens to empty.
      const tagOnly = p.aeadSeal(alg, key, nonce, new Uint8Array(0), new Uint8Array(0));
      assert.equal(tagOnly.length, 16);
      assert.equal(p.aeadOpen(alg, key, nonce, tagOnly, new Uint8Array(0))?.length, 0);
    }
  });

  test(`[${p.name}] HKDF-Expand: L beyond 255·HashLen, negative or fractional L, or a PRK shorter than HashLen is ERR_INPUT`, () => {
    for (const alg of ['sha256', 'sha384'] as const) {
      const hl = HASH_LENGTH[alg];
      const prk = new Uint8Array(hl).fill(3);
      assert.equal(p.hkdfExpand(alg, prk, new Uint8Array(0), 255 * hl).length, 255 * hl);
      assert.equal(p.hkdfExpand(alg, prk, new Uint8Array(0), 0).length, 0);
      throwsCode(() => p.hkdfExpand(alg, prk, new Uint8Array(0), 255 * hl + 1), 'ERR_INPUT');
      throwsCode(() => p.hkdfExpand(alg, prk, new Uint8Array(0), -1), 'ERR_INPUT');
      throwsCode(() => p.hkdfExpand(alg, prk, new Uint8Array(0), 1.5), 'ERR_INPUT');
      throwsCode(() => p.hkdfExpand(alg, prk.subarray(1), new Uint8Array(0), 16), 'ERR_INPUT');
    }
  });

  test(`[${p.name}] [SPEC 4.2] key exchange: a bad LOCAL private key is ERR_INPUT`, () => {
    for (const g of GROUPS) {
      const n = FIELD[g];
      const peer = p.kexKeyPair(g).publicKey;
      for (const len of [0, n - 1, n + 1]) {
        throwsCode(() => p.kexKeyPair(g, new Uint8Array(len).fill(1)), 'ERR_INPUT', `${g} keyPair len ${len}`);
        throwsCode(() => p.kexDerive(g, new Uint8Array(len).fill(1), peer), 'ERR_INPUT', `${g} derive len ${len}`);
      }
      if (g !== 'x25519') {
        // Scalars outside [1, n-1]: zero and all-ones (≥ n for every supported curve).
        for (const sk of [new Uint8Array(n), new Uint8Array(n).fill(0xff)]) {
          throwsCode(() => p.kexKeyPair(g, sk), 'ERR_INPUT', `${g} scalar ${toHex(sk).slice(0, 4)}`);
          throwsCode(() => p.kexDerive(g, sk, peer), 'ERR_INPUT', `${g} scalar ${toHex(sk).slice(0, 4)}`);
        }
      }
    }
  });

  test(`[${p.name}] [SPEC 4.2] X25519: every low-order peer value (incl. non-canonical and high-bit forms) is ERR_MALFORMED`, () => {
    const P = 2n ** 255n - 19n;
    const le = (x: bigint): Uint8Array => {
      const out = new Uint8Array(32);
      for (let i = 0; i < 32; i++) out[i] = Number((x >> BigInt(8 * i)) & 0xffn);
      return out;
    };
    // u of order dividing 8 on the curve or its twist: 0, 1, p-1 and the two order-8 points
    // (values from RFC 7748 §6.1's rationale / the libsodium blocklist), plus p and p+1 (≡ 0, 1).
    const low = [
      0n,
      1n,
      P - 1n,
      325606250916557431795983626356110631294008115727848805560023387167927233504n,
      39382357235489614581723060781553021112529911719440698176882885853963445705823n,
      P,
      P + 1n,
    ];
    const sk = p.kexKeyPair('x25519').privateKey;
    for (const u of low) {
      const enc = le(u);
      throwsCode(() => p.kexDerive('x25519', sk, enc), 'ERR_MALFORMED', `u=${u}`);
      const high = Uint8Array.from(enc);
      high[31]! |= 0x80; // the top bit is masked (RFC 7748 §5), so this is the same point
      throwsCode(() => p.kexDerive('x25519', sk, high), 'ERR_MALFORMED', `u=${u} with bit 255`);
    }
    for (const len of [0, 31, 33, 65]) throwsCode(() => p.kexDerive('x25519', sk, new Uint8Array(len).fill(9)), 'ERR_MALFORMED');
  });

  test(`[${p.name}] [SPEC 4.2] NIST/brainpool: compressed, hybrid, infinity, off-curve, foreign-curve and wrong-length points are ERR_MALFORMED`, () => {
    const { cases } = vectors.ecdh();
    const c = cases[0]!; // RFC 5903 P-256
    const gr = c.gr;
    const compressed = p256.Point.fromBytes(gr).toBytes(true);
    const offCurve = Uint8Array.from(gr);
    offCurve[64]! ^= 1;
    const hybrid = Uint8Array.from(gr);
    hybrid[0] = 0x06 | (gr[64]! & 1);
    const bad = {
      compressed,
      hybrid,
      infinity: Uint8Array.of(0),
      infinityPadded: new Uint8Array(65),
      offCurve,
      allOnes: concat(Uint8Array.of(4), new Uint8Array(64).fill(0xff)),
      p384Point: cases[1]!.gr,
      truncated: gr.subarray(0, 64),
      extended: concat(gr, Uint8Array.of(0)),
    };
    assert.equal(toHex(p.kexDerive('p256', c.i, gr)), toHex(c.shared), 'sanity: the valid point works');
    for (const [name, v] of Object.entries(bad)) throwsCode(() => p.kexDerive('p256', c.i, v), 'ERR_MALFORMED', name);
    if (p.supportsGroup('brainpoolP256r1')) {
      const sk = p.kexKeyPair('brainpoolP256r1').privateKey;
      throwsCode(() => p.kexDerive('brainpoolP256r1', sk, gr), 'ERR_MALFORMED', 'P-256 point on brainpool');
    }
  });

  test(`[${p.name}] [SPEC 4.4] malformed PKCS#8 / SPKI is ERR_MALFORMED`, () => {
    const ec = nodeKeyPair('ec', 'P-256');
    const ed = nodeKeyPair('ed25519');
    const overrun = Uint8Array.from(ec.pkcs8);
    overrun[7]! -= 1; // AlgorithmIdentifier length one short: its last child overruns it
    const bad: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      garbage: Uint8Array.of(1, 2, 3, 4),
      'truncated EC': ec.pkcs8.subarray(0, ec.pkcs8.length - 1),
      'truncated Ed25519': ed.pkcs8.subarray(0, 20),
      'length overrun': overrun,
      'a bare SEQUENCE': Uint8Array.of(0x30, 0),
      'trailing byte': concat(ec.pkcs8, Uint8Array.of(0)),
      'Ed25519 seed of 31 bytes': tlv(0x30, fromHex('020100'), tlv(0x30, OID_ED25519), tlv(0x04, tlv(0x04, new Uint8Array(31)))),
    };
    for (const [name, der] of Object.entries(bad)) throwsCode(() => p.importPrivateKey(der), 'ERR_MALFORMED', `PKCS#8 ${name}`);
    throwsCode(() => p.importPrivateKey(ec.spki), 'ERR_MALFORMED', 'SPKI given as PKCS#8');
    const badSpki: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      garbage: Uint8Array.of(0x30, 0x03, 0x02, 0x01),
      'truncated EC': ec.spki.subarray(0, ec.spki.length - 1),
      'trailing byte': concat(ec.spki, Uint8Array.of(0)),
      'PKCS#8 given as SPKI': ec.pkcs8,
      'Ed25519 key of 31 bytes': tlv(0x30, tlv(0x30, OID_ED25519), tlv(0x03, new Uint8Array(32))),
      'EC point off the curve': (() => {
        const s = Uint8Array.from(ec.spki);
        s[s.length - 1]! ^= 1;
        return s;
      })(),
    };
    for (const [name, der] of Object.entries(badSpki)) throwsCode(() => p.importPublicKey(der), 'ERR_MALFORMED', `SPKI ${name}`);
  });

  test(`[${p.name}] [SPEC 4.4] key types without a hopsafe signature algorithm are ERR_UNSUPPORTED`, () => {
    for (const [type, curve] of [['x25519'], ['ec', 'brainpoolP256r1'], ['ec', 'secp256k1']] as const) {
      const k = nodeKeyPair(type, curve);
      throwsCode(() => p.importPrivateKey(k.pkcs8), 'ERR_UNSUPPORTED', `${type} ${curve ?? ''} PKCS#8`);
      throwsCode(() => p.importPublicKey(k.spki), 'ERR_UNSUPPORTED', `${type} ${curve ?? ''} SPKI`);
    }
  });

  test(`[${p.name}] [SPEC 4.3] verify is false (never throws) for wrong-length, DER-encoded or garbage signatures`, () => {
    const ec = nodeKeyPair('ec', 'P-256');
    const ed = nodeKeyPair('ed25519');
    const msg = Uint8Array.of(1, 2, 3);
    for (const k of [ec, ed]) {
      const sk = p.importPrivateKey(k.pkcs8);
      const pk = p.importPublicKey(k.spki);
      const sig = p.sign(sk, msg);
      assert.equal(p.verify(pk, msg, sig), true);
      for (const s of [
        new Uint8Array(0),
        sig.subarray(1),
        concat(sig, Uint8Array.of(0)),
        new Uint8Array(sig.length),
        new Uint8Array(sig.length).fill(0xff),
      ])
        assert.equal(p.verify(pk, msg, s), false, `length ${s.length}`);
    }
    const ecSig = p.sign(p.importPrivateKey(ec.pkcs8), msg);
    const der = p256.Signature.fromBytes(ecSig, 'compact').toBytes('der');
    assert.equal(p.verify(p.importPublicKey(ec.spki), msg, der), false, 'DER (not P1363) ECDSA signature');
  });
}

test('[SPEC 4.4] RSA keys: the node provider imports them, the noble provider refuses them with ERR_UNSUPPORTED', () => {
  const k = nodeKeyPair('rsa');
  assert.equal(node.importPrivateKey(k.pkcs8).signatureAlg, 'rsa-pss-sha256');
  assert.equal(node.importPublicKey(k.spki).signatureAlg, 'rsa-pss-sha256');
  // noble refuses RSA whatever its size; a 1024-bit RSASSA-PSS key keeps the test fast.
  for (const [type, key] of [
    ['rsa', k],
    ['rsa-pss', nodeKeyPair('rsa-pss', undefined, 1024)],
  ] as const) {
    throwsCode(() => noble.importPrivateKey(key.pkcs8), 'ERR_UNSUPPORTED', `${type} PKCS#8`);
    throwsCode(() => noble.importPublicKey(key.spki), 'ERR_UNSUPPORTED', `${type} SPKI`);
  }
});

test('[SPEC 4.4] handles: provider name, signatureAlg, spki copy; no secret in the enumerable shape; foreign handles are ERR_INPUT', () => {
  const ec = nodeKeyPair('ec', 'P-384');
  const sk = noble.importPrivateKey(ec.pkcs8);
  const pk = noble.importPublicKey(ec.spki);
  assert.deepEqual({ ...sk }, { kind: 'private', provider: 'noble', signatureAlg: 'ecdsa-p384-sha384' });
  assert.equal(pk.kind, 'public');
  assert.equal(pk.provider, 'noble');
  assert.equal(pk.signatureAlg, 'ecdsa-p384-sha384');
  assert.equal(toHex(pk.spki), toHex(ec.spki));
  assert.notEqual(pk.spki, ec.spki, 'spki is a copy');
  assert.ok(Object.isFrozen(sk) && Object.isFrozen(pk));
  assert.equal(JSON.stringify(sk), '{"kind":"private","provider":"noble","signatureAlg":"ecdsa-p384-sha384"}');
  const nodeSk = node.importPrivateKey(ec.pkcs8);
  const nodePk = node.importPublicKey(ec.spki);
  throwsCode(() => noble.sign(nodeSk, Uint8Array.of(1)), 'ERR_INPUT');
  throwsCode(() => noble.verify(nodePk, Uint8Array.of(1), new Uint8Array(96)), 'ERR_INPUT');
  throwsCode(() => node.sign(sk, Uint8Array.of(1)), 'ERR_INPUT');
  throwsCode(() => node.verify(pk, Uint8Array.of(1), new Uint8Array(96)), 'ERR_INPUT');
  // A public handle cannot sign, nor a private one verify.
  throwsCode(() => noble.sign(pk as never, Uint8Array.of(1)), 'ERR_INPUT');
  throwsCode(() => noble.verify(sk as never, Uint8Array.of(1), new Uint8Array(96)), 'ERR_INPUT');
  // A look-alike object is not a handle.
  throwsCode(() => noble.sign({ kind: 'private', provider: 'noble', signatureAlg: 'ed25519' }, Uint8Array.of(1)), 'ERR_INPUT');
});

test('[SPEC 4.4] PKCS#8 variants: ECPrivateKey without public key / with [0] parameters / short scalar; bad [0], foreign public key, scalar 0 or n; Ed25519 OneAsymmetricKey v2 (noble)', () => {
  const scalar = noble.kexKeyPair('p256').privateKey;
  const pub = noble.kexKeyPair('p256', scalar).publicKey;
  const spki = tlv(0x30, tlv(0x30, OID_EC, OID_P256), tlv(0x03, Uint8Array.of(0), pub));
  const wrap = (ecpk: Uint8Array) => tlv(0x30, fromHex('020100'), tlv(0x30, OID_EC, OID_P256), tlv(0x04, ecpk));
  const bare = wrap(tlv(0x30, fromHex('020101'), tlv(0x04, scalar)));
  const withParams = wrap(tlv(0x30, fromHex('020101'), tlv(0x04, scalar), tlv(0xa0, OID_P256)));
  const withBoth = wrap(tlv(0x30, fromHex('020101'), tlv(0x04, scalar), tlv(0xa0, OID_P256), tlv(0xa1, tlv(0x03, Uint8Array.of(0), pub))));
  const msg = Uint8Array.of(5);
  for (const der of [bare, withParams, withBoth]) {
    for (const p of providers) {
      const sig = p.sign(p.importPrivateKey(der), msg);
      for (const q of providers) assert.equal(q.verify(q.importPublicKey(spki), msg, sig), true, `${p.name} → ${q.name}`);
    }
  }
  const otherPub = noble.kexKeyPair('p256').publicKey;
  const ecpk = (sc: Uint8Array, ...rest: Uint8Array[]) => wrap(tlv(0x30, fromHex('020101'), tlv(0x04, sc), ...rest));
  const n = p256.Point.Fn.ORDER;
  const nBytes = fromHex(n.toString(16).padStart(64, '0'));
  for (const p of providers) {
    // [0] naming a different curve than the AlgorithmIdentifier.
    throwsCode(() => p.importPrivateKey(ecpk(scalar, tlv(0xa0, OID_P384))), 'ERR_MALFORMED', `${p.name} [0] mismatch`);
    // The embedded public key of another key (OpenSSL alone would ignore it).
    throwsCode(() => p.importPrivateKey(ecpk(scalar, tlv(0xa1, tlv(0x03, Uint8Array.of(0), otherPub)))), 'ERR_KEY_MISMATCH', p.name);
    // Scalars outside [1, n-1] (OpenSSL alone would accept 0 and n).
    throwsCode(() => p.importPrivateKey(ecpk(new Uint8Array(32))), 'ERR_MALFORMED', `${p.name} scalar 0`);
    throwsCode(() => p.importPrivateKey(ecpk(nBytes)), 'ERR_MALFORMED', `${p.name} scalar n`);
    // A short scalar is left-padded; leading zero octets are tolerated.
    const short = scalar.subarray(scalar.findIndex((b) => b !== 0));
    const padded = concat(Uint8Array.of(0, 0), scalar);
    for (const sc of [short, padded]) assert.equal(p.verify(p.importPublicKey(spki), msg, p.sign(p.importPrivateKey(ecpk(sc)), msg)), true);
  }

  // Ed25519 OneAsymmetricKey v2 (RFC 5958) with the public key: accepted when it matches.
  const v = vectors.ed25519().cases[0]!;
  const v2 = (pk: Uint8Array) =>
    tlv(0x30, fromHex('020101'), tlv(0x30, OID_ED25519), tlv(0x04, tlv(0x04, v.secret)), tlv(0x81, Uint8Array.of(0), pk));
  // (OpenSSL 3.0 behind the node provider does not read v2 structures; noble does.)
  assert.equal(toHex(noble.sign(noble.importPrivateKey(v2(v.public)), v.message)), toHex(v.signature));
  throwsCode(() => noble.importPrivateKey(v2(new Uint8Array(32).fill(1))), 'ERR_KEY_MISMATCH');
  assert.equal(toHex(noble.sign(noble.importPrivateKey(ed25519Pkcs8(v.secret)), v.message)), toHex(v.signature));
  assert.equal(noble.verify(noble.importPublicKey(ed25519Spki(v.public)), v.message, v.signature), true);
});

test('[SPEC 4.4] Node 20 process-abort inputs are refused before node:crypto sees them (regression)', () => {
  // An EC SPKI whose point is the one-byte infinity encoding 0x00: Node 20's asymmetricKeyDetails
  // aborts the whole process on it. So does a PKCS#8 whose EC scalar is longer than the field.
  const infinity = tlv(0x30, tlv(0x30, OID_EC, OID_P256), tlv(0x03, Uint8Array.of(0, 0)));
  const longScalar = tlv(
    0x30,
    fromHex('020100'),
    tlv(0x30, OID_EC, OID_P256),
    tlv(0x04, tlv(0x30, fromHex('020101'), tlv(0x04, new Uint8Array(40).fill(1)))),
  );
  for (const p of providers) {
    throwsCode(() => p.importPublicKey(infinity), 'ERR_MALFORMED', `${p.name} infinity`);
    throwsCode(() => p.importPrivateKey(longScalar), 'ERR_MALFORMED', `${p.name} long scalar`);
  }
});

test('[SPEC 4.4] key parsing: arbitrary bytes and single-byte mutations of real keys get the SAME outcome in both providers, and only HopsafeErrors', () => {
  const keys = [nodeKeyPair('ec', 'P-256'), nodeKeyPair('ec', 'P-384'), nodeKeyPair('ed25519'), nodeKeyPair('x25519')];
  const codes = new Set(['err:ERR_MALFORMED', 'err:ERR_UNSUPPORTED', 'err:ERR_KEY_MISMATCH']);
  const ok = (s: string): boolean => s.startsWith('ok:');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 160 }), (junk) => {
      for (const p of providers) {
        const a = outcome(() => (p.importPrivateKey(junk), true));
        const b = outcome(() => (p.importPublicKey(junk), true));
        assert.ok(codes.has(a), `${p.name} PKCS#8: ${a}`);
        assert.ok(codes.has(b), `${p.name} SPKI: ${b}`);
      }
    }),
    { numRuns: 200 },
  );
  fc.assert(
    fc.property(fc.nat({ max: keys.length - 1 }), fc.boolean(), fc.nat(), fc.integer({ min: 1, max: 255 }), (ki, priv, r, x) => {
      const k = keys[ki]!;
      const der = Uint8Array.from(priv ? k.pkcs8 : k.spki);
      der[r % der.length]! ^= x;
      const run = (p: typeof node) => outcome(() => (priv ? p.importPrivateKey(der) : p.importPublicKey(der), true));
      const a = run(noble);
      assert.ok(ok(a) || codes.has(a), `noble: ${a}`);
      assert.equal(run(node), a, 'node and noble disagree');
      if (!priv && ok(a) && ki < 3) {
        // Both accepted the same (mutated) public key: they must agree on a signature over it.
        const sig = node.sign(node.importPrivateKey(k.pkcs8), Uint8Array.of(1));
        assert.equal(
          noble.verify(noble.importPublicKey(der), Uint8Array.of(1), sig),
          node.verify(node.importPublicKey(der), Uint8Array.of(1), sig),
        );
      }
    }),
    { numRuns: 250 },
  );
});

test('noble randomBytes: right length, not constant, ERR_INPUT on a bad length', () => {
  assert.equal(noble.randomBytes(0).length, 0);
  const a = noble.randomBytes(32);
  const b = noble.randomBytes(32);
  assert.equal(a.length, 32);
  assert.notEqual(toHex(a), toHex(b));
  throwsCode(() => noble.randomBytes(-1), 'ERR_INPUT');
  throwsCode(() => noble.randomBytes(1.5), 'ERR_INPUT');
});

test('[SPEC 4.4] node randomBytes: right lengths, never a byte handed out twice across block refills, ERR_INPUT on a bad length', () => {
  assert.equal(node.randomBytes(0).length, 0);
  // 300 draws of 32 bytes cross the 4 KiB block twice; 256-bit draws repeating would mean reused pool bytes
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const r = node.randomBytes(32);
    assert.equal(r.length, 32);
    assert.equal(Object.getPrototypeOf(r), Uint8Array.prototype);
    seen.add(toHex(r));
  }
  assert.equal(seen.size, 300);
  // odd sizes around the block end, and a draw larger than the pooled ones
  for (const n of [1, 7, 255, 256, 257, 1000, 5000]) assert.equal(node.randomBytes(n).length, n);
  const a = node.randomBytes(16);
  const b = node.randomBytes(16);
  assert.notEqual(toHex(a), toHex(b));
  throwsCode(() => node.randomBytes(-1), 'ERR_INPUT');
  throwsCode(() => node.randomBytes(1.5), 'ERR_INPUT');
  assert.notEqual(toHex(node.randomBytes(32)), toHex(node.randomBytes(32)));
});
