/**
 * The certificate parser on the strict TLV reader (src/pki/der.ts, src/codec/tlv.ts) and the shared
 * SPKI KeyObject cache (src/crypto/node.ts). [SPEC 10.1] [SPEC 4.4]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { createTestPki } from '../../src/testing/index.js';
import { createTrustStore } from '../../src/pki/index.js';
import { parseCertificate } from '../../src/pki/x509.js';
import { parseCrl } from '../../src/pki/crl.js';
import { importSpki } from '../../src/pki/signature.js';
import { derTime, checkDerFraming } from '../../src/codec/der.js';
import { createNodeProvider, spkiKeyObject } from '../../src/crypto/node.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { derObjects } from '../../src/codec/pem.js';
import { spkiOf } from '../../src/pki/issue.js';
import { chainOf, DAY, ecKey, miniCa, miniLeaf, throwsWith } from '../support/pki.js';

const now = new Date();
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

test('[SPEC 10.1] parsed fields agree with node:crypto X509Certificate (EC, Ed25519, RSA-PSS; SANs; intermediate)', async () => {
  for (const keyType of ['p256', 'ed25519', 'rsa-pss'] as const) {
    const pki = await createTestPki({ endpoints: [{ id: 'a', roles: ['OPERATOR'] }], intermediate: true, keyType, now });
    const ders = [...chainOf(pki.identities.a!.certificate), ...pki.roots.flatMap((r) => chainOf(r))];
    for (const der of ders) {
      const c = parseCertificate(der);
      const x = new X509Certificate(der);
      assert.equal(c.fingerprint, x.fingerprint256.replace(/:/g, '').toLowerCase());
      assert.equal(c.notBefore.getTime(), new Date(x.validFrom).getTime());
      assert.equal(c.notAfter.getTime(), new Date(x.validTo).getTime());
      assert.equal(BigInt('0x' + c.serialHex), BigInt('0x' + x.serialNumber));
      assert.equal(c.basicConstraints?.ca ?? false, x.ca);
      assert.deepEqual(Buffer.from(c.spki), x.publicKey.export({ format: 'der', type: 'spki' }));
      assert.ok(c.publicKey?.equals(x.publicKey));
      for (const cn of c.commonNames) assert.ok(x.subject.includes(`CN=${cn}`), `${cn} in ${x.subject}`);
    }
    const store = createTrustStore(pki.trust());
    const peer = await store.verify({ chain: chainOf(pki.identities.a!.certificate), claimedId: 'a', now });
    assert.deepEqual(
      peer.roles.map((r) => r.role),
      ['OPERATOR'],
    );
  }
});

test('[SPEC 10.1] parsed certificates are views of the input (no copies), and one SPKI is loaded once', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'a' }], now });
  const [der] = chainOf(pki.identities.a!.certificate);
  const c = parseCertificate(der!);
  for (const part of [c.tbs, c.signature, c.spki, c.issuer, c.subject]) assert.equal(part.buffer, der!.buffer);
  const again = parseCertificate(Uint8Array.from(der!));
  assert.equal(again.publicKey, c.publicKey, 'same SPKI bytes → the same KeyObject');
  const handle = createNodeProvider().importPublicKey(c.spki) as unknown as { key: unknown };
  assert.equal(handle.key, c.publicKey, 'the node provider shares the certificate key');
});

test('[SPEC 4.4] SPKI key cache: distinct keys stay distinct, failures are not cached, the cache is bounded', () => {
  const a = spkiOf(ecKey());
  const b = spkiOf(ecKey());
  assert.notEqual(spkiKeyObject(a).key, spkiKeyObject(b).key);
  assert.equal(spkiKeyObject(a).key, spkiKeyObject(Uint8Array.from(a)).key);
  // a wrong-length point is refused by the screening each time (never cached as a key)
  const bad = Uint8Array.from(a);
  bad[bad.length - 1]! ^= 0xff; // still a well-formed SPKI, now (almost surely) a point off the curve
  for (let i = 0; i < 2; i++) throwsWith(() => createNodeProvider().importPublicKey(bad), 'ERR_MALFORMED');
  assert.ok('unsupported' in importSpki(spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey)));
  // brainpool: screened fine, but no signature algorithm → ERR_UNSUPPORTED from the provider, also on a cache hit
  const bp = spkiOf(generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' }).privateKey);
  assert.ok('key' in importSpki(bp));
  throwsWith(() => createNodeProvider().importPublicKey(bp), 'ERR_UNSUPPORTED');
  // bounded: after 1100 other keys, the first one is loaded afresh
  const first = spkiKeyObject(a).key;
  for (let i = 0; i < 1100; i++) spkiKeyObject(spkiOf(generateKeyPairSync('ed25519').publicKey));
  const reloaded = spkiKeyObject(a).key;
  assert.notEqual(reloaded, first);
  assert.ok(reloaded.equals(first));
});

test('[SPEC 10.1] times: only the RFC 5280 DER forms, and only real instants', () => {
  const t = (tag: number, s: string): number | undefined => derTime(tag, ascii(s), 0, s.length);
  assert.equal(t(0x17, '250101000000Z'), Date.UTC(2025, 0, 1));
  assert.equal(t(0x17, '500101000000Z'), Date.UTC(1950, 0, 1));
  assert.equal(t(0x17, '491231235959Z'), Date.UTC(2049, 11, 31, 23, 59, 59));
  assert.equal(t(0x18, '20240229120000Z'), Date.UTC(2024, 1, 29, 12));
  assert.equal(t(0x18, '99991231235959Z'), Date.UTC(9999, 11, 31, 23, 59, 59));
  for (const [tag, s] of [
    [0x17, '2501010000Z'], // no seconds
    [0x17, '250101000000'], // no Z
    [0x17, '250101000000+0100'],
    [0x17, '251301000000Z'], // month 13
    [0x17, '250229000000Z'], // 29 Feb 2025
    [0x17, '250431000000Z'],
    [0x17, '250101240000Z'],
    [0x17, '250101006000Z'],
    [0x17, 'x50101000000Z'],
    [0x18, '19000229000000Z'],
    [0x18, '20250101000000.5Z'], // fractional seconds
    [0x18, '202501010000Z'],
    [0x18, '20250101000000'], // local time
    [0x18, '250101000000Z'],
  ] as const)
    assert.equal(t(tag, s), undefined, s);
  throwsWith(
    () => checkDerFraming(Uint8Array.of(0x30, 0x0c, 0x17, 0x0a, ...ascii('2501010000')), 't', { universalContent: true }),
    'ERR_MALFORMED',
  );
  checkDerFraming(Uint8Array.of(0x30, 0x0c, 0x17, 0x0a, ...ascii('2501010000')), 't'); // framing alone does not look at contents
});

test('[SPEC 10.1] non-DER certificate contents are ERR_MALFORMED (time, BOOLEAN, constructed strings, BIT STRING)', () => {
  const ca = miniCa('root', now);
  const { der } = miniLeaf('a', ca, now, { notAfter: new Date(Date.UTC(2031, 4, 6, 7, 8, 9)) });
  parseCertificate(der);
  const patched = (at: number, bytes: number[]): Uint8Array => {
    const m = Uint8Array.from(der);
    m.set(bytes, at);
    return m;
  };
  // notAfter 310506070809Z → month 13
  const na = indexOf(der, ascii('310506070809Z'));
  assert.ok(na > 0);
  throwsWith(() => parseCertificate(patched(na + 2, [0x31, 0x33])), 'ERR_MALFORMED');
  // critical BOOLEAN FF → 01 (BER true, not DER)
  const crit = indexOf(der, Uint8Array.of(0x01, 0x01, 0xff));
  assert.ok(crit > 0);
  throwsWith(() => parseCertificate(patched(crit + 2, [0x01])), 'ERR_MALFORMED');
  // the keyUsage extension value as a constructed OCTET STRING
  const ku = indexOf(der, Uint8Array.of(0x06, 0x03, 0x55, 0x1d, 0x0f));
  const os = indexOf(der, Uint8Array.of(0x04), ku + 5 + 3);
  throwsWith(() => parseCertificate(patched(os, [0x24])), 'ERR_MALFORMED');
  // keyUsage BIT STRING with 8 unused bits
  const bits = indexOf(der, Uint8Array.of(0x03), os + 2);
  throwsWith(() => parseCertificate(patched(bits + 2, [0x08])), 'ERR_MALFORMED');
  // the signature BIT STRING with unused bits
  // Found structurally (Certificate ::= SEQUENCE { tbs, algorithm, signature BIT STRING }): a byte search can hit
  // a 0x03 inside the random signature value.
  const sigAt = signatureBitStringOffset(der);
  assert.equal(der[sigAt], 0x03);
  const unused = sigAt + 2 + lengthBytes(der, sigAt);
  assert.equal(der[unused], 0);
  throwsWith(() => parseCertificate(patched(unused, [0x01])), 'ERR_MALFORMED');
});

test('[SPEC 10.1] a validly signed certificate with a non-DER time is refused before any path building', async () => {
  const ca = miniCa('root', now);
  const store = createTrustStore({ roots: [ca.der] });
  const { der } = miniLeaf('a', ca, now, { notBefore: new Date(now.getTime() - DAY), notAfter: new Date(Date.UTC(2031, 0, 31)) });
  await store.verify({ chain: [der], claimedId: 'a', now });
  const at = indexOf(der, ascii('310131000000Z'));
  const m = Uint8Array.from(der);
  m.set(ascii('0431'), at + 2); // 31 April
  await assert.rejects(store.verify({ chain: [m], claimedId: 'a', now }), { code: 'ERR_MALFORMED' });
});

test('CRLs parse on the TLV reader: revoked serials', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'a' }, { id: 'b' }], now });
  const crlPem = pki.revoke('a');
  const crl = parseCrl(derObjects(crlPem, ['X509 CRL'])[0]!);
  const serial = parseCertificate(chainOf(pki.identities.a!.certificate)[0]!).serialHex;
  assert.ok(crl.revoked.has(serial));
  assert.ok(crl.thisUpdate.getTime() <= Date.now());
});

test('the noble provider still verifies chains (keys for chain signatures stay on node:crypto)', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'a' }], intermediate: true, now });
  const store = createTrustStore(pki.trust(), { provider: createNobleProvider() });
  const peer = await store.verify({ chain: chainOf(pki.identities.a!.certificate), claimedId: 'a', now });
  assert.equal(peer.publicKey.provider, 'noble');
});

/** Bytes of the length field after the tag at `at`, minus one (0 for short form). */
function lengthBytes(der: Uint8Array, at: number): number {
  const b = der[at + 1] as number;
  return b < 0x80 ? 0 : b & 0x7f;
}

/** Offset of the TLV after the one at `at`. */
function next(der: Uint8Array, at: number): number {
  const b = der[at + 1] as number;
  if (b < 0x80) return at + 2 + b;
  let len = 0;
  for (let i = 0; i < (b & 0x7f); i++) len = len * 256 + (der[at + 2 + i] as number);
  return at + 2 + (b & 0x7f) + len;
}

/** The signature BIT STRING of a certificate: the third element of the outer SEQUENCE. */
function signatureBitStringOffset(der: Uint8Array): number {
  const first = 2 + lengthBytes(der, 0); // the tbsCertificate
  return next(der, next(der, first));
}
