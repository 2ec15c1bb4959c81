/**
 * X.509 certificate parsing (RFC 5280) into the fields validation needs. Strict: the outer
 * encoding must be DER, the outer and inner signature algorithms identical, duplicate
 * extensions refused. Every failure is ERR_MALFORMED. [SPEC 10.1]
 */
import * as nodeCrypto from 'node:crypto';
import { createHash, type KeyObject } from 'node:crypto';
import { HopsafeError } from '../errors/index.js';
import { equal, toHex } from '../bytes/index.js';
import {
  bitString,
  boolean,
  children,
  contentOf,
  ctx,
  explicit,
  integerContent,
  octets,
  oid,
  parseDer,
  raw,
  smallInt,
  stringValue,
  TAG,
  time,
  type Tlv,
} from '../codec/der-read.js';
import { parseSignedEnvelope } from './der.js';
import { importSpki, signatureSpec, type SpecResult } from './signature.js';
import { parseNameConstraints, rdnsOf, type ConstrainedNames, type NameConstraints } from './name-constraints.js';
import { canonicalName } from './name-compare.js';
import { cnBinds } from './names.js';
import {
  ID_AT_COMMON_NAME,
  ID_CE_AUTHORITY_KEY_ID,
  ID_CE_BASIC_CONSTRAINTS,
  ID_CE_EXT_KEY_USAGE,
  ID_CE_KEY_USAGE,
  ID_CE_NAME_CONSTRAINTS,
  ID_CE_SUBJECT_ALT_NAME,
  ID_CE_SUBJECT_KEY_ID,
  ID_IEC62351_8_ROLE_INFO,
  ID_ON_HOPSAFE_ENDPOINT_ID,
  KNOWN_EXTENSIONS,
} from './oids.js';

/** Largest certificate accepted, bytes. */
export const MAX_CERT_SIZE = 16 * 1024;

export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number];

export interface SubjectNames {
  readonly commonNames: readonly string[];
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  /** otherName values of type id-on-hopsafe-endpointId. */
  readonly endpointIds: readonly string[];
}

/**
 * [SPEC 10.1] An X.509 certificate read by the strict DER reader, as {@link parseCertificate} returns it: the fields
 * path validation, name binding and roles use. Parsing checks structure only: nothing here says the certificate is
 * trusted.
 */
export interface ParsedCert extends SubjectNames {
  readonly der: Uint8Array;
  /** Hex SHA-256 of `der`. */
  readonly fingerprint: string;
  readonly tbs: Uint8Array;
  readonly sigSpec: SpecResult;
  readonly signature: Uint8Array;
  readonly version: number;
  /** Hex of the serialNumber INTEGER content octets. */
  readonly serialHex: string;
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly issuerText: string;
  readonly subjectText: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spki: Uint8Array;
  /** Undefined when the key type is not supported (see `keyUnsupported`). */
  readonly publicKey: KeyObject | undefined;
  readonly keyUnsupported?: string;
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLen?: number };
  readonly keyUsage?: ReadonlySet<KeyUsageName>;
  readonly extKeyUsage?: readonly string[];
  readonly subjectKeyId?: Uint8Array;
  readonly authorityKeyId?: Uint8Array;
  /** DER of the IEC 62351-8 RoleInformation extension value, if present. */
  readonly roleInfo?: Uint8Array;
  /** OIDs of critical extensions this implementation does not process. */
  readonly unknownCritical: readonly string[];
  /** [SPEC 10.2] RFC 5280 §7.1 comparison keys of the subject and issuer Names (equal keys ⇔ the Names match). */
  readonly subjectKey: string;
  readonly issuerKey: string;
  /** Subject and issuer Names match (RFC 5280 self-issued). */
  readonly selfIssued: boolean;
  /** nameConstraints (RFC 5280 §4.2.1.10), critical or not. */
  readonly nameConstraints?: NameConstraints;
  /** The names nameConstraints govern. */
  readonly constrainedNames: ConstrainedNames;
}

