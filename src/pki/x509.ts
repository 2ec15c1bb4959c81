/**
 * X.509 certificate parsing (RFC 5280) into the fields validation needs. Strict: the outer
 * encoding must be DER, the outer and inner signature algorithms identical, duplicate
 * extensions refused. Every failure is ERR_MALFORMED. [SPEC 10.1]
 */
import * as asn1js from 'asn1js';
import { createHash, type KeyObject } from 'node:crypto';
import { HopsafeError } from '../errors/index.js';
import { equal, toHex } from '../bytes/index.js';
import { asOid, children, oidText, parseDer, rawOf, stringValue, toBytes, parseSignedEnvelope } from './der.js';
import { importSpki, signatureSpec, type SpecResult } from './signature.js';
import {
  ID_AT_COMMON_NAME,
  ID_CE_AUTHORITY_KEY_ID,
  ID_CE_BASIC_CONSTRAINTS,
  ID_CE_EXT_KEY_USAGE,
  ID_CE_KEY_USAGE,
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
}

const malformed = (msg: string): HopsafeError => new HopsafeError('ERR_MALFORMED', `certificate: ${msg}`);

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export function parseTime(node: unknown, what: string): Date {
  if (node instanceof asn1js.UTCTime || node instanceof asn1js.GeneralizedTime) {
    const d = node.toDate();
    if (Number.isNaN(d.getTime())) throw new HopsafeError('ERR_MALFORMED', `${what}: invalid time`);
    return d;
  }
  throw new HopsafeError('ERR_MALFORMED', `${what}: expected UTCTime or GeneralizedTime`);
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

/** Reads a Name: its attribute values as text and all CN values. */
export function readName(node: unknown, what: string): { text: string; commonNames: string[] } {
  const parts: string[] = [];
  const commonNames: string[] = [];
  for (const rdn of children(node, what)) {
    for (const atv of children(rdn, what)) {
      const [t, v] = children(atv, what);
      const type = asOid(t, what);
      const value = stringValue(v);
      if (type === ID_AT_COMMON_NAME) {
        if (value === undefined) throw new HopsafeError('ERR_MALFORMED', `${what}: CN is not a string`);
        commonNames.push(value);
      }
      parts.push(`${ATTR_SHORT[type] ?? type}=${value ?? '#' + toHex(rawOf(v as asn1js.AsnType))}`);
    }
  }
  return { text: parts.join(', '), commonNames };
}

/** GeneralNames → dNSName, URI and hopsafe otherName values (others ignored). */
export function readGeneralNames(node: unknown, what: string): { dnsNames: string[]; uris: string[]; endpointIds: string[]; directoryNames: Uint8Array[] } {
  const dnsNames: string[] = [];
  const uris: string[] = [];
  const endpointIds: string[] = [];
  const directoryNames: Uint8Array[] = [];
  const ascii = (n: asn1js.AsnType): string => {
    const bytes = toBytes((n as asn1js.Primitive).valueBlock.valueHexView);
    for (const b of bytes) if (b < 0x20 || b > 0x7e) throw new HopsafeError('ERR_MALFORMED', `${what}: non-printable IA5String`);
    return Buffer.from(bytes).toString('latin1');
  };
  for (const gn of children(node, what)) {
    if (gn.idBlock.tagClass !== 3) throw new HopsafeError('ERR_MALFORMED', `${what}: GeneralName is not context-tagged`);
    switch (gn.idBlock.tagNumber) {
      case 0: {
        const [typeId, value] = (gn as asn1js.Constructed).valueBlock.value;
        if (!(typeId instanceof asn1js.ObjectIdentifier)) throw new HopsafeError('ERR_MALFORMED', `${what}: bad otherName`);
        if (oidText(typeId) === ID_ON_HOPSAFE_ENDPOINT_ID) {
          const inner = (value as asn1js.Constructed | undefined)?.valueBlock.value?.[0];
          const s = inner instanceof asn1js.Utf8String ? inner.valueBlock.value : undefined;
          if (s === undefined) throw new HopsafeError('ERR_MALFORMED', `${what}: hopsafe endpoint-id otherName is not a UTF8String`);
          endpointIds.push(s);
        }
        break;
      }
      case 2:
        dnsNames.push(ascii(gn));
        break;
      case 6:
        uris.push(ascii(gn));
        break;
      case 4: {
        const inner = (gn as asn1js.Constructed).valueBlock.value?.[0];
        if (inner) directoryNames.push(rawOf(inner));
        break;
      }
      default:
        break;
    }
  }
  return { dnsNames, uris, endpointIds, directoryNames };
}

interface Ext {
  readonly critical: boolean;
  readonly value: Uint8Array;
}

function readExtensions(node: asn1js.AsnType | undefined): Map<string, Ext> {
  const out = new Map<string, Ext>();
  if (!node) return out;
  const list = (node as asn1js.Constructed).valueBlock.value?.[0];
  for (const ext of children(list, 'extensions')) {
    const f = children(ext, 'extension');
    const id = asOid(f[0], 'extension id');
    let critical = false;
    let valueNode = f[1];
    if (valueNode instanceof asn1js.Boolean) {
      critical = valueNode.valueBlock.value;
      valueNode = f[2];
    }
    if (!(valueNode instanceof asn1js.OctetString) || f.length > (f[1] instanceof asn1js.Boolean ? 3 : 2)) throw malformed(`extension ${id} is malformed`);
    if (out.has(id)) throw malformed(`duplicate extension ${id}`);
    out.set(id, { critical, value: toBytes(valueNode.valueBlock.valueHexView) });
  }
  return out;
}

function readBitString(node: unknown, what: string): Set<KeyUsageName> {
  if (!(node instanceof asn1js.BitString)) throw malformed(`${what} is not a BIT STRING`);
  const bytes = toBytes(node.valueBlock.valueHexView);
  const out = new Set<KeyUsageName>();
  KEY_USAGE_BITS.forEach((name, i) => {
    const byte = bytes[i >> 3] ?? 0;
    if (byte & (0x80 >> (i & 7))) out.add(name);
  });
  return out;
}

/** Parses one DER certificate. Throws ERR_MALFORMED. */
export function parseCertificate(der: Uint8Array): ParsedCert {
  if (!(der instanceof Uint8Array)) throw malformed('expected bytes');
  if (der.length > MAX_CERT_SIZE) throw malformed(`larger than ${MAX_CERT_SIZE} bytes`);
  try {
    return parseInner(der);
  } catch (e) {
    if (e instanceof HopsafeError) throw e;
    throw new HopsafeError('ERR_MALFORMED', 'certificate: unparseable', { cause: e });
  }
}

function parseInner(der: Uint8Array): ParsedCert {
  const { tbsNode, tbs, sigAlg: sigAlgNode, signature } = parseSignedEnvelope(der, 'certificate');

  const f = children(tbsNode, 'tbsCertificate');
  let i = 0;
  let version = 1;
  const first = f[0];
  if (first && first.idBlock.tagClass === 3 && first.idBlock.tagNumber === 0) {
    const v = (first as asn1js.Constructed).valueBlock.value?.[0];
    if (!(v instanceof asn1js.Integer)) throw malformed('bad version');
    version = v.valueBlock.valueDec + 1;
    i = 1;
  }
  if (version < 1 || version > 3) throw malformed(`unsupported version ${version}`);
  const serialNode = f[i++];
  const innerSigAlg = f[i++];
  const issuerNode = f[i++];
  const validityNode = f[i++];
  const subjectNode = f[i++];
  const spkiNode = f[i++];
  if (!(serialNode instanceof asn1js.Integer) || !innerSigAlg || !issuerNode || !validityNode || !subjectNode || !spkiNode)
    throw malformed('missing TBS fields');
  if (!equal(rawOf(innerSigAlg), rawOf(sigAlgNode))) throw malformed('signatureAlgorithm differs from tbsCertificate.signature');
  let extNode: asn1js.AsnType | undefined;
  for (; i < f.length; i++) {
    const n = f[i];
    if (!n || n.idBlock.tagClass !== 3 || n.idBlock.tagNumber < 1 || n.idBlock.tagNumber > 3) throw malformed('unexpected TBS field');
    if (n.idBlock.tagNumber === 3) extNode = n;
  }
  if (extNode && version !== 3) throw malformed('extensions in a non-v3 certificate');
  const [nb, na] = children(validityNode, 'validity');
  const notBefore = parseTime(nb, 'notBefore');
  const notAfter = parseTime(na, 'notAfter');
  const issuer = rawOf(issuerNode);
  const subject = rawOf(subjectNode);
  const subjectName = readName(subjectNode, 'subject');
  const issuerName = readName(issuerNode, 'issuer');
  const spki = rawOf(spkiNode);
  const imported = importSpki(spki);
  const publicKey = 'key' in imported ? imported.key : undefined;

  const exts = readExtensions(extNode);
  let basicConstraints: ParsedCert['basicConstraints'];
  let keyUsage: ParsedCert['keyUsage'];
  let extKeyUsage: string[] | undefined;
  let subjectKeyId: Uint8Array | undefined;
  let authorityKeyId: Uint8Array | undefined;
  let names = { dnsNames: [] as string[], uris: [] as string[], endpointIds: [] as string[] };
  const unknownCritical: string[] = [];
  for (const [id, ext] of exts) {
    const v = (): asn1js.AsnType => parseDer(ext.value, `extension ${id}`);
    switch (id) {
      case ID_CE_BASIC_CONSTRAINTS: {
        let ca = false;
        let pathLen: number | undefined;
        for (const n of children(v(), 'basicConstraints')) {
          if (n instanceof asn1js.Boolean) ca = n.valueBlock.value;
          else if (n instanceof asn1js.Integer) pathLen = n.valueBlock.valueDec;
          else throw malformed('bad basicConstraints');
        }
        if (pathLen !== undefined && (pathLen < 0 || !Number.isSafeInteger(pathLen))) throw malformed('bad pathLenConstraint');
        basicConstraints = pathLen === undefined ? { ca } : { ca, pathLen };
        break;
      }
      case ID_CE_KEY_USAGE:
        keyUsage = readBitString(v(), 'keyUsage');
        break;
      case ID_CE_EXT_KEY_USAGE:
        extKeyUsage = children(v(), 'extKeyUsage').map((n) => asOid(n, 'extKeyUsage'));
        break;
      case ID_CE_SUBJECT_ALT_NAME:
        names = readGeneralNames(v(), 'subjectAltName');
        break;
      case ID_CE_SUBJECT_KEY_ID: {
        const n = v();
        if (!(n instanceof asn1js.OctetString)) throw malformed('bad subjectKeyIdentifier');
        subjectKeyId = toBytes(n.valueBlock.valueHexView);
        break;
      }
      case ID_CE_AUTHORITY_KEY_ID: {
        for (const n of children(v(), 'authorityKeyIdentifier'))
          if (n.idBlock.tagClass === 3 && n.idBlock.tagNumber === 0) authorityKeyId = toBytes((n as asn1js.Primitive).valueBlock.valueHexView);
        break;
      }
      default:
        if (ext.critical && !KNOWN_EXTENSIONS.has(id)) unknownCritical.push(id);
    }
  }
  const roleExt = exts.get(ID_IEC62351_8_ROLE_INFO);
  return {
    der,
    fingerprint: sha256Hex(der),
    tbs,
    sigSpec: signatureSpec(sigAlgNode),
    signature,
    version,
    serialHex: toHex(toBytes(serialNode.valueBlock.valueHexView)),
    issuer,
    subject,
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
    commonNames: subjectName.commonNames,
    dnsNames: names.dnsNames,
    uris: names.uris,
    endpointIds: names.endpointIds,
  };
}
