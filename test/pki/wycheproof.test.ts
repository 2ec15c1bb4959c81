/**
 * Wycheproof (C2SP/wycheproof, Apache-2.0; files and origin in test/pki/conformance/) through BOTH crypto
 * providers via their CryptoProvider interface, and item 7 of issue 15. [SPEC 4.2] [SPEC 4.4]
 * Every vector must pass or be an expected deviation by one of DEVIATION_RULES, with exactly the counts below:
 * a new failure, or a pass turning into a deviation, fails the job. The RFC vectors stay in test/crypto/vectors.test.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { providers } from '../support/crypto-fixtures.js';
import { fromHex, toHex } from '../../src/bytes/index.js';
import { HopsafeError } from '../../src/errors/index.js';
import { DEVIATION_RULES, runWycheproofFile, WYCHEPROOF_FILES } from './conformance/wycheproof.js';

/** Expected deviations per file (the same for both providers). */
const EXPECTED_DEVIATIONS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'aes_gcm_test.json': { 'aead-params': 150 },
};

describe('Wycheproof through both providers [SPEC 4.4]', () => {
  test('the deviation rules name their reason', () => {
    for (const r of Object.values(EXPECTED_DEVIATIONS).flatMap((d) => Object.keys(d))) assert.ok(DEVIATION_RULES[r], r);
    assert.equal(WYCHEPROOF_FILES.length, 14);
  });
  for (const p of providers)
    for (const file of WYCHEPROOF_FILES)
      test(`[${p.name}] ${file}: no failure, only the expected deviations`, () => {
        const o = runWycheproofFile(p, file);
        assert.deepEqual(o.failures, [], `${file}: ${o.failures.length} failing vectors`);
        assert.deepEqual(o.deviations, EXPECTED_DEVIATIONS[file] ?? {}, `${file}: deviations`);
        assert.ok(o.counts.pass > 0);
      });
});

describe('issue 15 item 7: ECDH edge case, both providers agree [SPEC 4.2]', () => {
  // Wycheproof ecdh_secp256r1/384r1_ecpoint tcId 3, "shared secret has x-coordinate that satisfies x**2 = 0" (valid)
  const cases = [
    {
      group: 'p256' as const,
      priv: '0a0d622a47e48f6bc1038ace438c6f528aa00ad2bd1da5f13ee46bf5f633d71a',
      pub: '0458fd4168a87795603e2b04390285bdca6e57de6027fe211dd9d25e2212d29e62080d36bd224d7405509295eed02a17150e03b314f96da37445b0d1d29377d12c',
      len: 32,
    },
    {
      group: 'p384' as const,
      priv: 'a2b6442a37f8a3759d2cb91df5eca75b14f5a6766da8035cc1943b15a8e4ebb6025f373be334080f22ab821a3535a6a7',
      pub: '04490e96d17f4c6ceccd45def408cea33e9704a5f1b01a3de2eaaa3409fd160d78d395d6b3b003d71fd1f590fad95bf1c9d8665efc2070d059aa847125c2f707435955535c7c5df6d6c079ec806dce6b6849d337140db7ca50616f9456de1323c4',
      len: 48,
    },
  ];
  for (const c of cases)
    test(`${c.group}: the all-zero x-coordinate is a valid shared secret in node and noble`, () => {
      for (const p of providers) assert.equal(toHex(p.kexDerive(c.group, fromHex(c.priv), fromHex(c.pub))), '00'.repeat(c.len), p.name);
    });
  test('X25519 still refuses the all-zero output (low-order u = 0 and u = 1) in both', () => {
    const sk = fromHex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4');
    for (const p of providers)
      for (const u of ['00'.repeat(32), `01${'00'.repeat(31)}`])
        assert.throws(
          () => p.kexDerive('x25519', sk, fromHex(u)),
          (e: unknown) => e instanceof HopsafeError && e.code === 'ERR_MALFORMED',
          `${p.name} u=${u.slice(0, 2)}`,
        );
  });
});
