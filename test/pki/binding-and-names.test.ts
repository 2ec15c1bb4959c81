/**
 * Items 5 and 8 of issue 15. [SPEC 10.2] [SPEC 10.3]
 * - CN binds only when the certificate has no subjectAltName that can name an endpoint (RFC 6125 §6.4.4, RFC 9525 §6.3);
 * - self-issued intermediates do not count against pathLenConstraint (RFC 5280 §4.2.1.9);
 * - issuer/subject Names compare per RFC 5280 §7.1 (string type, case and inner whitespace do not matter).
 * Chains built here; the path cases are compared with `openssl verify`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as asn1js from 'asn1js';
import { createTrustStore, namesEndpoint, parseCertificate } from '../../src/pki/index.js';
import { issueCertificate, issueCrl } from '../../src/pki/issue.js';
import { seq, tlv } from '../../src/pki/der.js';
import { utf8 } from '../../src/bytes/index.js';
import { DAY, ecKey, miniCa, miniLeaf, opensslVerify, rejectsWith } from '../support/pki.js';
import { spkiOf } from '../../src/pki/issue.js';

const now = new Date();
const oidDer = (o: string): Uint8Array => new Uint8Array(new asn1js.ObjectIdentifier({ value: o }).toBER(false));
/** A Name of one CN attribute with string tag `tag` (0x0c UTF8String, 0x13 PrintableString). */
const cnName = (cn: string, tag = 0x0c): Uint8Array => seq(tlv(0x31, seq(oidDer('2.5.4.3'), tlv(tag, utf8(cn)))));

describe('CN vs SAN [SPEC 10.3]', () => {
  test('SAN abc.example.com, CN example.com: "example.com" is not named (limbo webpki::san::mismatch-apex-subdomain-san)', async () => {
    const root = miniCa('root', now);
    const leaf = miniLeaf('example.com', root, now, { san: { dns: ['abc.example.com'] } });
    const store = createTrustStore({ roots: [root.der] });
    await rejectsWith(store.verify({ chain: [leaf.der], claimedId: 'example.com', now }), 'ERR_CERT_NAME');
    await store.verify({ chain: [leaf.der], claimedId: 'abc.example.com', now });
  });

  test('any endpoint-naming SAN type (dNSName, URI, hopsafe otherName) turns CN off; without one CN binds', () => {
    const base = { commonNames: ['cc'], dnsNames: [] as string[], uris: [] as string[], endpointIds: [] as string[] };
    assert.equal(namesEndpoint(base, 'cc'), true);
    assert.equal(namesEndpoint({ ...base, dnsNames: ['x.example'] }, 'cc'), false);
    assert.equal(namesEndpoint({ ...base, uris: ['https://elsewhere.example/'] }, 'cc'), false);
    assert.equal(namesEndpoint({ ...base, endpointIds: ['der-1'] }, 'cc'), false);
    assert.equal(namesEndpoint({ ...base, endpointIds: ['cc'] }, 'cc'), true);
  });
});

describe('pathLenConstraint and self-issued certificates [SPEC 10.2]', () => {
  test('root pathLen 0 → self-issued rollover CA (same name, new key) → leaf: accepted, as OpenSSL', async () => {
    const root = miniCa('rollover root', now, { pathLen: 0 });
    const newKey = ecKey();
    const rolled = issueCertificate(
      {
        subject: root.name,
        issuer: root.name,
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + DAY),
        publicKey: newKey,
        ca: true,
        issuerSpki: root.spki,
      },
      { key: root.key },
    );
    assert.equal(parseCertificate(rolled).selfIssued, true);
    const leaf = issueCertificate(
      {
        subject: cnName('a'),
        issuer: root.name,
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + DAY),
        publicKey: ecKey(),
        keyUsage: ['digitalSignature'],
        issuerSpki: spkiOf(newKey),
      },
      { key: newKey },
    );
    await createTrustStore({ roots: [root.der] }).verify({ chain: [leaf, rolled], claimedId: 'a', now });
    const o = opensslVerify(leaf, [root.der], { untrusted: [rolled] });
    if (o) assert.equal(o.ok, true, o.out);
    // a non-self-issued intermediate still counts (unchanged): root pathLen 0 → inter → leaf
    const inter = miniCa('inter', now, { issuer: root });
    await rejectsWith(
      createTrustStore({ roots: [root.der] }).verify({ chain: [miniLeaf('a', inter, now).der, inter.der], claimedId: 'a', now }),
      'ERR_CERT_USAGE',
    );
  });
});

describe('Name comparison, RFC 5280 §7.1 [SPEC 10.2]', () => {
  test('root subject PrintableString "Grid Root CA", leaf issuer UTF8String "grid   ROOT ca": a path, as OpenSSL finds; CRLs match the same way', async () => {
    const key = ecKey();
    const rootName = cnName('Grid Root CA', 0x13);
    const root = issueCertificate(
      {
        subject: rootName,
        issuer: rootName,
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + DAY),
        publicKey: key,
        ca: true,
      },
      { key },
    );
    const leafKey = ecKey();
    const leaf = issueCertificate(
      {
        subject: cnName('a'),
        issuer: cnName('grid   ROOT ca'),
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + DAY),
        publicKey: leafKey,
        keyUsage: ['digitalSignature'],
      },
      { key },
    );
    const store = createTrustStore({ roots: [root] });
    await store.verify({ chain: [leaf], claimedId: 'a', now });
    const o = opensslVerify(leaf, [root]);
    if (o) assert.equal(o.ok, true, o.out);
    const crl = issueCrl(
      {
        issuer: cnName('GRID ROOT CA'),
        thisUpdate: new Date(now.getTime() - 1000),
        revoked: [{ serialHex: parseCertificate(leaf).serialHex, date: now }],
      },
      { key },
    );
    await rejectsWith(createTrustStore({ roots: [root], crls: [crl] }).verify({ chain: [leaf], claimedId: 'a', now }), 'ERR_CERT_REVOKED');
  });

  test('different text is a different name; a matching name still needs the signature', async () => {
    const root = miniCa('root', now);
    const other = issueCertificate(
      { subject: cnName('a'), issuer: cnName('ROOT-2'), notBefore: now, notAfter: new Date(now.getTime() + DAY), publicKey: ecKey() },
      { key: root.key },
    );
    await rejectsWith(createTrustStore({ roots: [root.der] }).verify({ chain: [other], claimedId: 'a', now }), 'ERR_CERT_UNTRUSTED');
    const forged = issueCertificate(
      { subject: cnName('a'), issuer: root.name, notBefore: now, notAfter: new Date(now.getTime() + DAY), publicKey: ecKey() },
      { key: ecKey() },
    );
    await rejectsWith(createTrustStore({ roots: [root.der] }).verify({ chain: [forged], claimedId: 'a', now }), 'ERR_CERT_UNTRUSTED');
  });
});
