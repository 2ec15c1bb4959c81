/** `hopsafe/testing` createTestPki: shape, defaults and speed. [SPEC 10.6] */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki, createTestPkiSync } from '../../src/testing/index.js';
import { createTrustStore, parseCertificate } from '../../src/pki/index.js';
import { derObjects, encodePem } from '../../src/codec/pem.js';
import { encodeName, issueCertificate } from '../../src/pki/issue.js';
import { generateKeyPairSync } from 'node:crypto';

test('shape: roots, identities (PEM chain leaf first + PKCS#8), empty CRL', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'control-center', roles: ['OPERATOR'] }, { id: 'der-17' }] });
  assert.equal(pki.roots.length, 1);
  assert.match(pki.roots[0]!, /^-----BEGIN CERTIFICATE-----/);
  assert.deepEqual(Object.keys(pki.identities).sort(), ['control-center', 'der-17']);
  const id = pki.identities['control-center']!;
  assert.match(id.privateKey, /^-----BEGIN PRIVATE KEY-----/);
  const chain = derObjects(id.certificate, ['CERTIFICATE']).map(parseCertificate);
  assert.equal(chain.length, 1, 'depth 2: the chain sent is the leaf only');
  assert.deepEqual(chain[0]!.commonNames, ['control-center']);
  assert.equal(chain[0]!.publicKey?.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'P-256 by default');
  assert.match(pki.crl, /^-----BEGIN X509 CRL-----/);
  const deep = await createTestPki({ endpoints: [{ id: 'a' }], intermediate: true, keyType: 'p384' });
  assert.equal(derObjects(deep.identities.a!.certificate, ['CERTIFICATE']).length, 2, 'depth 3: leaf + intermediate');
  assert.equal(deep.intermediates.length, 1);
});

test('two test PKIs do not trust each other', async () => {
  const now = new Date();
  const a = await createTestPki({ endpoints: [{ id: 'x' }], now });
  const b = await createTestPki({ endpoints: [{ id: 'x' }], now });
  await assert.rejects(
    createTrustStore(a.trust()).verify({ chain: derObjects(b.identities.x!.certificate, ['CERTIFICATE']), claimedId: 'x', now }),
    { code: 'ERR_CERT_UNTRUSTED' },
  );
});

test('`now` positions the validity windows', async () => {
  const now = new Date('2030-06-01T00:00:00Z');
  const pki = await createTestPki({ endpoints: [{ id: 'x' }], now });
  const store = createTrustStore(pki.trust());
  const chain = derObjects(pki.identities.x!.certificate, ['CERTIFICATE']);
  await store.verify({ chain, claimedId: 'x', now });
  await assert.rejects(store.verify({ chain, claimedId: 'x', now: new Date('2026-01-01T00:00:00Z') }), { code: 'ERR_CERT_NOT_YET_VALID' });
});

test('fast: 20 PKIs with 3 P-256 endpoints in well under a second each', async () => {
  const t = performance.now();
  for (let i = 0; i < 20; i++) await createTestPki({ endpoints: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
  const each = (performance.now() - t) / 20;
  console.log(`# createTestPki (3 endpoints, P-256): ${each.toFixed(2)} ms`);
  assert.ok(each < 250, `${each} ms`);
});

test('`ca`: an existing root CA issues the leaves, the CRL and the broken certificates; a key of another CA is refused', async () => {
  const now = new Date();
  // a vendor's ca.pem + ca.key
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const name = encodeName('ACME root', 'ACME');
  const caPem = encodePem(
    'CERTIFICATE',
    issueCertificate(
      {
        subject: name,
        issuer: name,
        notBefore: new Date(now.getTime() - 86_400_000),
        notAfter: new Date(now.getTime() + 365 * 86_400_000),
        publicKey: key,
        ca: true,
      },
      { key },
    ),
  );
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pki = await createTestPki({ endpoints: [{ id: 'x' }], now, ca: { certificate: caPem, privateKey: keyPem }, organization: 'ACME' });
  const chain = (pem: string): Uint8Array[] => derObjects(pem, ['CERTIFICATE']);
  assert.deepEqual(chain(pki.roots[0]!), chain(caPem), 'roots hold the given CA');
  const store = createTrustStore({ roots: [caPem], crls: [pki.crl] });
  assert.equal((await store.verify({ chain: chain(pki.identities.x!.certificate), claimedId: 'x', now })).id, 'x');
  await store.verify({ chain: chain(pki.issue({ id: 'y' }).certificate), claimedId: 'y', now });
  const revoked = pki.broken.revoked('z');
  await assert.rejects(
    createTrustStore({ roots: [caPem], crls: [revoked.crl] }).verify({ chain: chain(revoked.certificate), claimedId: 'z', now }),
    { code: 'ERR_CERT_REVOKED' },
  );
  const foreign = pki.broken.foreignRoot('f');
  assert.deepEqual(parseCertificate(chain(foreign.root)[0]!).subject, name, 'the foreign root carries the given CA name');
  await assert.rejects(store.verify({ chain: chain(foreign.certificate), claimedId: 'f', now }), { code: 'ERR_CERT_UNTRUSTED' });
  const otherRoot = (await createTestPki({ endpoints: [] })).roots[0]!;
  assert.throws(
    () => createTestPkiSync({ endpoints: [], ca: { certificate: otherRoot, privateKey: keyPem } }),
    /does not belong to the CA certificate/,
  );
});