const malformed = (msg: string): HopsafeError => new HopsafeError('ERR_MALFORMED', `certificate: ${msg}`);

/** Node ≥ 20.12's one-shot digest (no Hash object: ≈ 1 µs instead of ≈ 3 µs per certificate); absent on older Node 20. */
const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, encoding: 'hex') => string }).hash;

/** Lower-case hex SHA-256 of `b` (certificate fingerprints). */
export function sha256Hex(b: Uint8Array): string {
  return oneShotHash ? oneShotHash('sha256', b, 'hex') : createHash('sha256').update(b).digest('hex');
}

/** [SPEC 10.1] A validity bound: UTCTime or GeneralizedTime in the RFC 5280 DER forms. */
export function parseTime(node: Tlv | undefined, what: string): Date {
  return time(node, what);
}

const ATTR_SHORT: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '0.9.2342.19200300.100.1.25': 'DC',
};

const ID_EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

/**
 * Reads a Name (SEQUENCE OF SET OF AttributeTypeAndValue): its attribute values as text, all CN values, its
 * RDNs (DER views), whether it carries an emailAddress attribute, and its RFC 5280 §7.1 comparison key.
 */
export function readName(
  node: Tlv | undefined,
  what: string,
): { text: string; commonNames: string[]; rdns: Uint8Array[]; hasEmail: boolean; key: string } {
  const parts: string[] = [];
  const commonNames: string[] = [];
  const rdns: Uint8Array[] = [];
  let hasEmail = false;
  for (const rdn of children(node, what)) {
    rdns.push(raw(rdn));
    for (const atv of children(rdn, what, TAG.SET)) {
      const f = children(atv, what);
      if (f.length !== 2) throw new HopsafeError('ERR_MALFORMED', `${what}: AttributeTypeAndValue needs a type and a value`);
      const [t, v] = f as [Tlv, Tlv];
      const type = oid(t, what);
      const value = stringValue(v);
      if (type === ID_AT_COMMON_NAME) {
        if (value === undefined) throw new HopsafeError('ERR_MALFORMED', `${what}: CN is not a string`);
        commonNames.push(value);
      }
      if (type === ID_EMAIL_ADDRESS) hasEmail = true;
      parts.push(`${ATTR_SHORT[type] ?? type}=${value ?? '#' + toHex(raw(v))}`);
    }
  }
  return { text: parts.join(', '), commonNames, rdns, hasEmail, key: canonicalName(node as Tlv, what) };
}

