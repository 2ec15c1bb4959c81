/**
 * Property: random byte mutations of a valid chain are never accepted, and verification only
 * ever fails with a HopsafeError. [SPEC 10.1] [SPEC 10.7]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createTestPki } from '../../src/testing/index.js';
import { createTrustStore } from '../../src/pki/index.js';
import { HopsafeError } from '../../src/errors/index.js';
import { parseCertificate } from '../../src/pki/x509.js';
import { parseCrl } from '../../src/pki/crl.js';
import { derObjects } from '../../src/codec/pem.js';
import { chainOf } from '../support/pki.js';

test('mutated chains are refused with HopsafeError only', async () => {
  const now = new Date();
  const pki = await createTestPki({ endpoints: [{ id: 'a', roles: ['OPERATOR'] }], intermediate: true, now });
  const chain = chainOf(pki.identities.a!.certificate);
  const store = createTrustStore(pki.trust());
  await store.verify({ chain, claimedId: 'a', now }); // warm: the unmutated chain is cached
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: chain.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      async (which, edits) => {
        const mutated = chain.map((c) => Uint8Array.from(c));
        const target = mutated[which]!;
        for (const [pos, xor] of edits) target[pos % target.length]! ^= xor;
        if (mutated.every((c, i) => Buffer.compare(c, chain[i]!) === 0)) return; // edits cancelled out
        try {
          await store.verify({ chain: mutated, claimedId: 'a', now });
          assert.fail('mutated chain accepted');
        } catch (e) {
          assert.ok(e instanceof HopsafeError, `non-HopsafeError: ${String(e)}`);
        }
      },
    ),
    { numRuns: 400 },
  );
});

test('truncations and extensions of a certificate are refused', async () => {
  const now = new Date();
  const pki = await createTestPki({ endpoints: [{ id: 'a' }], now });
  const [leaf] = chainOf(pki.identities.a!.certificate);
  const store = createTrustStore(pki.trust());
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: leaf!.length - 1 }), fc.uint8Array({ maxLength: 8 }), async (cut, tail) => {
      const bytes = new Uint8Array([...leaf!.subarray(0, cut), ...tail]);
      await assert.rejects(store.verify({ chain: [bytes], claimedId: 'a', now }), (e: unknown) => e instanceof HopsafeError);
    }),
    { numRuns: 200 },
  );
});

test('parsers throw only ERR_MALFORMED on random and mutated input', () => {
  const sample = createTestPki({ endpoints: [{ id: 'a' }] });
  return sample.then((pki) => {
    const crl = derObjects(pki.crl, ['X509 CRL'])[0]!;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        for (const parse of [parseCertificate, parseCrl]) {
          try {
            parse(bytes);
          } catch (e) {
            assert.ok(e instanceof HopsafeError && e.code === 'ERR_MALFORMED', String(e));
          }
        }
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (pos, xor) => {
        const m = Uint8Array.from(crl);
        m[pos % m.length]! ^= xor;
        try {
          parseCrl(m);
        } catch (e) {
          assert.ok(e instanceof HopsafeError && e.code === 'ERR_MALFORMED', String(e));
        }
      }),
      { numRuns: 300 },
    );
  });
});
