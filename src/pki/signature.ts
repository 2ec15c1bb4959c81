/**
 * Signatures on certificates, CRLs and attribute certificates, checked with node:crypto.
 * Accepted algorithms: ECDSA with SHA-256/384/512 (P-256, P-384 keys), Ed25519, RSA PKCS#1 v1.5
 * and RSASSA-PSS (MGF1 with the same hash) with SHA-256/384/512 and keys of at least 2048 bits.
 * SHA-1 and MD5 are refused. [SPEC 10.2]
 */
import { sign as nodeSign, verify as nodeVerify, constants, type KeyObject } from 'node:crypto';
import { HopsafeError } from '../errors/index.js';
import { keyDescription, spkiKeyObject } from '../crypto/node.js';
import { children, oid, TAG, type Tlv } from '../codec/der-read.js';
import { NULL, oid as oidDer, seq, tlv } from '../codec/der-write.js';
import { HASH_OIDS, ID_MGF1, SIG } from './oids.js';

export type HashName = 'sha256' | 'sha384' | 'sha512';
export type SignatureSpec =
  | { readonly kind: 'rsa-pkcs1'; readonly hash: HashName }
  | { readonly kind: 'rsa-pss'; readonly hash: HashName; readonly saltLength: number }
  | { readonly kind: 'ecdsa'; readonly hash: HashName }
  | { readonly kind: 'ed25519' };

/** Result of reading an AlgorithmIdentifier: a supported spec, or why not. */
export type SpecResult = { ok: true; spec: SignatureSpec } | { ok: false; reason: string };

function hashOfAlgId(node: Tlv | undefined, what: string): HashName | undefined {
  if (!node) return undefined;
  const [o] = children(node, what);
  return HASH_OIDS[oid(o, what)];
}

/** A small non-negative INTEGER (≤ 3 content octets, minimal), or undefined. */
function smallUint(t: Tlv): number | undefined {
  const n = t.end - t.start;
  const b = t.buf;
  if (
    t.tag !== TAG.INTEGER ||
    n === 0 ||
    n > 3 ||
    ((b[t.start] as number) & 0x80) !== 0 ||
    (n > 1 && b[t.start] === 0 && ((b[t.start + 1] as number) & 0x80) === 0)
  )
    return undefined;
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + (b[i] as number);
  return v;
}

function pssParams(params: Tlv | undefined): SpecResult {
  if (!params || params.tag !== TAG.SEQUENCE) return { ok: false, reason: 'RSASSA-PSS without parameters (SHA-1 defaults)' };
  let hash: HashName | undefined;
  let mgfHash: HashName | undefined;
  let saltLength = 20;
  for (const f of children(params, 'RSASSA-PSS parameters')) {
    const tag = f.tag & 0x1f;
    const inside = (f.tag & 0xe0) === 0xa0 ? children(f, 'RSASSA-PSS parameter', f.tag) : [];
    const inner = inside[0];
    if (!inner || inside.length !== 1) return { ok: false, reason: 'bad RSASSA-PSS parameters' };
    if (tag === 0) hash = hashOfAlgId(inner, 'PSS hash');
    else if (tag === 1) {
      const [mgfOid, mgfParam] = children(inner, 'PSS MGF');
      if (oid(mgfOid, 'PSS MGF') !== ID_MGF1) return { ok: false, reason: 'PSS mask generation is not MGF1' };
      mgfHash = hashOfAlgId(mgfParam, 'MGF1 hash');
    } else if (tag === 2) {
      const v = smallUint(inner);
      if (v === undefined) return { ok: false, reason: 'bad PSS salt length' };
      saltLength = v;
    } else if (tag === 3) {
      if (smallUint(inner) !== 1) return { ok: false, reason: 'bad PSS trailer field' };
    }
  }
  if (!hash || !mgfHash) return { ok: false, reason: 'RSASSA-PSS with SHA-1 or an unknown hash' };
  if (hash !== mgfHash) return { ok: false, reason: 'RSASSA-PSS with an MGF1 hash different from the message hash' };
  if (saltLength < 0 || saltLength > 512) return { ok: false, reason: 'bad PSS salt length' };
  return { ok: true, spec: { kind: 'rsa-pss', hash, saltLength } };
}

/** Reads an AlgorithmIdentifier. */
export function signatureSpec(algId: Tlv): SpecResult {
  const [oidNode, params] = children(algId, 'AlgorithmIdentifier');
  const o = oid(oidNode, 'AlgorithmIdentifier');
  const absentOrNull = !params || (params.tag === TAG.NULL && params.end === params.start);
  switch (o) {
    case SIG.rsaPkcs1Sha256:
    case SIG.rsaPkcs1Sha384:
    case SIG.rsaPkcs1Sha512:
      if (!absentOrNull) return { ok: false, reason: 'unexpected RSA signature parameters' };
      return {
        ok: true,
        spec: { kind: 'rsa-pkcs1', hash: o === SIG.rsaPkcs1Sha256 ? 'sha256' : o === SIG.rsaPkcs1Sha384 ? 'sha384' : 'sha512' },
      };
    case SIG.rsaPss:
      return pssParams(params);
    case SIG.ecdsaSha256:
    case SIG.ecdsaSha384:
    case SIG.ecdsaSha512:
      if (params) return { ok: false, reason: 'unexpected ECDSA signature parameters' };
      return { ok: true, spec: { kind: 'ecdsa', hash: o === SIG.ecdsaSha256 ? 'sha256' : o === SIG.ecdsaSha384 ? 'sha384' : 'sha512' } };
    case SIG.ed25519:
      if (params) return { ok: false, reason: 'unexpected Ed25519 parameters' };
      return { ok: true, spec: { kind: 'ed25519' } };
    default:
      return { ok: false, reason: `signature algorithm ${o} is not accepted` };
  }
}

