/**
 * Issuing certificates, CRLs and attribute certificates (used by createTestPki and `hopsafe pki`).
 * Signatures by node:crypto; ECDSA keys sign with the hash matching the curve, RSA with PKCS#1 v1.5
 * SHA-256 (or PSS on request), Ed25519 as is. [SPEC 10.6]
 */
import { createHash, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { HopsafeError } from '../errors/index.js';
import { fromHex } from '../bytes/index.js';
import { integer as intDer, octetString as octets, oid, seq, set, time, tlv, utf8String as utf8 } from '../codec/der-write.js';
import { signerFor } from './signature.js';
import { encodeRoleInformation, type RoleSpec } from './roles.js';
import { attributeCertInfo } from './attribute-cert.js';
import {
  ID_AT_COMMON_NAME,
  ID_AT_ORGANIZATION,
  ID_CE_AUTHORITY_KEY_ID,
  ID_CE_BASIC_CONSTRAINTS,
  ID_CE_CRL_NUMBER,
  ID_CE_EXT_KEY_USAGE,
  ID_CE_KEY_USAGE,
  ID_CE_SUBJECT_ALT_NAME,
  ID_CE_SUBJECT_KEY_ID,
  ID_IEC62351_8_ROLE_INFO,
  ID_ON_HOPSAFE_ENDPOINT_ID,
} from './oids.js';
import { KEY_USAGE_BITS, type KeyUsageName } from './x509.js';

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. Whole seconds. */
export const encodeTime: (d: Date) => Uint8Array = time;

/** A DER Name with CN (and optionally O). */
export function encodeName(cn: string, o?: string): Uint8Array {
  const rdn = (type: string, v: string): Uint8Array => set(seq(oid(type), utf8(v)));
  return o ? seq(rdn(ID_AT_ORGANIZATION, o), rdn(ID_AT_COMMON_NAME, cn)) : seq(rdn(ID_AT_COMMON_NAME, cn));
}

/** Positive INTEGER content of `n` random bytes (default 16), minimal. */
export function randomSerial(n = 16): Uint8Array {
  const b = new Uint8Array(randomBytes(n));
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x40;
  return b;
}

function integer(content: Uint8Array): Uint8Array {
  return tlv(0x02, content);
}

export function keyIdentifier(spki: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(spki).digest().subarray(0, 20));
}

function ext(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return seq(oid(id), ...(critical ? [new Uint8Array([0x01, 0x01, 0xff])] : []), octets(value));
}

function keyUsageBits(names: readonly KeyUsageName[]): Uint8Array {
  let bits = 0;
  let last = -1;
  for (const n of names) {
    const i = KEY_USAGE_BITS.indexOf(n);
    bits |= 1 << (15 - i);
    last = Math.max(last, i);
  }
  const nBytes = last >= 8 ? 2 : 1;
  const used = last + 1;
  const unused = nBytes * 8 - used;
  const bytes = nBytes === 2 ? [(bits >> 8) & 0xff, bits & 0xff] : [(bits >> 8) & 0xff];
  return tlv(0x03, new Uint8Array([unused, ...bytes]));
}

export function spkiOf(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return new Uint8Array(pub.export({ format: 'der', type: 'spki' }));
}

export interface CertTemplate {
  readonly subject: Uint8Array;
  readonly issuer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Subject public key (SPKI DER or key). */
  readonly publicKey: Uint8Array | KeyObject;
  readonly serial?: Uint8Array;
  /** basicConstraints: `ca: true` marks a CA (critical). Omit for a leaf without the extension. */
  readonly ca?: boolean;
  readonly pathLen?: number;
  /** null omits the extension. Default: CA → keyCertSign+cRLSign; leaf → digitalSignature. */
  readonly keyUsage?: readonly KeyUsageName[] | null;
  /** null/undefined omits the extension. */
  readonly extKeyUsage?: readonly string[] | null;
  readonly san?: { readonly dns?: readonly string[]; readonly uris?: readonly string[]; readonly endpointIds?: readonly string[] };
  readonly roles?: readonly RoleSpec[];
  /** Issuer's SPKI, for authorityKeyIdentifier. */
  readonly issuerSpki?: Uint8Array;
  readonly extraExtensions?: readonly { oid: string; critical: boolean; value: Uint8Array }[];
}

export interface Signer {
  readonly key: KeyObject;
  readonly rsaPss?: boolean;
}

