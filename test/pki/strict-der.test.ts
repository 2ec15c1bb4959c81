/**
 * Items 3 and 4 of issue 15: strict DER where it decides trust. [SPEC 10.1] [SPEC 10.5]
 * - keyUsage bits inside a BIT STRING's declared unused bits are not bits: non-zero unused bits are ERR_MALFORMED;
 * - INTEGERs are minimal everywhere; serial numbers compare as integers (one integer, one encoding).
 * Each case is a certificate built here and compared with `openssl verify`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createTrustStore, parseCertificate, parseCrl } from '../../src/pki/index.js';
import { issueCertificate, issueCrl, encodeName } from '../../src/pki/issue.js';
import { ID_CE_KEY_USAGE } from '../../src/pki/oids.js';
import { fromHex, toHex } from '../../src/bytes/index.js';
import { tlv, seq } from '../../src/pki/der.js';
import { DAY, ecKey, miniCa, miniLeaf, opensslVerify, rejectsWith, throwsWith } from '../support/pki.js';

const now = new Date();

/** An intermediate whose keyUsage extension value is exactly `ku` (critical), and a leaf under it. */
function withRawKeyUsage(ku: string) {
  const root = miniCa('root', now);
  const inter = miniCa('inter', now, {
    issuer: root,
    extra: { keyUsage: null, extraExtensions: [{ oid: ID_CE_KEY_USAGE, critical: true, value: fromHex(ku) }] },
  });
  const leaf = miniLeaf('a', inter, now);
  return { root, inter, leaf };
}

describe('BIT STRING unused bits [SPEC 10.1]', () => {
  test('keyCertSign only inside the unused bits (03 02 03 04) → ERR_MALFORMED; OpenSSL refuses too', async () => {
    const { root, inter, leaf } = withRawKeyUsage('03020304');
    throwsWith(() => parseCertificate(inter.der), 'ERR_MALFORMED', 'parse');
    const store = createTrustStore({ roots: [root.der] });
    await rejectsWith(store.verify({ chain: [leaf.der, inter.der], claimedId: 'a', now }), 'ERR_MALFORMED');
    const ossl = opensslVerify(leaf.der, [root.der], { untrusted: [inter.der] });
    if (ossl) assert.equal(ossl.ok, false, ossl.out);
  });

  test('the same bit declared used (03 02 02 04) is keyCertSign: accepted by both', async () => {
    const { root, inter, leaf } = withRawKeyUsage('03020204');
    assert.ok(parseCertificate(inter.der).keyUsage?.has('keyCertSign'));
    await createTrustStore({ roots: [root.der] }).verify({ chain: [leaf.der, inter.der], claimedId: 'a', now });
    const ossl = opensslVerify(leaf.der, [root.der], { untrusted: [inter.der] });
    if (ossl) assert.equal(ossl.ok, true, ossl.out);
  });

  test('property: a keyUsage BIT STRING parses iff its unused bits are zero, and only declared bits are read', () => {
    const key = ecKey();
    const name = encodeName('ku');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 255 }), (unused, byte) => {
        const der = issueCertificate(
          {
            subject: name,
            issuer: name,
            notBefore: now,
            notAfter: new Date(now.getTime() + DAY),
            publicKey: key,
            ca: true,
            keyUsage: null,
            extraExtensions: [{ oid: ID_CE_KEY_USAGE, critical: true, value: tlv(0x03, Uint8Array.of(unused, byte)) }],
          },
          { key },
        );
        const clean = (byte & ((1 << unused) - 1)) === 0;
        if (!clean) {
          throwsWith(() => parseCertificate(der), 'ERR_MALFORMED');
          return;
        }
        const ku = parseCertificate(der).keyUsage;
        for (let i = 0; i < 8; i++)
          assert.equal(
            ku?.has(
              (
                [
                  'digitalSignature',
                  'nonRepudiation',
                  'keyEncipherment',
                  'dataEncipherment',
                  'keyAgreement',
                  'keyCertSign',
                  'cRLSign',
                  'encipherOnly',
                ] as const
              )[i]!,
            ),
            i < 8 - unused && (byte & (0x80 >> i)) !== 0,
          );
      }),
      { numRuns: 200 },
    );
  });
});

