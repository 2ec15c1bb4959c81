/**
 * ML-KEM-768 (FIPS 203) in both providers against NIST ACVP vectors (keyGen, encapsulation, decapsulation with
 * implicit rejection, encapsulation-key check), and the hybrid X25519MLKEM768 composition. [SPEC 4.2, 4.4]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { x25519 } from '@noble/curves/ed25519.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { concat, toHex } from '../../src/bytes/index.js';
import { completeAgreement, initiatorEphemeral, respondAgreement, updateGroup, X25519MLKEM768 } from '../../src/crypto/key-agreement.js';
import { ML_KEM_768 } from '../../src/crypto/ml-kem.js';
import { deterministicRng } from '../../src/testing/vectors.js';
import { codeOf } from '../support/codes.js';
import { pairs, providers } from '../support/crypto-fixtures.js';
import { vectors } from './vectors.js';

const v = vectors.mlKem768();
const hx = toHex;

for (const p of providers) {
  test(`[SPEC 4.4] ML-KEM-768 keyGen (ACVP, ${v.keyGen.length} cases, ${p.name}): seed d ‖ z gives ek and dk`, () => {
    assert.ok(v.keyGen.length >= 3);
    for (const t of v.keyGen) {
      const kp = p.kemKeyPair('ml-kem-768', concat(t.d, t.z));
      assert.equal(hx(kp.encapsulationKey), hx(t.ek), `tcId ${t.tcId} ek`);
      assert.equal(hx(kp.decapsulationKey), hx(t.dk), `tcId ${t.tcId} dk`);
    }
  });

  test(`[SPEC 4.4] ML-KEM-768 encapsulation (ACVP, ${p.name}): ek and m give c and K`, () => {
    for (const t of v.encapsulation) {
      const e = p.kemEncapsulate('ml-kem-768', t.ek, t.m);
      assert.equal(hx(e.ciphertext), hx(t.c), `tcId ${t.tcId} c`);
      assert.equal(hx(e.sharedSecret), hx(t.k), `tcId ${t.tcId} K`);
    }
  });

  test(`[SPEC 4.4] ML-KEM-768 decapsulation (ACVP, ${p.name}): valid ciphertexts give K, modified ones the implicit-rejection K̄ without an error`, () => {
    const reasons = new Set(v.decapsulation.tests.map((t) => t.reason));
    assert.deepEqual([...reasons].sort(), ['modified ciphertext', 'valid decapsulation']);
    for (const t of v.decapsulation.tests)
      assert.equal(hx(p.kemDecapsulate('ml-kem-768', v.decapsulation.dk, t.c)), hx(t.k), `tcId ${t.tcId} (${t.reason})`);
    // the decapsulation key is not consumed: a second decapsulation gives the same secret
    const t0 = v.decapsulation.tests[0]!;
    assert.equal(hx(p.kemDecapsulate('ml-kem-768', v.decapsulation.dk, t0.c)), hx(t0.k));
  });

  test(`[SPEC 4.4] ML-KEM-768 encapsulation-key check (ACVP modulus check, ${p.name}): failing keys are ERR_MALFORMED`, () => {
    const results = v.encapsulationKeyCheck.map((t) => t.testPassed);
    assert.ok(results.includes(true) && results.includes(false), 'both outcomes covered');
    for (const t of v.encapsulationKeyCheck)
      assert.equal(
        codeOf(() => p.kemEncapsulate('ml-kem-768', t.ek)),
        t.testPassed ? 'accepted' : 'ERR_MALFORMED',
        `tcId ${t.tcId}`,
      );
  });

  test(`[SPEC 4.4] ML-KEM-768 lengths (${p.name}): peer values of the wrong length are ERR_MALFORMED, local inputs ERR_INPUT`, () => {
    const kp = p.kemKeyPair('ml-kem-768');
    assert.deepEqual([kp.encapsulationKey.length, kp.decapsulationKey.length], [1184, 2400]);
    const e = p.kemEncapsulate('ml-kem-768', kp.encapsulationKey);
    assert.deepEqual([e.ciphertext.length, e.sharedSecret.length], [1088, 32]);
    assert.equal(hx(p.kemDecapsulate('ml-kem-768', kp.decapsulationKey, e.ciphertext)), hx(e.sharedSecret));
    assert.equal(
      codeOf(() => p.kemEncapsulate('ml-kem-768', kp.encapsulationKey.subarray(1))),
      'ERR_MALFORMED',
    );
    assert.equal(
      codeOf(() => p.kemEncapsulate('ml-kem-768', concat(kp.encapsulationKey, new Uint8Array(1)))),
      'ERR_MALFORMED',
    );
    assert.equal(
      codeOf(() => p.kemDecapsulate('ml-kem-768', kp.decapsulationKey, e.ciphertext.subarray(1))),
      'ERR_MALFORMED',
    );
    assert.equal(
      codeOf(() => p.kemDecapsulate('ml-kem-768', kp.decapsulationKey.subarray(1), e.ciphertext)),
      'ERR_INPUT',
    );
    assert.equal(
      codeOf(() => p.kemKeyPair('ml-kem-768', new Uint8Array(63))),
      'ERR_INPUT',
    );
    assert.equal(
      codeOf(() => p.kemEncapsulate('ml-kem-768', kp.encapsulationKey, new Uint8Array(31))),
      'ERR_INPUT',
    );
    // a decapsulation key whose embedded H(ek) is wrong fails FIPS 203's hash check: a local defect
    const bad = Uint8Array.from(kp.decapsulationKey);
    bad[2400 - 40]! ^= 1;
    assert.equal(
      codeOf(() => p.kemDecapsulate('ml-kem-768', bad, e.ciphertext)),
      'ERR_INPUT',
    );
  });
}

const rng = (label: string) => deterministicRng(new TextEncoder().encode(label));

for (const [a, b] of pairs) {
  test(`[SPEC 4.2, 6.2] X25519MLKEM768 (${a.name} initiator, ${b.name} responder): shares 1216/1120 bytes, DHS = ML-KEM ss ‖ X25519 ss, same on both sides`, () => {
    const mine = initiatorEphemeral(a, 'x25519mlkem768', rng('i'));
    assert.equal(mine.publicKey.length, X25519MLKEM768.initiatorShare);
    assert.equal(mine.privateKey.length, 32 + 2400);
    const r = respondAgreement(b, 'x25519mlkem768', mine.publicKey, rng('r'));
    assert.equal(r.share.length, X25519MLKEM768.responderShare);
    assert.equal(r.secret.length, 64);
    const s = completeAgreement(a, 'x25519mlkem768', mine, r.share);
    assert.equal(hx(s), hx(r.secret));
    // independently with noble's primitives: the order of the two secrets and of the share parts
    const xss = x25519.getSharedSecret(mine.privateKey.subarray(0, 32), r.share.subarray(0, 32));
    const kss = ml_kem768.decapsulate(r.share.subarray(32), mine.privateKey.subarray(32));
    assert.equal(hx(s), hx(concat(kss, xss)), 'ML-KEM secret first, then X25519');
    assert.equal(hx(mine.publicKey.subarray(0, 32)), hx(x25519.getPublicKey(mine.privateKey.subarray(0, 32))), 'X25519 public first');
    assert.equal(hx(mine.publicKey.subarray(32)), hx(ml_kem768.getPublicKey(mine.privateKey.subarray(32))), 'then the ML-KEM ek');
    // [SPEC 11.1] deterministic: the same streams give the same bytes in the other provider
    const mine2 = initiatorEphemeral(b, 'x25519mlkem768', rng('i'));
    assert.equal(hx(mine2.publicKey), hx(mine.publicKey));
    assert.equal(hx(respondAgreement(a, 'x25519mlkem768', mine.publicKey, rng('r')).share), hx(r.share));
  });

  test(`[SPEC 4.2, 4.4] X25519MLKEM768 (${a.name}/${b.name}): wrong-length shares and bad parts are ERR_MALFORMED; a changed ciphertext silently gives another DHS`, () => {
    const mine = initiatorEphemeral(a, 'x25519mlkem768');
    for (const share of [
      mine.publicKey.subarray(1),
      concat(mine.publicKey, new Uint8Array(1)),
      mine.publicKey.subarray(0, 32),
      new Uint8Array(0),
    ])
      assert.equal(
        codeOf(() => respondAgreement(b, 'x25519mlkem768', share)),
        'ERR_MALFORMED',
        `initiator share of ${share.length} bytes`,
      );
    const lowOrder = concat(new Uint8Array(32), mine.publicKey.subarray(32));
    assert.equal(
      codeOf(() => respondAgreement(b, 'x25519mlkem768', lowOrder)),
      'ERR_MALFORMED',
      'low-order X25519 part',
    );
    const badEk = Uint8Array.from(mine.publicKey);
    badEk.set([0xff, 0xff], 32); // first ML-KEM coefficient 4095 ≥ q: fails the modulus check
    assert.equal(
      codeOf(() => respondAgreement(b, 'x25519mlkem768', badEk)),
      'ERR_MALFORMED',
      'ek fails the modulus check',
    );
    const r = respondAgreement(b, 'x25519mlkem768', mine.publicKey);
    for (const share of [r.share.subarray(1), concat(r.share, new Uint8Array(1)), mine.publicKey])
      assert.equal(
        codeOf(() => completeAgreement(a, 'x25519mlkem768', mine, share)),
        'ERR_MALFORMED',
        `responder share of ${share.length} bytes`,
      );
    const altered = Uint8Array.from(r.share);
    altered[32 + 500]! ^= 0x10;
    const s = completeAgreement(a, 'x25519mlkem768', mine, altered);
    assert.equal(s.length, 64);
    assert.notEqual(hx(s), hx(r.secret), 'implicit rejection: another secret, no error');
    assert.equal(hx(s.subarray(32)), hx(r.secret.subarray(32)), 'the X25519 half is unaffected');
  });
}

test('[SPEC 7.2] key updates of a hybrid session use X25519; DH groups update in their own group', () => {
  assert.equal(updateGroup('x25519mlkem768'), 'x25519');
  for (const g of ['x25519', 'p256', 'p384', 'brainpoolP256r1'] as const) assert.equal(updateGroup(g), g);
  assert.equal(ML_KEM_768.ciphertext + 32, X25519MLKEM768.responderShare);
});