/** Issues an X.509 v3 certificate signed with `signer`. */
export function issueCertificate(t: CertTemplate, signer: Signer): Uint8Array {
  const spki = t.publicKey instanceof Uint8Array ? t.publicKey : spkiOf(t.publicKey);
  const s = signerFor(signer.key, signer.rsaPss ? { rsaPss: true } : {});
  const exts: Uint8Array[] = [];
  if (t.ca !== undefined) {
    const bc: Uint8Array[] = t.ca ? [new Uint8Array([0x01, 0x01, 0xff])] : [];
    if (t.ca && t.pathLen !== undefined) bc.push(intDer(t.pathLen));
    exts.push(ext(ID_CE_BASIC_CONSTRAINTS, true, seq(...bc)));
  }
  const ku = t.keyUsage === undefined ? (t.ca ? (['keyCertSign', 'cRLSign'] as const) : (['digitalSignature'] as const)) : t.keyUsage;
  if (ku && ku.length > 0) exts.push(ext(ID_CE_KEY_USAGE, true, keyUsageBits(ku)));
  if (t.extKeyUsage && t.extKeyUsage.length > 0) exts.push(ext(ID_CE_EXT_KEY_USAGE, false, seq(...t.extKeyUsage.map(oid))));
  const names: Uint8Array[] = [];
  for (const d of t.san?.dns ?? []) names.push(tlv(0x82, new TextEncoder().encode(d)));
  for (const u of t.san?.uris ?? []) names.push(tlv(0x86, new TextEncoder().encode(u)));
  for (const e of t.san?.endpointIds ?? []) names.push(tlv(0xa0, oid(ID_ON_HOPSAFE_ENDPOINT_ID), tlv(0xa0, utf8(e))));
  if (names.length > 0) exts.push(ext(ID_CE_SUBJECT_ALT_NAME, false, seq(...names)));
  exts.push(ext(ID_CE_SUBJECT_KEY_ID, false, octets(keyIdentifier(spki))));
  if (t.issuerSpki) exts.push(ext(ID_CE_AUTHORITY_KEY_ID, false, seq(tlv(0x80, keyIdentifier(t.issuerSpki)))));
  if (t.roles && t.roles.length > 0) exts.push(ext(ID_IEC62351_8_ROLE_INFO, false, encodeRoleInformation(t.roles)));
  for (const x of t.extraExtensions ?? []) exts.push(ext(x.oid, x.critical, x.value));
  const tbs = seq(
    tlv(0xa0, new Uint8Array([0x02, 0x01, 0x02])),
    integer(t.serial ?? randomSerial()),
    s.algId,
    t.issuer,
    seq(encodeTime(t.notBefore), encodeTime(t.notAfter)),
    t.subject,
    spki,
    tlv(0xa3, seq(...exts)),
  );
  return seq(tbs, s.algId, tlv(0x03, new Uint8Array([0]), s.sign(tbs)));
}

export interface CrlTemplate {
  readonly issuer: Uint8Array;
  readonly issuerSpki?: Uint8Array;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /** Serial numbers (hex INTEGER content, as ParsedCert.serialHex) with revocation dates. */
  readonly revoked: readonly { serialHex: string; date: Date }[];
  /** null omits CRLNumber. */
  readonly crlNumber?: number | null;
  readonly extraExtensions?: readonly { oid: string; critical: boolean; value: Uint8Array }[];
}

export function issueCrl(t: CrlTemplate, signer: Signer): Uint8Array {
  const s = signerFor(signer.key, signer.rsaPss ? { rsaPss: true } : {});
  const exts: Uint8Array[] = t.crlNumber === null ? [] : [ext(ID_CE_CRL_NUMBER, false, intDer(t.crlNumber ?? 1))];
  if (t.issuerSpki) exts.push(ext(ID_CE_AUTHORITY_KEY_ID, false, seq(tlv(0x80, keyIdentifier(t.issuerSpki)))));
  for (const x of t.extraExtensions ?? []) exts.push(ext(x.oid, x.critical, x.value));
  const entries = t.revoked.map((r) => seq(integer(fromHex(r.serialHex)), encodeTime(r.date)));
  const tbs = seq(
    new Uint8Array([0x02, 0x01, 0x01]),
    s.algId,
    t.issuer,
    encodeTime(t.thisUpdate),
    ...(t.nextUpdate ? [encodeTime(t.nextUpdate)] : []),
    ...(entries.length > 0 ? [seq(...entries)] : []),
    ...(exts.length > 0 ? [tlv(0xa0, seq(...exts))] : []),
  );
  return seq(tbs, s.algId, tlv(0x03, new Uint8Array([0]), s.sign(tbs)));
}

export interface AttributeCertTemplate {
  /** Identity certificate's issuer Name (DER) and serial (INTEGER content). */
  readonly holderIssuer: Uint8Array;
  readonly holderSerial: Uint8Array;
  /** Attribute authority's Name (DER). */
  readonly issuer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly roles: readonly RoleSpec[];
  readonly serial?: Uint8Array;
}

export function issueAttributeCertificate(t: AttributeCertTemplate, signer: Signer): Uint8Array {
  const s = signerFor(signer.key, signer.rsaPss ? { rsaPss: true } : {});
  const tbs = attributeCertInfo({
    holderIssuer: t.holderIssuer,
    holderSerial: integer(t.holderSerial),
    issuerName: t.issuer,
    algId: s.algId,
    serial: integer(t.serial ?? randomSerial()),
    notBefore: t.notBefore,
    notAfter: t.notAfter,
    roleInformation: encodeRoleInformation(t.roles),
  });
  if (tbs.length === 0) throw new HopsafeError('ERR_INPUT', 'empty attribute certificate');
  return seq(tbs, s.algId, tlv(0x03, new Uint8Array([0]), s.sign(tbs)));
}
