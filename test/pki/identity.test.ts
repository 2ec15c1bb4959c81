/** Loading our own identity. [SPEC 10.6] */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki } from '../../src/testing/index.js';
import { createTrustStore, loadIdentity, validateOwn } from '../../src/pki/index.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { derObjects } from '../../src/codec/pem.js';
import { rejectsWith, throwsWith } from '../support/pki.js';

test('identity from PEM: chain leaf first, usable key, roles', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'cc', roles: ['OPERATOR', 'SECAUD'] }], intermediate: true });
  const id = loadIdentity(pki.identities.cc!, 'cc');
  assert.equal(id.chain.length, 2);
  assert.deepEqual(
    id.roles.map((r) => r.role),
    ['OPERATOR', 'SECAUD'],
  );
  const p = createNodeProvider();
  const peer = await createTrustStore(pki.trust()).verify({ chain: id.chain, claimedId: 'cc', now: new Date() });
  const msg = new TextEncoder().encode('probe');
  assert.ok(p.verify(peer.publicKey, msg, p.sign(id.privateKey, msg)), 'identity key signs, certificate key verifies');
});

test('identity from DER bytes', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'a' }], keyType: 'ed25519' });
  const [cert] = derObjects(pki.identities.a!.certificate, ['CERTIFICATE']);
  const [key] = derObjects(pki.identities.a!.privateKey, ['PRIVATE KEY']);
  assert.equal(loadIdentity({ certificate: cert!, privateKey: key! }, 'a').id, 'a');
});

test('refusals: mismatched key, wrong name, malformed input', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'a' }, { id: 'b' }] });
  throwsWith(() => loadIdentity(pki.broken.mismatchedKey('a'), 'a'), 'ERR_KEY_MISMATCH');
  throwsWith(
    () => loadIdentity({ certificate: pki.identities.a!.certificate, privateKey: pki.identities.b!.privateKey }, 'a'),
    'ERR_KEY_MISMATCH',
  );
  throwsWith(() => loadIdentity(pki.identities.a!, 'b'), 'ERR_CERT_NAME');
  throwsWith(() => loadIdentity({ certificate: 'garbage', privateKey: pki.identities.a!.privateKey }, 'a'), 'ERR_MALFORMED');
  throwsWith(
    () => loadIdentity({ certificate: pki.identities.a!.certificate, privateKey: pki.identities.a!.certificate }, 'a'),
    'ERR_MALFORMED',
  );
});

test('validateOwn fails early with the peer-side code', async () => {
  const now = new Date();
  const pki = await createTestPki({ endpoints: [{ id: 'a' }], now });
  const store = createTrustStore(pki.trust());
  await rejectsWith(validateOwn(loadIdentity(pki.broken.notYetValid('a'), 'a'), store, now), 'ERR_CERT_NOT_YET_VALID');
  await rejectsWith(validateOwn(loadIdentity(pki.broken.wrongKeyUsage('a'), 'a'), store, now), 'ERR_CERT_USAGE');
  const revoked = pki.broken.revoked('a');
  store.updateTrust({ crls: [revoked.crl] });
  await rejectsWith(validateOwn(loadIdentity(revoked, 'a'), store, now), 'ERR_CERT_REVOKED');
});
