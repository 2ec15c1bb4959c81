/**
 * Item 6 of issue 15: revocation never fails open silently. [SPEC 10.5] [SPEC 10.2]
 * A CRL that names the certificate's issuer but cannot be validated (issuer without cRLSign, bad signature,
 * unsupported critical extension, thisUpdate in the future) makes the status unknown: refused in crlMode
 * 'require', passed with a warning event in 'if-present'. And a leaf asserting keyCertSign without cA is refused.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createTrustStore, parseCertificate, type TrustWarning } from '../../src/pki/index.js';
import { issueCrl } from '../../src/pki/issue.js';
import { fromHex } from '../../src/bytes/index.js';
import { DAY, ecKey, miniCa, miniLeaf, opensslVerify, rejectsWith } from '../support/pki.js';

const now = new Date();

function setup(rootKeyUsage?: readonly ('keyCertSign' | 'cRLSign')[]) {
  const root = miniCa('root', now, rootKeyUsage ? { extra: { keyUsage: rootKeyUsage } } : {});
  const leaf = miniLeaf('a', root, now);
  const serialHex = parseCertificate(leaf.der).serialHex;
  const crl = (
    opts: {
      key?: ReturnType<typeof ecKey>;
      thisUpdate?: Date;
      extraExtensions?: { oid: string; critical: boolean; value: Uint8Array }[];
    } = {},
  ) =>
    issueCrl(
      {
        issuer: root.name,
        thisUpdate: opts.thisUpdate ?? new Date(now.getTime() - 1000),
        nextUpdate: new Date(now.getTime() + DAY),
        revoked: [{ serialHex, date: now }],
        ...(opts.extraExtensions ? { extraExtensions: opts.extraExtensions } : {}),
      },
      { key: opts.key ?? root.key },
    );
  return { root, leaf, crl, req: { chain: [leaf.der], claimedId: 'a', now } };
}

async function ifPresentWarns(
  roots: Uint8Array[],
  crl: Uint8Array,
  req: { chain: Uint8Array[]; claimedId: string; now: Date },
  label: string,
): Promise<TrustWarning> {
  const store = createTrustStore({ roots, crls: [crl] });
  const warnings: TrustWarning[] = [];
  store.onWarning((w) => warnings.push(w));
  await store.verify(req);
  assert.equal(warnings.length, 1, `${label}: one warning`);
  const w = warnings[0]!;
  assert.equal(w.code, 'ERR_CERT_REVOKED');
  assert.equal(w.reason, 'revocation-unverified');
  return w;
}

describe('a CRL that names the issuer but cannot be validated [SPEC 10.5]', () => {
  test('issuer lacks cRLSign (limbo crl::issuer-missing-crlsign): require → ERR_CERT_REVOKED, if-present → warning; OpenSSL refuses', async () => {
    const { root, crl, req, leaf } = setup(['keyCertSign']);
    await rejectsWith(
      createTrustStore({ roots: [root.der], crls: [crl()] }, { crlMode: 'require' }).verify(req),
      'ERR_CERT_REVOKED',
      'require',
    );
    const w = await ifPresentWarns([root.der], crl(), req, 'if-present');
    assert.match(w.detail, /cRLSign/);
    const ossl = opensslVerify(leaf.der, [root.der], { crls: [crl()] });
    if (ossl) assert.equal(ossl.ok, false, ossl.out);
  });

  test('the same CRL from an issuer with cRLSign revokes in both modes (control)', async () => {
    const { root, crl, req } = setup(['keyCertSign', 'cRLSign']);
    await rejectsWith(createTrustStore({ roots: [root.der], crls: [crl()] }).verify(req), 'ERR_CERT_REVOKED', 'if-present');
    await rejectsWith(
      createTrustStore({ roots: [root.der], crls: [crl()] }, { crlMode: 'require' }).verify(req),
      'ERR_CERT_REVOKED',
      'require',
    );
  });

  test('bad signature, unsupported critical extension (issuingDistributionPoint, deltaCRLIndicator), future thisUpdate: unknown, never silent', async () => {
    const { root, crl, req } = setup();
    const cases: [string, Uint8Array][] = [
      ['signed by another key', crl({ key: ecKey() })],
      ['critical issuingDistributionPoint', crl({ extraExtensions: [{ oid: '2.5.29.28', critical: true, value: fromHex('3000') }] })],
      ['critical deltaCRLIndicator', crl({ extraExtensions: [{ oid: '2.5.29.27', critical: true, value: fromHex('020101') }] })],
      ['thisUpdate in the future', crl({ thisUpdate: new Date(now.getTime() + DAY) })],
    ];
    for (const [label, der] of cases) {
      await rejectsWith(
        createTrustStore({ roots: [root.der], crls: [der] }, { crlMode: 'require' }).verify(req),
        'ERR_CERT_REVOKED',
        `${label} (require)`,
      );
      await ifPresentWarns([root.der], der, req, label);
    }
    // A usable CRL next to an unusable one decides; no warning then.
    const store = createTrustStore({ roots: [root.der], crls: [crl({ key: ecKey() }), crl()] });
    const warnings: TrustWarning[] = [];
    store.onWarning((w) => warnings.push(w));
    await rejectsWith(store.verify(req), 'ERR_CERT_REVOKED', 'usable one revokes');
    assert.equal(warnings.length, 0);
  });

  test('no CRL at all in if-present: passes without a warning (unchanged)', async () => {
    const { root, req } = setup();
    const store = createTrustStore({ roots: [root.der] });
    let warned = 0;
    store.onWarning(() => warned++);
    await store.verify(req);
    assert.equal(warned, 0);
  });
});

describe('keyCertSign without cA [SPEC 10.2]', () => {
  test('a leaf with keyUsage keyCertSign and basicConstraints cA=FALSE → ERR_CERT_USAGE (RFC 5280 §4.2.1.3)', async () => {
    const root = miniCa('root', now);
    const bad = miniLeaf('a', root, now, { ca: false, keyUsage: ['digitalSignature', 'keyCertSign'] });
    const noBc = miniLeaf('a', root, now, { keyUsage: ['digitalSignature', 'keyCertSign'] });
    const store = createTrustStore({ roots: [root.der] });
    await rejectsWith(store.verify({ chain: [bad.der], claimedId: 'a', now }), 'ERR_CERT_USAGE', 'cA=FALSE');
    await rejectsWith(store.verify({ chain: [noBc.der], claimedId: 'a', now }), 'ERR_CERT_USAGE', 'no basicConstraints');
    await store.verify({ chain: [miniLeaf('a', root, now, { ca: false }).der], claimedId: 'a', now });
  });
});