describe('INTEGER minimality and serial numbers [SPEC 10.1] [SPEC 10.5]', () => {
  test('serial 02 02 00 7F → ERR_MALFORMED (OpenSSL refuses it too); 0x7F revoked by a CRL in minimal form', async () => {
    const root = miniCa('root', now);
    const bad = miniLeaf('a', root, now, { serial: fromHex('007f') });
    throwsWith(() => parseCertificate(bad.der), 'ERR_MALFORMED');
    const crl = issueCrl(
      { issuer: root.name, thisUpdate: new Date(now.getTime() - DAY), revoked: [{ serialHex: '7f', date: new Date(now.getTime() - DAY) }] },
      { key: root.key },
    );
    const store = createTrustStore({ roots: [root.der], crls: [crl] });
    await rejectsWith(store.verify({ chain: [bad.der], claimedId: 'a', now }), 'ERR_MALFORMED', 'non-minimal serial');
    const ossl = opensslVerify(bad.der, [root.der]);
    if (ossl) assert.equal(ossl.ok, false, ossl.out);
    const good = miniLeaf('a', root, now, { serial: fromHex('7f') });
    await rejectsWith(store.verify({ chain: [good.der], claimedId: 'a', now }), 'ERR_CERT_REVOKED', 'minimal serial 0x7F');
  });

  test('a CRL entry with a non-minimal serial makes the CRL ERR_MALFORMED', () => {
    const root = miniCa('root', now);
    throwsWith(
      () => parseCrl(issueCrl({ issuer: root.name, thisUpdate: now, revoked: [{ serialHex: '007f', date: now }] }, { key: root.key })),
      'ERR_MALFORMED',
    );
    throwsWith(
      () => parseCrl(issueCrl({ issuer: root.name, thisUpdate: now, revoked: [{ serialHex: 'ff80', date: now }] }, { key: root.key })),
      'ERR_MALFORMED',
    );
  });

  test('a non-minimal INTEGER anywhere in the certificate structure (here an uninterpreted Name attribute, and pathLenConstraint) → ERR_MALFORMED', () => {
    const key = ecKey();
    const oidDer = fromHex('06032a0304'); // 1.2.3.4, an attribute hopsafe does not interpret
    const nameWith = (int: Uint8Array) => seq(tlv(0x31, seq(oidDer, tlv(0x02, int))));
    const make = (int: Uint8Array) =>
      issueCertificate(
        { subject: nameWith(int), issuer: nameWith(int), notBefore: now, notAfter: new Date(now.getTime() + DAY), publicKey: key },
        { key },
      );
    parseCertificate(make(fromHex('0080')));
    throwsWith(() => parseCertificate(make(fromHex('0001'))), 'ERR_MALFORMED', 'leading 00');
    throwsWith(() => parseCertificate(make(fromHex('ff80'))), 'ERR_MALFORMED', 'leading FF');
    throwsWith(() => parseCertificate(make(new Uint8Array(0))), 'ERR_MALFORMED', 'empty');
    const bc = (v: string) =>
      issueCertificate(
        {
          subject: nameWith(Uint8Array.of(1)),
          issuer: nameWith(Uint8Array.of(1)),
          notBefore: now,
          notAfter: new Date(now.getTime() + DAY),
          publicKey: key,
          extraExtensions: [{ oid: '2.5.29.19', critical: true, value: fromHex(v) }],
        },
        { key },
      );
    assert.equal(parseCertificate(bc('30060101ff020101')).basicConstraints?.pathLen, 1);
    throwsWith(() => parseCertificate(bc('30070101ff02020001')), 'ERR_MALFORMED', 'pathLen 00 01');
  });

  test('property: serials are compared as integers — a CRL listing the integer revokes the certificate whatever its length', async () => {
    const root = miniCa('root', now);
    const leafKey = ecKey();
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 1n, max: (1n << 159n) - 1n }), async (n) => {
        let hex = n.toString(16);
        if (hex.length % 2) hex = `0${hex}`;
        if (parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
        const leaf = miniLeaf('a', root, now, { serial: fromHex(hex) }, leafKey);
        assert.equal(parseCertificate(leaf.der).serialHex, toHex(fromHex(hex)));
        const crl = issueCrl(
          { issuer: root.name, thisUpdate: new Date(now.getTime() - DAY), revoked: [{ serialHex: hex, date: now }] },
          { key: root.key },
        );
        await rejectsWith(
          createTrustStore({ roots: [root.der], crls: [crl] }).verify({ chain: [leaf.der], claimedId: 'a', now }),
          'ERR_CERT_REVOKED',
        );
      }),
      { numRuns: 25 },
    );
  });
});
