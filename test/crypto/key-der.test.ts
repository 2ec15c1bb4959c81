/**
 * The key screening on the codec's DER reader (issue 17, one DER engine): what asn1js refused keeps being refused,
 * and DER's canonical-encoding rules hold in key structures too. [SPEC 4.4]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { screenPkcs8, screenSpki } from '../../src/crypto/key-der.js';
import { fromHex, toHex } from '../../src/bytes/index.js';
import { HopsafeError } from '../../src/errors/index.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'accepted';
  } catch (e) {
    return e instanceof HopsafeError ? e.code : `not a HopsafeError: ${String(e)}`;
  }
};
const spkiOf = (type: 'ec' | 'ed25519', curve?: string): Uint8Array => {
  const { publicKey } = generateKeyPairSync(type as 'ec', curve ? { namedCurve: curve } : (undefined as never));
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
};
const replace = (der: Uint8Array, from: string, to: string): Uint8Array => {
  const hex = toHex(der);
  assert.ok(hex.includes(from), `${from} in ${hex}`);
  return fromHex(hex.replace(from, to));
};

test('[SPEC 4.4] well-formed keys pass the screening: P-256, P-384, Ed25519, and PKCS#8 with the public key', () => {
  for (const [t, c] of [
    ['ec', 'prime256v1'],
    ['ec', 'secp384r1'],
    ['ed25519', undefined],
  ] as const) {
    const { privateKey, publicKey } = generateKeyPairSync(t as 'ec', c ? { namedCurve: c } : (undefined as never));
    assert.equal(screenSpki(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }))).type, t);
    const k = screenPkcs8(new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' })));
    assert.equal(k.type, t);
    if (k.type === 'ec') assert.equal(k.scalar.length, c === 'secp384r1' ? 48 : 32);
  }
});

test('[SPEC 4.4] [SPEC 10.1] a non-minimal OID arc (a second encoding of secp384r1) is ERR_MALFORMED', () => {
  const spki = spkiOf('ec', 'secp384r1');
  assert.equal(
    code(() => screenSpki(spki)),
    'accepted',
  );
  // 1.3.132.0.34 is 2b 81 04 00 22; the arc 34 written as 80 22 spells the same number non-minimally
  const bent = replace(spki, '06052b81040022', '06062b8104008022');
  const outer = replace(bent, '3076301006072a8648ce3d0201', '3077301106072a8648ce3d0201');
  assert.equal(
    code(() => screenSpki(outer)),
    'ERR_MALFORMED',
  );
});

test('[SPEC 4.4] reserved universal tags (15, 37 and up) and constructed strings are ERR_MALFORMED, also in parameters hopsafe does not read', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsa = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  // rsaEncryption's parameters are not read: any well-formed value there still screens as an RSA key
  const NULL_PARAM = '300d06092a864886f70d0101010500';
  const withParam = (p: string): Uint8Array => {
    const grow = p.length / 2 - 2;
    const alg = `30${(0x0d + grow).toString(16).padStart(2, '0')}06092a864886f70d010101${p}`;
    return replace(replace(rsa, NULL_PARAM, alg), '30820122', `308201${(0x22 + grow).toString(16)}`);
  };
  assert.equal(
    code(() => screenSpki(withParam('0500'))),
    'accepted',
  );
  assert.equal(
    code(() => screenSpki(withParam('0400'))),
    'accepted',
  );
  assert.equal(
    code(() => screenSpki(withParam('1f2200'))),
    'accepted',
  ); // universal 34 (DURATION): defined
  for (const p of ['0f00', '2f00', '1f2500', '1f8100', '2400', '2403040100', '1000'])
    assert.equal(
      code(() => screenSpki(withParam(p))),
      'ERR_MALFORMED',
      p,
    );
});
