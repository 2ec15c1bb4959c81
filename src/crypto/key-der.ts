/**
 * Strict PKCS#8 (RFC 5208/5958) and SubjectPublicKeyInfo (RFC 5280) parsing on the codec's DER reader
 * (strict framing and universal-value content checked before any field is read). Used by BOTH providers
 * before any key reaches a library, so both refuse the same inputs, and so OpenSSL never sees encodings that crash Node 20
 * (`asymmetricKeyDetails` aborts the process on an EC key whose point is the 0x00 "infinity"
 * encoding, or whose private scalar is longer than the field). Structure and encoding only:
 * curve arithmetic (scalar in [1, n-1], point on the curve) is the provider's job.
 * Structural defects are ERR_MALFORMED; key types hopsafe cannot use are ERR_UNSUPPORTED. [SPEC 4.4]
 */
import { HopsafeError } from '../errors/index.js';
import { malformed } from '../codec/der.js';
import { bitString, childrenOf, decodeDer, explicit, isContext, octets, oid, smallInt, TAG, type Tlv } from '../codec/der-read.js';

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_ED25519 = '1.3.101.112';
const OID_RSA = new Set(['1.2.840.113549.1.1.1', '1.2.840.113549.1.1.10']);

/** Named-curve OIDs → the names node:crypto reports, so `signatureAlgForKey` sees the same input. */
export const CURVE_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.10045.3.1.7': 'prime256v1',
  '1.3.132.0.34': 'secp384r1',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
};

/** Field (and scalar) byte length of the EC curves hopsafe uses, by the names node:crypto reports. */
export const EC_FIELD_LENGTH: Readonly<Record<string, number>> = {
  prime256v1: 32,
  secp384r1: 48,
  brainpoolP256r1: 32,
};

export type ParsedPrivateKey =
  | { readonly type: 'ed25519'; readonly seed: Uint8Array; readonly publicKey?: Uint8Array }
  | { readonly type: 'ec'; readonly curve: string; readonly scalar: Uint8Array; readonly publicKey?: Uint8Array }
  | { readonly type: 'rsa' }
  | { readonly type: 'other'; readonly name: string };

export type ParsedPublicKey =
  | { readonly type: 'ed25519'; readonly key: Uint8Array }
  | { readonly type: 'ec'; readonly curve: string; readonly point: Uint8Array }
  | { readonly type: 'rsa' }
  | { readonly type: 'other'; readonly name: string };

/**
 * One complete, strictly framed DER value (keys are 4 levels deep at most) and nothing after it, with the
 * content of every universal value checked (what asn1js refused while parsing, before this reader).
 */
function decode(bytes: Uint8Array, what: string): Tlv {
  return decodeDer(bytes, what, { maxDepth: 8, universalContent: true });
}

function children(t: Tlv | undefined, min: number, max: number, what: string): Tlv[] {
  if (t?.tag !== TAG.SEQUENCE) malformed(`${what}: expected SEQUENCE`);
  const v = childrenOf(t);
  if (v.length < min || v.length > max) malformed(`${what}: SEQUENCE has ${v.length} elements`);
  return v;
}

/** A small non-negative INTEGER (≤ 3 octets) in minimal encoding. */
const smallUint = (t: Tlv | undefined, what: string): number => smallInt(t, what, 0, 0xffffff);

/** OCTET STRING content (a copy: key material outlives the caller's buffer). */
const keyOctets = (t: Tlv | undefined, what: string): Uint8Array => octets(t, what).slice();

/** BIT STRING of whole octets (a copy). */
function bits(t: Tlv | undefined, what: string): Uint8Array {
  const b = bitString(t, what);
  if (b.unused !== 0) malformed(`${what}: expected BIT STRING of whole octets`);
  return b.bytes.slice();
}

/** The content octets of an IMPLICIT [n] BIT STRING (first octet = unused bits, must be 0), a copy. */
function implicitBits(t: Tlv, what: string): Uint8Array {
  if ((t.tag & 0x20) !== 0) malformed(`${what}: bad implicit BIT STRING`);
  if (t.end === t.start || t.buf[t.start] !== 0) malformed(`${what}: BIT STRING with unused bits`);
  return t.buf.slice(t.start + 1, t.end);
}