/** GeneralNames (SEQUENCE, or IMPLICIT `tag`) → dNSName, URI and hopsafe otherName values, and directoryName encodings (others ignored). */
export function readGeneralNames(
  node: Tlv | undefined,
  what: string,
  tag: number = TAG.SEQUENCE,
): { dnsNames: string[]; uris: string[]; endpointIds: string[]; directoryNames: Uint8Array[]; ips: Uint8Array[]; otherKinds: string[] } {
  const dnsNames: string[] = [];
  const uris: string[] = [];
  const endpointIds: string[] = [];
  const directoryNames: Uint8Array[] = [];
  const ips: Uint8Array[] = [];
  const otherKinds: string[] = [];
  const kind = (k: string): void => {
    if (!otherKinds.includes(k)) otherKinds.push(k);
  };
  const ascii = (n: Tlv): string => {
    const b = n.buf;
    for (let i = n.start; i < n.end; i++) {
      const c = b[i] as number;
      if (c < 0x20 || c > 0x7e) throw new HopsafeError('ERR_MALFORMED', `${what}: non-printable IA5String`);
    }
    return Buffer.from(b.buffer, b.byteOffset + n.start, n.end - n.start).toString('latin1');
  };
  for (const gn of children(node, what, tag)) {
    if ((gn.tag & 0xc0) !== 0x80) throw new HopsafeError('ERR_MALFORMED', `${what}: GeneralName is not context-tagged`);
    switch (gn.tag) {
      case ctx(0, true): {
        // otherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
        const f = children(gn, what, gn.tag);
        if (f.length !== 2 || f[0]?.tag !== TAG.OID) throw new HopsafeError('ERR_MALFORMED', `${what}: bad otherName`);
        const typeId = oid(f[0], what);
        if (typeId === ID_ON_HOPSAFE_ENDPOINT_ID) {
          const value = f[1] as Tlv;
          const inner = value.tag === ctx(0, true) ? explicit(value, `${what} otherName`) : undefined;
          if (inner?.tag !== TAG.UTF8)
            throw new HopsafeError('ERR_MALFORMED', `${what}: hopsafe endpoint-id otherName is not a UTF8String`);
          endpointIds.push(stringValue(inner) as string);
        } else kind(`otherName:${typeId}`);
        break;
      }
      case ctx(1, false):
        kind('rfc822Name');
        break;
      case ctx(3, true):
        kind('x400Address');
        break;
      case ctx(5, true):
        kind('ediPartyName');
        break;
      case ctx(7, false):
        ips.push(gn.buf.subarray(gn.start, gn.end));
        break;
      case ctx(8, false):
        kind('registeredID');
        break;
      case ctx(2, false):
        dnsNames.push(ascii(gn));
        break;
      case ctx(6, false):
        uris.push(ascii(gn));
        break;
      case ctx(4, true):
        directoryNames.push(raw(explicit(gn, `${what} directoryName`)));
        break;
      case ctx(0, false):
      case ctx(2, true):
      case ctx(4, false):
      case ctx(6, true):
        throw new HopsafeError('ERR_MALFORMED', `${what}: GeneralName [${gn.tag & 0x1f}] has the wrong form`);
      default:
        break;
    }
  }
  return { dnsNames, uris, endpointIds, directoryNames, ips, otherKinds };
}