/** Why a public key may not be used to verify (or be certified for) hopsafe signatures; undefined when fine. */
export function keyProblem(key: KeyObject | undefined): string | undefined {
  if (!key) return 'key type not supported';
  const d = keyDescription(key);
  if (d.type === 'ec')
    return d.namedCurve === 'prime256v1' || d.namedCurve === 'secp384r1' ? undefined : `EC curve ${d.namedCurve || '?'} is not accepted`;
  if (d.type === 'ed25519') return undefined;
  if (d.type === 'rsa') return d.modulusLength >= 2048 ? undefined : `RSA key of ${d.modulusLength} bits (minimum 2048)`;
  return `key type ${d.name} is not accepted`;
}

/**
 * Loads a certificate's SPKI into node:crypto after the shared strict screening (Node 20 aborts
 * the process on some malformed EC keys); an SPKI loaded before (by any certificate or by the node
 * provider) is not loaded again. Returns a reason instead of a key for key types hopsafe does not
 * support; throws ERR_MALFORMED for malformed ones.
 */
export function importSpki(spki: Uint8Array): { key: KeyObject } | { unsupported: string } {
  try {
    return { key: spkiKeyObject(spki).key };
  } catch (e) {
    if (e instanceof HopsafeError && e.code === 'ERR_UNSUPPORTED') return { unsupported: e.message };
    if (e instanceof HopsafeError) throw new HopsafeError('ERR_MALFORMED', `SubjectPublicKeyInfo: ${e.message}`, { cause: e });
    throw new HopsafeError('ERR_MALFORMED', 'invalid SubjectPublicKeyInfo', { cause: e });
  }
}

/** True only if `sig` is a valid signature of `data` by `key` under `spec` and the key suits the algorithm. */
export function verifySigned(spec: SignatureSpec, data: Uint8Array, sig: Uint8Array, key: KeyObject | undefined): boolean {
  if (!key || keyProblem(key)) return false;
  const t = key.asymmetricKeyType;
  try {
    switch (spec.kind) {
      case 'ed25519':
        return t === 'ed25519' && nodeVerify(null, data, key, sig);
      case 'ecdsa':
        return t === 'ec' && nodeVerify(spec.hash, data, { key, dsaEncoding: 'der' }, sig);
      case 'rsa-pkcs1':
        return t === 'rsa' && nodeVerify(spec.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
      case 'rsa-pss':
        return (
          (t === 'rsa' || t === 'rsa-pss') &&
          nodeVerify(spec.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.saltLength }, sig)
        );
    }
  } catch {
    return false;
  }
}

/** The AlgorithmIdentifier (DER) and signing function hopsafe uses when it issues with `key`. */
export function signerFor(key: KeyObject, opts: { rsaPss?: boolean } = {}): { algId: Uint8Array; sign(data: Uint8Array): Uint8Array } {
  const t = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (t === 'ed25519') return { algId: seq(oidDer(SIG.ed25519)), sign: (d) => new Uint8Array(nodeSign(null, d, key)) };
  if (t === 'ec') {
    const hash = curve === 'secp384r1' ? 'sha384' : 'sha256';
    return {
      algId: seq(oidDer(hash === 'sha384' ? SIG.ecdsaSha384 : SIG.ecdsaSha256)),
      sign: (d) => new Uint8Array(nodeSign(hash, d, { key, dsaEncoding: 'der' })),
    };
  }
  if (t === 'rsa' && !opts.rsaPss) {
    return {
      algId: seq(oidDer(SIG.rsaPkcs1Sha256), NULL),
      sign: (d) => new Uint8Array(nodeSign('sha256', d, { key, padding: constants.RSA_PKCS1_PADDING })),
    };
  }
  if (t === 'rsa' || t === 'rsa-pss') {
    // RSASSA-PSS-params: SHA-256, MGF1-SHA-256, salt 32.
    const sha256 = seq(oidDer('2.16.840.1.101.3.4.2.1'));
    const params = seq(tlv(0xa0, sha256), tlv(0xa1, seq(oidDer(ID_MGF1), sha256)), tlv(0xa2, new Uint8Array([0x02, 0x01, 0x20])));
    return {
      algId: seq(oidDer(SIG.rsaPss), params),
      sign: (d) => new Uint8Array(nodeSign('sha256', d, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })),
    };
  }
  throw new HopsafeError('ERR_UNSUPPORTED', `cannot issue with a ${t ?? 'unknown'} key`);
}