interface AlgorithmIdentifier {
  readonly algorithm: string;
  readonly parameters: Tlv | undefined;
}

function algorithmIdentifier(t: Tlv | undefined, what: string): AlgorithmIdentifier {
  const [alg, params] = children(t, 1, 2, `${what} AlgorithmIdentifier`);
  return { algorithm: oid(alg, `${what} algorithm`), parameters: params };
}

/** EC keys carry a namedCurve OID; explicit curve parameters are not supported (RFC 5480 §2.1.1). */
function namedCurve(params: Tlv | undefined, what: string): string {
  if (params?.tag === TAG.OID) return oid(params, what);
  if (params?.tag === TAG.SEQUENCE) throw new HopsafeError('ERR_UNSUPPORTED', `${what}: explicit EC parameters`);
  return malformed(`${what}: EC key without namedCurve`);
}

/** PKCS#8 PrivateKeyInfo / OneAsymmetricKey (v1 or v2). */
export function parsePkcs8(der: Uint8Array): ParsedPrivateKey {
  const items = children(decode(der, 'PKCS#8'), 3, 5, 'PKCS#8');
  const version = smallUint(items[0], 'PKCS#8 version');
  if (version !== 0 && version !== 1) malformed('PKCS#8: unknown version');
  const alg = algorithmIdentifier(items[1], 'PKCS#8');
  const privateKey = octets(items[2], 'PKCS#8 privateKey');
  let outerPublic: Uint8Array | undefined;
  let i = 3;
  if (isContext(items[i], 0)) i++; // attributes: ignored
  const pub = items[i];
  if (pub !== undefined && isContext(pub, 1)) {
    if (version !== 1) malformed('PKCS#8: publicKey in a v1 structure');
    outerPublic = implicitBits(pub, 'PKCS#8 publicKey');
    i++;
  }
  if (i !== items.length) malformed('PKCS#8: unexpected trailing fields');

  if (alg.algorithm === OID_ED25519) {
    // RFC 8410 §7: parameters absent; privateKey holds CurvePrivateKey ::= OCTET STRING (32 bytes).
    if (alg.parameters !== undefined) malformed('Ed25519 AlgorithmIdentifier must not have parameters');
    const seed = keyOctets(decode(privateKey, 'CurvePrivateKey'), 'CurvePrivateKey');
    if (seed.length !== 32) malformed('Ed25519 private key must be 32 bytes');
    return outerPublic ? { type: 'ed25519', seed, publicKey: outerPublic } : { type: 'ed25519', seed };
  }
  if (alg.algorithm === OID_EC_PUBLIC_KEY) {
    const curveOid = namedCurve(alg.parameters, 'PKCS#8');
    // RFC 5915 ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] params OPTIONAL, [1] publicKey OPTIONAL }
    const ec = children(decode(privateKey, 'ECPrivateKey'), 2, 4, 'ECPrivateKey');
    if (smallUint(ec[0], 'ECPrivateKey version') !== 1) malformed('ECPrivateKey: version must be 1');
    const scalar = keyOctets(ec[1], 'ECPrivateKey privateKey');
    let publicKey = outerPublic;
    let j = 2;
    const p0 = ec[j];
    if (p0 !== undefined && isContext(p0, 0)) {
      if (namedCurve(explicit(p0, 'ECPrivateKey parameters'), 'ECPrivateKey') !== curveOid)
        malformed('ECPrivateKey: parameters differ from the AlgorithmIdentifier');
      j++;
    }
    const p1 = ec[j];
    if (p1 !== undefined && isContext(p1, 1)) {
      publicKey = bits(explicit(p1, 'ECPrivateKey publicKey'), 'ECPrivateKey publicKey');
      j++;
    }
    if (j !== ec.length) malformed('ECPrivateKey: unexpected fields');
    const curve = CURVE_NAMES[curveOid] ?? curveOid;
    return publicKey ? { type: 'ec', curve, scalar, publicKey } : { type: 'ec', curve, scalar };
  }
  if (OID_RSA.has(alg.algorithm)) return { type: 'rsa' };
  return { type: 'other', name: alg.algorithm };
}