interface Ext {
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/** [3] EXPLICIT SEQUENCE SIZE (1..MAX) OF Extension; duplicates refused. Values are views. */
function readExtensions(node: Tlv | undefined): Map<string, Ext> {
  const out = new Map<string, Ext>();
  if (!node) return out;
  for (const ext of children(explicit(node, 'extensions'), 'extensions')) {
    const f = children(ext, 'extension');
    const id = oid(f[0], 'extension id');
    const hasCritical = f[1]?.tag === TAG.BOOLEAN;
    const critical = hasCritical ? boolean(f[1], `extension ${id} critical`) : false;
    const valueNode = f[hasCritical ? 2 : 1];
    if (valueNode?.tag !== TAG.OCTET_STRING || f.length > (hasCritical ? 3 : 2)) throw malformed(`extension ${id} is malformed`);
    if (out.has(id)) throw malformed(`duplicate extension ${id}`);
    out.set(id, { critical, value: contentOf(valueNode) });
  }
  return out;
}

function readKeyUsage(node: Tlv, what: string): Set<KeyUsageName> {
  if (node.tag !== TAG.BIT_STRING) throw malformed(`${what} is not a BIT STRING`);
  // [SPEC 10.1] only the bits the BIT STRING declares are read (its unused bits are zero by then).
  const { bytes, bits } = bitString(node, what);
  const out = new Set<KeyUsageName>();
  KEY_USAGE_BITS.forEach((name, i) => {
    const byte = i < bits ? (bytes[i >> 3] ?? 0) : 0;
    if (byte & (0x80 >> (i & 7))) out.add(name);
  });
  return out;
}

/** Parses one DER certificate. Throws ERR_MALFORMED. */
export function parseCertificate(der: Uint8Array): ParsedCert {
  return parseWithFingerprint(der, undefined);
}

/**
 * `parseCertificate` with `fingerprint` = `sha256Hex(der)` already computed by the caller (the trust store hashes every
 * presented certificate first), so it is not computed twice. Not exported from the package.
 */
export function parseHashedCertificate(der: Uint8Array, fingerprint: string): ParsedCert {
  return parseWithFingerprint(der, fingerprint);
}

function parseWithFingerprint(der: Uint8Array, fingerprint: string | undefined): ParsedCert {
  if (!(der instanceof Uint8Array)) throw malformed('expected bytes');
  if (der.length > MAX_CERT_SIZE) throw malformed(`larger than ${MAX_CERT_SIZE} bytes`);
  try {
    return parseInner(der, fingerprint);
  } catch (e) {
    if (e instanceof HopsafeError) throw e;
    throw new HopsafeError('ERR_MALFORMED', 'certificate: unparseable', { cause: e });
  }
}

/** TBSCertificate fields after the optional version: serial, signature, issuer, validity, subject, SPKI. */
const TBS_FIXED = 6;

function parseInner(der: Uint8Array, fingerprint: string | undefined): ParsedCert {
  const { tbsNode, tbs, sigAlg: sigAlgNode, signature } = parseSignedEnvelope(der, 'certificate');

  const f = children(tbsNode, 'tbsCertificate');
  let i = 0;
  let version = 1;
  const first = f[0];
  if (first && first.tag === ctx(0, true)) {
    version = smallInt(explicit(first, 'version'), 'version', 0, 2) + 1;
    i = 1;
  } else if (first && (first.tag & 0xc0) === 0x80) throw malformed('bad version');
  if (f.length < i + TBS_FIXED) throw malformed('missing TBS fields');
  const [serialNode, innerSigAlg, issuerNode, validityNode, subjectNode, spkiNode] = f.slice(i, i + TBS_FIXED) as [
    Tlv,
    Tlv,
    Tlv,
    Tlv,
    Tlv,
    Tlv,
  ];
  i += TBS_FIXED;
  const serial = integerContent(serialNode, 'serialNumber');
  if (!equal(raw(innerSigAlg), raw(sigAlgNode))) throw malformed('signatureAlgorithm differs from tbsCertificate.signature');
  // issuerUniqueID [1], subjectUniqueID [2] (ignored), extensions [3]: each at most once, in this order.
  let extNode: Tlv | undefined;
  let last = 0;
  for (; i < f.length; i++) {
    const n = f[i] as Tlv;
    const tagNo = n.tag & 0x1f;
    if ((n.tag & 0xc0) !== 0x80 || tagNo < 1 || tagNo > 3 || tagNo <= last || (tagNo === 3) !== ((n.tag & 0x20) !== 0))
      throw malformed('unexpected TBS field');
    last = tagNo;
    if (tagNo === 3) extNode = n;
  }
  if (extNode && version !== 3) throw malformed('extensions in a non-v3 certificate');
  const validity = children(validityNode, 'validity');
  if (validity.length !== 2) throw malformed('validity needs notBefore and notAfter');
  const notBefore = parseTime(validity[0], 'notBefore');
  const notAfter = parseTime(validity[1], 'notAfter');
  const subjectName = readName(subjectNode, 'subject');
  const issuerName = readName(issuerNode, 'issuer');
  if (spkiNode.tag !== TAG.SEQUENCE) throw malformed('subjectPublicKeyInfo is not a SEQUENCE');
  const spki = raw(spkiNode);
  const imported = importSpki(spki);
  const publicKey = 'key' in imported ? imported.key : undefined;

  const exts = readExtensions(extNode);
  let basicConstraints: ParsedCert['basicConstraints'];
  let keyUsage: ParsedCert['keyUsage'];
  let extKeyUsage: string[] | undefined;
  let subjectKeyId: Uint8Array | undefined;
  let authorityKeyId: Uint8Array | undefined;
  let names: ReturnType<typeof readGeneralNames> = { dnsNames: [], uris: [], endpointIds: [], directoryNames: [], ips: [], otherKinds: [] };
  let nameConstraints: NameConstraints | undefined;
  const unknownCritical: string[] = [];
  for (const [id, ext] of exts) {
    const v = (): Tlv => parseDer(ext.value, `extension ${id}`);
    switch (id) {
      case ID_CE_BASIC_CONSTRAINTS: {
        // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
        const bc = children(v(), 'basicConstraints');
        let k = 0;
        const ca = bc[k]?.tag === TAG.BOOLEAN ? boolean(bc[k++], 'basicConstraints cA') : false;
        let pathLen: number | undefined;
        if (bc[k]?.tag === TAG.INTEGER) {
          const p = bc[k++] as Tlv;
          if (p.end > p.start && ((p.buf[p.start] as number) & 0x80) !== 0) throw malformed('bad pathLenConstraint');
          pathLen = smallInt(p, 'pathLenConstraint', 0, Number.MAX_SAFE_INTEGER);
        }
        if (k !== bc.length) throw malformed('bad basicConstraints');
        basicConstraints = pathLen === undefined ? { ca } : { ca, pathLen };
        break;
      }
      case ID_CE_KEY_USAGE:
        keyUsage = readKeyUsage(v(), 'keyUsage');
        break;
      case ID_CE_EXT_KEY_USAGE:
        extKeyUsage = children(v(), 'extKeyUsage').map((n) => oid(n, 'extKeyUsage'));
        break;
      case ID_CE_SUBJECT_ALT_NAME:
        names = readGeneralNames(v(), 'subjectAltName');
        break;
      case ID_CE_NAME_CONSTRAINTS:
        nameConstraints = parseNameConstraints(ext.value);
        break;
      case ID_CE_SUBJECT_KEY_ID: {
        const n = v();
        if (n.tag !== TAG.OCTET_STRING) throw malformed('bad subjectKeyIdentifier');
        subjectKeyId = octets(n, 'subjectKeyIdentifier');
        break;
      }
      case ID_CE_AUTHORITY_KEY_ID: {
        // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, … }
        for (const n of children(v(), 'authorityKeyIdentifier')) if (n.tag === ctx(0, false)) authorityKeyId = contentOf(n);
        break;
      }
      default:
        if (ext.critical && !KNOWN_EXTENSIONS.has(id)) unknownCritical.push(id);
    }
  }
  const roleExt = exts.get(ID_IEC62351_8_ROLE_INFO);
  const constrainedNames: ConstrainedNames = {
    subjectRdns: subjectName.rdns,
    dnsNames: names.dnsNames,
    uris: names.uris,
    ips: names.ips,
    endpointIds: names.endpointIds,
    directoryNames: names.directoryNames.map(rdnsOf),
    otherKinds: subjectName.hasEmail && !names.otherKinds.includes('rfc822Name') ? [...names.otherKinds, 'rfc822Name'] : names.otherKinds,
    bindingCommonNames: cnBinds(names) ? subjectName.commonNames : [],
  };
  return {
    der,
    fingerprint: fingerprint ?? sha256Hex(der),
    tbs,
    sigSpec: signatureSpec(sigAlgNode),
    signature,
    version,
    serialHex: toHex(serial),
    issuer: raw(issuerNode),
    subject: raw(subjectNode),
    issuerText: issuerName.text,
    subjectText: subjectName.text,
    notBefore,
    notAfter,
    spki,
    publicKey,
    ...('unsupported' in imported ? { keyUnsupported: imported.unsupported } : {}),
    ...(basicConstraints ? { basicConstraints } : {}),
    ...(keyUsage ? { keyUsage } : {}),
    ...(extKeyUsage ? { extKeyUsage } : {}),
    ...(subjectKeyId ? { subjectKeyId } : {}),
    ...(authorityKeyId ? { authorityKeyId } : {}),
    ...(roleExt ? { roleInfo: roleExt.value } : {}),
    unknownCritical,
    subjectKey: subjectName.key,
    issuerKey: issuerName.key,
    selfIssued: subjectName.key === issuerName.key,
    ...(nameConstraints ? { nameConstraints } : {}),
    constrainedNames,
    commonNames: subjectName.commonNames,
    dnsNames: names.dnsNames,
    uris: names.uris,
    endpointIds: names.endpointIds,
  };
}
