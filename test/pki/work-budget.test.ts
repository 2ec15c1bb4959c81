/**
 * Item 1 of issue 15: path building has a work budget. [SPEC 10.2]
 * The shape of x509-limbo `pathological::pathological-chain-same-subject-same-key`: a pool of CAs that share
 * one subject and one key (each verifies every other's signature) used to make the depth-first search
 * exponential and synchronous (7…11 CAs: 49 ms … 5.1 s; 100 never finished).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createTrustStore, REFUSAL_CODES } from '../../src/pki/index.js';
import { MAX_SIGNATURE_CHECKS } from '../../src/pki/trust-store.js';
import { encodeName, issueCertificate, spkiOf } from '../../src/pki/issue.js';
import { DAY, ecKey, miniCa, rejectsWith } from '../support/pki.js';

const now = new Date();
const validity = { notBefore: new Date(now.getTime() - DAY), notAfter: new Date(now.getTime() + 30 * DAY) };

/** `n` CAs with subject = issuer = "CN=pool", one key, each self-signed by it; a leaf issued under that name. */
function samePool(n: number) {
  const key = ecKey();
  const spki = spkiOf(key);
  const name = encodeName('pathological pool');
  const pool = Array.from({ length: n }, () =>
    issueCertificate({ subject: name, issuer: name, ...validity, publicKey: spki, ca: true, issuerSpki: spki }, { key }),
  );
  const leaf = issueCertificate(
    {
      subject: encodeName('example.com'),
      issuer: name,
      ...validity,
      publicKey: ecKey(),
      keyUsage: ['digitalSignature'],
      san: { dns: ['example.com'] },
      issuerSpki: spki,
    },
    { key },
  );
  return { key, spki, name, pool, leaf };
}

describe('path building work budget [SPEC 10.2]', () => {
  test('100 same-subject same-key CAs and an unrelated root: refused ERR_CERT_UNTRUSTED in a few ms', async () => {
    const root = miniCa('x509-limbo-root', now);
    const { pool, leaf } = samePool(100);
    const store = createTrustStore({ roots: [root.der], intermediates: pool });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      store.clearCache();
      const t0 = performance.now();
      const err = await rejectsWith(store.verify({ chain: [leaf], claimedId: 'example.com', now }), 'ERR_CERT_UNTRUSTED', 'pool of 100');
      times.push(performance.now() - t0);
      assert.match(err.message, /^path-budget:/);
    }
    assert.equal(REFUSAL_CODES['path-budget'], 'ERR_CERT_UNTRUSTED');
    const best = Math.min(...times);
    // Measured ≈ 3 ms on the shared 2-core machine (32 P-256 verifications); the bound is generous.
    assert.ok(best < 250, `decided in ${best.toFixed(1)} ms`);
  });

  test('the time no longer grows with the pool: 7, 11 and 100 CAs all decided within the budget', async () => {
    const root = miniCa('root', now);
    for (const n of [7, 11, 100]) {
      const { pool, leaf } = samePool(n);
      const store = createTrustStore({ roots: [root.der], intermediates: pool });
      const t0 = performance.now();
      await rejectsWith(store.verify({ chain: [leaf], claimedId: 'example.com', now }), 'ERR_CERT_UNTRUSTED', `pool of ${n}`);
      assert.ok(performance.now() - t0 < 250, `${n} CAs: ${(performance.now() - t0).toFixed(1)} ms`);
    }
  });

  test('a real path is still found among 100 same-subject same-key decoys (candidates issued under a root name first)', async () => {
    const root = miniCa('root', now);
    const { key, spki, name, pool, leaf } = samePool(100);
    const real = issueCertificate(
      { subject: name, issuer: root.name, ...validity, publicKey: spki, ca: true, issuerSpki: root.spki },
      { key: root.key },
    );
    const store = createTrustStore({ roots: [root.der], intermediates: [...pool, real] });
    const peer = await store.verify({ chain: [leaf], claimedId: 'example.com', now });
    assert.equal(peer.id, 'example.com');
    void key;
  });

  test(`budget: at most ${MAX_SIGNATURE_CHECKS} signature checks, memoised ones included (the outcome does not depend on earlier validations)`, async () => {
    const root = miniCa('root', now);
    const { pool, leaf } = samePool(40);
    const store = createTrustStore({ roots: [root.der], intermediates: pool });
    for (let i = 0; i < 3; i++) {
      store.clearCache();
      const err = await rejectsWith(store.verify({ chain: [leaf], claimedId: 'example.com', now }), 'ERR_CERT_UNTRUSTED');
      assert.match(err.message, /^path-budget:/);
    }
  });
});