/** X.509 SubjectPublicKeyInfo. */
export function parseSpki(der: Uint8Array): ParsedPublicKey {
  const [algNode, keyNode] = children(decode(der, 'SubjectPublicKeyInfo'), 2, 2, 'SubjectPublicKeyInfo');
  const alg = algorithmIdentifier(algNode, 'SubjectPublicKeyInfo');
  const key = bits(keyNode, 'subjectPublicKey');
  if (alg.algorithm === OID_ED25519) {
    if (alg.parameters !== undefined) malformed('Ed25519 AlgorithmIdentifier must not have parameters');
    if (key.length !== 32) malformed('Ed25519 public key must be 32 bytes');
    return { type: 'ed25519', key };
  }
  if (alg.algorithm === OID_EC_PUBLIC_KEY) {
    const curveOid = namedCurve(alg.parameters, 'SubjectPublicKeyInfo');
    return { type: 'ec', curve: CURVE_NAMES[curveOid] ?? curveOid, point: key };
  }
  if (OID_RSA.has(alg.algorithm)) return { type: 'rsa' };
  return { type: 'other', name: alg.algorithm };
}

function fieldLength(curve: string): number {
  const n = EC_FIELD_LENGTH[curve];
  if (n === undefined) throw new HopsafeError('ERR_UNSUPPORTED', `EC curve ${curve} is not supported`);
  return n;
}

/**
 * [SPEC 4.4] An EC public key's SEC1 encoding: uncompressed 0x04||X||Y or compressed 0x02/0x03||X
 * of exactly the field size; never the one-byte point at infinity. Whether the point is on the
 * curve is for the provider to check.
 */
export function checkEcPointEncoding(curve: string, point: Uint8Array): void {
  const f = fieldLength(curve);
  const ok = (point[0] === 0x04 && point.length === 1 + 2 * f) || ((point[0] === 0x02 || point[0] === 0x03) && point.length === 1 + f);
  if (!ok) malformed(`EC public key is not a SEC1 point of ${curve}`);
}

/**
 * [SPEC 4.4] Screens a PKCS#8 key before a library sees it: strict structure, EC curves hopsafe
 * knows, EC scalar (minus leading zero octets) no longer than the field, and a well-encoded
 * embedded public key. Returns the parse; the caller checks the scalar range and key match.
 */
export function screenPkcs8(der: Uint8Array): Exclude<ParsedPrivateKey, { type: 'other' }> {
  const k = parsePkcs8(der);
  if (k.type === 'other') throw new HopsafeError('ERR_UNSUPPORTED', `key type ${k.name} is not supported`);
  if (k.type === 'ec') {
    const f = fieldLength(k.curve);
    let i = 0;
    while (i < k.scalar.length - 1 && k.scalar[i] === 0) i++;
    if (k.scalar.length === 0 || k.scalar.length - i > f) malformed('EC private key longer than the field');
    if (k.publicKey) checkEcPointEncoding(k.curve, k.publicKey);
    const scalar = new Uint8Array(f);
    scalar.set(k.scalar.subarray(i), f - (k.scalar.length - i));
    return k.publicKey ? { type: 'ec', curve: k.curve, scalar, publicKey: k.publicKey } : { type: 'ec', curve: k.curve, scalar };
  }
  if (k.type === 'ed25519' && k.publicKey && k.publicKey.length !== 32) malformed('Ed25519 public key must be 32 bytes');
  return k;
}

/**
 * [SPEC 4.4] Screens a SubjectPublicKeyInfo before a library sees it (see `screenPkcs8`).
 * Anything that loads a peer's SPKI into node:crypto — providers and PKI alike — must call this
 * first: Node 20 aborts the process on an EC key whose point is the 0x00 infinity encoding.
 */
export function screenSpki(der: Uint8Array): Exclude<ParsedPublicKey, { type: 'other' }> {
  const k = parseSpki(der);
  if (k.type === 'other') throw new HopsafeError('ERR_UNSUPPORTED', `key type ${k.name} is not supported`);
  if (k.type === 'ec') checkEcPointEncoding(k.curve, k.point);
  return k;
}
