/**
 * Certificate validation matrix: one case per refusal reason, for every key type, chain depth 2
 * and 3. [SPEC 10.2] [SPEC 10.3] [SPEC 10.5] [SPEC 10.7]
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createTestPki, type TestKeyType } from '../../src/testing/index.js';
import { createTrustStore, loadIdentity, validateOwn } from '../../src/pki/index.js';
import { encodePem } from '../../src/codec/pem.js';
import { HOPSAFE_URI_PREFIX } from '../../src/pki/oids.js';
import { issueCrl, encodeName } from '../../src/pki/issue.js';
import { chainOf, DAY, miniCa, miniLeaf, rejectsWith, ecKey } from '../support/pki.js';

const KEY_TYPES: TestKeyType[] = ['p256', 'p384', 'ed25519', 'rsa', 'rsa-pss'];

for (const keyType of KEY_TYPES) {
  for (const intermediate of [false, true]) {
    describe(`matrix ${keyType} depth ${intermediate ? 3 : 2}`, () => {
      const now = new Date();
      const pkiP = createTestPki({
        endpoints: [
          { id: 'cc', roles: ['OPERATOR', 'SECAUD'] },
          { id: 'der-17', roles: ['VIEWER'] },
        ],
        keyType,
        intermediate,
        now,
      });

      test('valid chain is accepted with its roles [SPEC 10.2]', async () => {
        const pki = await pkiP;
        const store = createTrustStore(pki.trust());
        const chain = chainOf(pki.identities.cc!.certificate);
        assert.equal(chain.length, intermediate ? 2 : 1);
        const peer = await store.verify({ chain, claimedId: 'cc', now });
        assert.equal(peer.id, 'cc');
        assert.deepEqual(
          peer.roles.map((r) => r.role),
          ['OPERATOR', 'SECAUD'],
        );
        assert.deepEqual(
          peer.roles.map((r) => r.roleId),
          [1, 4 + 1],
        );
        assert.equal(peer.fingerprint.length, 64);
        assert.deepEqual(peer.certificate, chain[0]);
        assert.equal(peer.publicKey.kind, 'public');
      });

      const cases: [
        string,
        'ERR_CERT_EXPIRED' | 'ERR_CERT_NOT_YET_VALID' | 'ERR_CERT_USAGE' | 'ERR_CERT_UNTRUSTED' | 'ERR_CERT_NAME' | 'ERR_CERT_REVOKED',
        (p: Awaited<typeof pkiP>) => { certificate: string; crl?: string },
      ][] = [
        ['expired', 'ERR_CERT_EXPIRED', (p) => p.broken.expired('cc')],
        ['not yet valid', 'ERR_CERT_NOT_YET_VALID', (p) => p.broken.notYetValid('cc')],
        ['keyUsage without digitalSignature', 'ERR_CERT_USAGE', (p) => p.broken.wrongKeyUsage('cc')],
        ['extendedKeyUsage without an accepted purpose', 'ERR_CERT_USAGE', (p) => p.broken.wrongExtKeyUsage('cc')],
        ['CA certificate as endpoint', 'ERR_CERT_USAGE', (p) => p.broken.caAsLeaf('cc')],
        ['issued by a non-CA endpoint certificate', 'ERR_CERT_USAGE', (p) => p.broken.issuedByLeaf('cc')],
        ['foreign root with the same name', 'ERR_CERT_UNTRUSTED', (p) => p.broken.foreignRoot('cc')],
        ['certificate for another id', 'ERR_CERT_NAME', (p) => p.broken.wrongName('cc')],
        ['revoked', 'ERR_CERT_REVOKED', (p) => p.broken.revoked('cc')],
      ];
      for (const [label, code, make] of cases) {
        test(`${label} → ${code}`, async () => {
          const pki = await pkiP;
          const broken = make(pki);
          const store = createTrustStore({ roots: pki.roots, crls: [broken.crl ?? pki.crl] });
          await rejectsWith(store.verify({ chain: chainOf(broken.certificate), claimedId: 'cc', now }), code, label);
        });
      }

      test('private key of another certificate → ERR_KEY_MISMATCH', async () => {
        const pki = await pkiP;
        assert.throws(() => loadIdentity(pki.broken.mismatchedKey('cc'), 'cc'), { code: 'ERR_KEY_MISMATCH' });
        assert.equal(loadIdentity(pki.identities.cc!, 'cc').id, 'cc');
      });

      test('a peer claiming another endpoint id → ERR_CERT_NAME [SPEC 10.3]', async () => {
        const pki = await pkiP;
        const store = createTrustStore(pki.trust());
        await rejectsWith(store.verify({ chain: chainOf(pki.identities['der-17']!.certificate), claimedId: 'cc', now }), 'ERR_CERT_NAME');
      });
    });
  }
}

describe('chain building [SPEC 10.2]', () => {
  const now = new Date();

  test('root included in the presented chain is accepted; an unrelated extra certificate is refused', async () => {
    const pki = await createTestPki({ endpoints: [{ id: 'a' }, { id: 'b' }], intermediate: true, now });
    const store = createTrustStore(pki.trust());
    const chain = chainOf(pki.identities.a!.certificate);
    await store.verify({ chain: [...chain, ...chainOf(pki.roots[0]!)], claimedId: 'a', now });
    const other = chainOf(pki.identities.b!.certificate)[0]!;
    await rejectsWith(store.verify({ chain: [...chain, other], claimedId: 'a', now }), 'ERR_CERT_UNTRUSTED');
  });

  test('intermediate from trust.intermediates when the peer sends only its leaf', async () => {
    const pki = await createTestPki({ endpoints: [{ id: 'a' }], intermediate: true, now });
    const leafOnly = chainOf(pki.identities.a!.certificate).slice(0, 1);
    await rejectsWith(createTrustStore({ roots: pki.roots }).verify({ chain: leafOnly, claimedId: 'a', now }), 'ERR_CERT_UNTRUSTED');
    const store = createTrustStore({ roots: pki.roots, intermediates: pki.intermediates });
    assert.equal((await store.verify({ chain: leafOnly, claimedId: 'a', now })).id, 'a');
  });

  test('malformed input → ERR_MALFORMED', async () => {
    const pki = await createTestPki({ endpoints: [{ id: 'a' }], now });
    const store = createTrustStore(pki.trust());
    await rejectsWith(store.verify({ chain: [], claimedId: 'a', now }), 'ERR_MALFORMED');
    await rejectsWith(store.verify({ chain: [new Uint8Array([0x30, 0x03, 0x02, 0x01])], claimedId: 'a', now }), 'ERR_MALFORMED');
    const leaf = chainOf(pki.identities.a!.certificate)[0]!;
    await rejectsWith(store.verify({ chain: Array.from({ length: 9 }, () => leaf), claimedId: 'a', now }), 'ERR_MALFORMED');
    const trailing = new Uint8Array([...leaf, 0]);
    await rejectsWith(store.verify({ chain: [trailing], claimedId: 'a', now }), 'ERR_MALFORMED');
    assert.throws(() => createTrustStore({ roots: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] }), {
      code: 'ERR_MALFORMED',
    });
  });

  test('pathLenConstraint is honoured → ERR_CERT_USAGE', async () => {
    const root = miniCa('root', now, { pathLen: 0 });
    const inter = miniCa('inter', now, { issuer: root });
    const leaf = miniLeaf('a', inter, now);
    const store = createTrustStore({ roots: [root.der] });
    await rejectsWith(store.verify({ chain: [leaf.der, inter.der], claimedId: 'a', now }), 'ERR_CERT_USAGE');
    const root1 = miniCa('root1', now, { pathLen: 1 });
    const inter1 = miniCa('inter1', now, { issuer: root1, pathLen: 0 });
    const leaf1 = miniLeaf('a', inter1, now);
    await createTrustStore({ roots: [root1.der] }).verify({ chain: [leaf1.der, inter1.der], claimedId: 'a', now });
  });

  test('expired intermediate → ERR_CERT_EXPIRED; validity bounds are inclusive', async () => {
    const root = miniCa('root', now);
    const inter = miniCa('inter', now, { issuer: root, notAfter: new Date(now.getTime() - 1000) });
    const leaf = miniLeaf('a', inter, now);
    await rejectsWith(
      createTrustStore({ roots: [root.der] }).verify({ chain: [leaf.der, inter.der], claimedId: 'a', now }),
      'ERR_CERT_EXPIRED',
    );
    const notAfter = new Date(Math.floor(now.getTime() / 1000) * 1000 + 10 * DAY);
    const l2 = miniLeaf('b', root, now, { notAfter });
    const store = createTrustStore({ roots: [root.der] }, { cacheSize: 1 });
    await store.verify({ chain: [l2.der], claimedId: 'b', now: notAfter });
    await rejectsWith(store.verify({ chain: [l2.der], claimedId: 'b', now: new Date(notAfter.getTime() + 1000) }), 'ERR_CERT_EXPIRED');
  });

  test('unknown critical extension → ERR_CERT_USAGE; RSA-1024 leaf → ERR_CERT_USAGE', async () => {
    const root = miniCa('root', now);
    const store = createTrustStore({ roots: [root.der] });
    const crit = miniLeaf('a', root, now, { extraExtensions: [{ oid: '1.2.3.4.5', critical: true, value: new Uint8Array([0x05, 0x00]) }] });
    await rejectsWith(store.verify({ chain: [crit.der], claimedId: 'a', now }), 'ERR_CERT_USAGE');
    const nonCrit = miniLeaf('a', root, now, {
      extraExtensions: [{ oid: '1.2.3.4.5', critical: false, value: new Uint8Array([0x05, 0x00]) }],
    });
    await store.verify({ chain: [nonCrit.der], claimedId: 'a', now });
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const rsa1024 = miniLeaf('a', root, now, {}, weak);
    await rejectsWith(store.verify({ chain: [rsa1024.der], claimedId: 'a', now }), 'ERR_CERT_USAGE');
  });

  test('EKU: absent is fine; anyExtendedKeyUsage, clientAuth, serverAuth and the hopsafe OID are accepted', async () => {
    const root = miniCa('root', now);
    const store = createTrustStore({ roots: [root.der] });
    for (const eku of [
      null,
      ['2.5.29.37.0'],
      ['1.3.6.1.5.5.7.3.2'],
      ['1.3.6.1.5.5.7.3.1'],
      ['2.25.98174301627460281189141854597601405822.1'],
    ]) {
      const l = miniLeaf('a', root, now, { extKeyUsage: eku });
      await store.verify({ chain: [l.der], claimedId: 'a', now });
    }
    const noKu = miniLeaf('a', root, now, { keyUsage: null });
    await store.verify({ chain: [noKu.der], claimedId: 'a', now });
  });

  test('endpoint-id binding: CN, SAN dNSName, SAN URI, SAN otherName; exact and case-sensitive [SPEC 10.3]', async () => {
    const root = miniCa('root', now);
    const store = createTrustStore({ roots: [root.der] });
    const byCn = miniLeaf('dev-1', root, now);
    await store.verify({ chain: [byCn.der], claimedId: 'dev-1', now });
    await rejectsWith(store.verify({ chain: [byCn.der], claimedId: 'DEV-1', now }), 'ERR_CERT_NAME');
    await rejectsWith(store.verify({ chain: [byCn.der], claimedId: 'dev-', now }), 'ERR_CERT_NAME');
    const mk = (san: object): Uint8Array => miniLeaf('other', root, now, { subject: encodeName('something else'), san }).der;
    await store.verify({ chain: [mk({ dns: ['dev-2'] })], claimedId: 'dev-2', now });
    await store.verify({ chain: [mk({ uris: [HOPSAFE_URI_PREFIX + 'dev-3'] })], claimedId: 'dev-3', now });
    await rejectsWith(store.verify({ chain: [mk({ uris: ['dev-3'] })], claimedId: 'dev-3', now }), 'ERR_CERT_NAME');
    await store.verify({ chain: [mk({ endpointIds: ['dev-4'] })], claimedId: 'dev-4', now });
  });

  test('validateOwn reports our own expired certificate with ERR_CERT_EXPIRED', async () => {
    const pki = await createTestPki({ endpoints: [{ id: 'a' }], now });
    const store = createTrustStore(pki.trust());
    await validateOwn(loadIdentity(pki.identities.a!, 'a'), store, now);
    await rejectsWith(validateOwn(loadIdentity(pki.broken.expired('a'), 'a'), store, now), 'ERR_CERT_EXPIRED');
  });
});

describe('revocation [SPEC 10.5]', () => {
  const now = new Date();

  test('a CRL update revoking a validated (cached) peer fires onRevoked and later verifies fail', async () => {
    const pki = await createTestPki({ endpoints: [{ id: 'a' }, { id: 'b' }], intermediate: true, now });
    const store = createTrustStore(pki.trust(), { clock: () => now });
    const a = chainOf(pki.identities.a!.certificate);
    const b = chainOf(pki.identities.b!.certificate);
    const pa = await store.verify({ chain: a, claimedId: 'a', now });
    await store.verify({ chain: b, claimedId: 'b', now });
    const fired: string[][] = [];
    store.onRevoked((fps) => fired.push(fps));
    const crl = pki.revoke('a');
    const reported = store.updateTrust({ crls: [crl] });
    assert.deepEqual(reported, [pa.fingerprint]);
    assert.deepEqual(fired, [[pa.fingerprint]]);
    assert.equal(store.isRevoked(pa.fingerprint), true);
    assert.equal(store.isRevoked(a[0]!), true);
    assert.equal(store.isRevoked(b[0]!), false);
    await rejectsWith(store.verify({ chain: a, claimedId: 'a', now }), 'ERR_CERT_REVOKED');
    await store.verify({ chain: b, claimedId: 'b', now });
    // The same CRL again reports nothing new.
    assert.deepEqual(store.updateTrust({ crls: [crl] }), []);
    assert.equal(fired.length, 1);
  });

  test('removing the root reports every peer validated under it', async () => {
    const pki = await createTestPki({ endpoints: [{ id: 'a' }], now });
    const other = await createTestPki({ endpoints: [{ id: 'z' }], now });
    const store = createTrustStore(pki.trust(), { clock: () => now });
    const pa = await store.verify({ chain: chainOf(pki.identities.a!.certificate), claimedId: 'a', now });
    assert.deepEqual(store.updateTrust({ roots: other.roots }), [pa.fingerprint]);
    await rejectsWith(store.verify({ chain: chainOf(pki.identities.a!.certificate), claimedId: 'a', now }), 'ERR_CERT_UNTRUSTED');
  });

  test('revoked intermediate (root-issued CRL) → ERR_CERT_REVOKED; CRL by the wrong key or from the future is ignored', async () => {
    const root = miniCa('root', now);
    const inter = miniCa('inter', now, { issuer: root });
    const leaf = miniLeaf('a', inter, now);
    const { parseCertificate } = await import('../../src/pki/x509.js');
    const interSerial = parseCertificate(inter.der).serialHex;
    const crl = (key = root.key, thisUpdate = new Date(now.getTime() - 1000)): Uint8Array =>
      issueCrl(
        { issuer: root.name, thisUpdate, nextUpdate: new Date(now.getTime() + DAY), revoked: [{ serialHex: interSerial, date: now }] },
        { key },
      );
    const req = { chain: [leaf.der, inter.der], claimedId: 'a', now };
    await rejectsWith(createTrustStore({ roots: [root.der], crls: [crl()] }).verify(req), 'ERR_CERT_REVOKED');
    await createTrustStore({ roots: [root.der], crls: [crl(ecKey())] }).verify(req);
    await createTrustStore({ roots: [root.der], crls: [encodePem('X509 CRL', crl(root.key, new Date(now.getTime() + DAY)))] }).verify(req);
  });

  test("crlMode 'require': no current CRL → ERR_CERT_REVOKED; a stale CRL still revokes", async () => {
    const root = miniCa('root', now);
    const leaf = miniLeaf('a', root, now);
    const { parseCertificate } = await import('../../src/pki/x509.js');
    const serial = parseCertificate(leaf.der).serialHex;
    const req = { chain: [leaf.der], claimedId: 'a', now };
    await rejectsWith(createTrustStore({ roots: [root.der] }, { crlMode: 'require' }).verify(req), 'ERR_CERT_REVOKED');
    const fresh = issueCrl(
      { issuer: root.name, thisUpdate: new Date(now.getTime() - 1000), nextUpdate: new Date(now.getTime() + DAY), revoked: [] },
      { key: root.key },
    );
    await createTrustStore({ roots: [root.der], crls: [fresh] }, { crlMode: 'require' }).verify(req);
    const stale = issueCrl(
      { issuer: root.name, thisUpdate: new Date(now.getTime() - 2 * DAY), nextUpdate: new Date(now.getTime() - DAY), revoked: [] },
      { key: root.key },
    );
    await rejectsWith(createTrustStore({ roots: [root.der], crls: [stale] }, { crlMode: 'require' }).verify(req), 'ERR_CERT_REVOKED');
    await createTrustStore({ roots: [root.der], crls: [stale] }).verify(req);
    const staleRevoking = issueCrl(
      {
        issuer: root.name,
        thisUpdate: new Date(now.getTime() - 2 * DAY),
        nextUpdate: new Date(now.getTime() - DAY),
        revoked: [{ serialHex: serial, date: now }],
      },
      { key: root.key },
    );
    await rejectsWith(createTrustStore({ roots: [root.der], crls: [staleRevoking] }).verify(req), 'ERR_CERT_REVOKED');
  });

  test('updateTrust with a malformed CRL throws ERR_MALFORMED and keeps the old configuration', async () => {
    const pki = await createTestPki({ endpoints: [{ id: 'a' }], now });
    const store = createTrustStore(pki.trust());
    assert.throws(() => store.updateTrust({ crls: ['-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n'] }), {
      code: 'ERR_MALFORMED',
    });
    await store.verify({ chain: chainOf(pki.identities.a!.certificate), claimedId: 'a', now });
  });
});

describe('chain cache', () => {
  const now = new Date();

  test('second verification is a cache hit; trust updates and expiry invalidate; size is bounded', async () => {
    const pki = await createTestPki({ endpoints: [{ id: 'a' }, { id: 'b' }, { id: 'c' }], now });
    const store = createTrustStore(pki.trust(), { cacheSize: 2 });
    const a = chainOf(pki.identities.a!.certificate);
    await store.verify({ chain: a, claimedId: 'a', now });
    await store.verify({ chain: a, claimedId: 'a', now });
    assert.deepEqual(store.cacheStats(), { size: 1, hits: 1, misses: 1 });
    // A cache hit still checks the claimed id.
    await rejectsWith(store.verify({ chain: a, claimedId: 'b', now }), 'ERR_CERT_NAME');
    store.updateTrust({ crls: [pki.crl] });
    await store.verify({ chain: a, claimedId: 'a', now });
    assert.equal(store.cacheStats().misses, 2);
    // Expired since the cached validation: refused, not served from the cache.
    await rejectsWith(store.verify({ chain: a, claimedId: 'a', now: new Date(now.getTime() + 60 * DAY) }), 'ERR_CERT_EXPIRED');
    for (const id of ['a', 'b', 'c']) await store.verify({ chain: chainOf(pki.identities[id]!.certificate), claimedId: id, now });
    assert.equal(store.cacheStats().size, 2);
  });

  test('warm verification is much cheaper than cold', async () => {
    const pki = await createTestPki({ endpoints: [{ id: 'a' }], intermediate: true, now });
    const chain = chainOf(pki.identities.a!.certificate);
    const N = 50;
    let t = performance.now();
    for (let i = 0; i < N; i++) {
      const s = createTrustStore(pki.trust());
      await s.verify({ chain, claimedId: 'a', now });
    }
    const cold = (performance.now() - t) / N;
    const store = createTrustStore(pki.trust());
    await store.verify({ chain, claimedId: 'a', now });
    t = performance.now();
    for (let i = 0; i < N; i++) await store.verify({ chain, claimedId: 'a', now });
    const warm = (performance.now() - t) / N;
    console.log(`# chain depth 3 P-256: cold ${cold.toFixed(3)} ms, warm ${warm.toFixed(3)} ms`);
    assert.ok(warm < cold, `warm ${warm} < cold ${cold}`);
  });
});

describe('hostile keys in certificates [SPEC 10.2]', () => {
  const now = new Date();
  test('EC point at infinity / wrong-length point in a leaf SPKI → ERR_MALFORMED (no process abort)', async () => {
    const root = miniCa('root', now);
    const store = createTrustStore({ roots: [root.der] });
    const { seq, tlv } = await import('../../src/pki/der.js');
    const algId = seq(
      new Uint8Array([0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
      new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
    );
    for (const point of [new Uint8Array([0x00]), new Uint8Array([0x04, 1, 2, 3])]) {
      const spki = seq(algId, tlv(0x03, new Uint8Array([0, ...point])));
      const leaf = miniLeaf('a', root, now, { publicKey: spki });
      await rejectsWith(store.verify({ chain: [leaf.der], claimedId: 'a', now }), 'ERR_MALFORMED');
    }
  });

  test('unsupported key type (P-521) in a leaf → ERR_CERT_USAGE; in a CA → ERR_CERT_UNTRUSTED', async () => {
    const root = miniCa('root', now);
    const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey;
    const leaf = miniLeaf('a', root, now, {}, p521);
    await rejectsWith(createTrustStore({ roots: [root.der] }).verify({ chain: [leaf.der], claimedId: 'a', now }), 'ERR_CERT_USAGE');
    const { issueCertificate, spkiOf } = await import('../../src/pki/issue.js');
    const caName = encodeName('p521 ca');
    const ca = issueCertificate(
      {
        subject: caName,
        issuer: root.name,
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + DAY),
        publicKey: spkiOf(p521),
        ca: true,
      },
      { key: root.key },
    );
    const child = issueCertificate(
      {
        subject: encodeName('a'),
        issuer: caName,
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + DAY),
        publicKey: ecKey(),
        keyUsage: ['digitalSignature'],
      },
      { key: p521 }, // validly signed by the P-521 CA key, which hopsafe does not accept
    );
    await rejectsWith(createTrustStore({ roots: [root.der] }).verify({ chain: [child, ca], claimedId: 'a', now }), 'ERR_CERT_UNTRUSTED');
  });
});
