/**
 * RFC 5755 attribute certificates carrying IEC 62351-8 RoleInformation (attribute type
 * 1.2.840.10070.8.1). The holder is named by baseCertificateID (issuer + serial of the identity
 * certificate); the issuer by v2Form.issuerName (a directoryName). [SPEC 10.4]
 */
import { HopsafeError } from '../errors/index.js';
import { equal, toHex } from '../bytes/index.js';
import { children, ctx, integerContent, oid, raw, smallInt, TAG, type Tlv } from '../codec/der-read.js';
import { generalizedTime as gt, oid as oidDer, seq, set, tlv } from '../codec/der-write.js';
import { parseSignedEnvelope } from './der.js';
import { signatureSpec, type SpecResult } from './signature.js';
import { parseTime, readGeneralNames, sha256Hex } from './x509.js';
import { ID_IEC62351_8_ROLE_INFO } from './oids.js';

export const MAX_AC_SIZE = 16 * 1024;

/**
 * An RFC 5755 attribute certificate as `parseAttributeCertificate` reads it (structure only: its signature, holder
 * and validity are checked when a peer presents it, SPEC 10.4). Times are Dates; names and role values stay DER.
 */
export interface ParsedAttributeCert {
  readonly der: Uint8Array;
  readonly fingerprint: string;
  readonly tbs: Uint8Array;
  readonly sigSpec: SpecResult;
  readonly signature: Uint8Array;
  /** Holder baseCertificateID: directoryName(s) of the identity certificate's issuer and its serial (hex). */
  readonly holderIssuers: readonly Uint8Array[];
  readonly holderSerialHex?: string;
  readonly issuerNames: readonly Uint8Array[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER RoleInformation values. */
  readonly roleInfos: readonly Uint8Array[];
}

const malformed = (msg: string): HopsafeError => new HopsafeError('ERR_MALFORMED', `attribute certificate: ${msg}`);

/** AttCertIssuer: v2Form [0] IMPLICIT V2Form { issuerName GeneralNames OPTIONAL, … }, or a v1 GeneralNames. */
function issuerNamesOf(issuer: Tlv): Uint8Array[] {
  if (issuer.tag !== ctx(0, true)) return readGeneralNames(issuer, 'AC issuer').directoryNames;
  const first = children(issuer, 'v2Form', issuer.tag)[0];
  if (!first) return [];
  // A V2Form written without the GeneralNames SEQUENCE: its GeneralName values directly inside [0].
  if (first.tag === ctx(4, true)) return readGeneralNames(issuer, 'v2Form', issuer.tag).directoryNames;
  return readGeneralNames(first, 'v2Form issuerName').directoryNames;
}

/**
 * [SPEC 10.4] Parses one DER RFC 5755 attribute certificate (at most 16 KiB) carrying IEC 62351-8 RoleInformation:
 * holder, issuer names, validity and the DER role values; ERR_MALFORMED on anything that is not strict DER of one.
 * Neither the signature nor the holder is checked here (the trust store does, SPEC 10.4).
 */
export function parseAttributeCertificate(der: Uint8Array): ParsedAttributeCert {
  if (der.length > MAX_AC_SIZE) throw new HopsafeError('ERR_MALFORMED', 'attribute certificate too large');
  try {
    const { tbsNode: info, tbs, sigAlg, signature } = parseSignedEnvelope(der, 'attribute certificate');
    const f = children(info, 'acinfo');
    if (f.length < 7) throw malformed('missing fields');
    const [version, holder, issuer, innerAlg, serial, validity, attributes] = f as [Tlv, Tlv, Tlv, Tlv, Tlv, Tlv, Tlv];
    if (smallInt(version, 'version', 0, 2) !== 1) throw malformed('not a v2 attribute certificate');
    integerContent(serial, 'serialNumber');
    if (!equal(raw(innerAlg), raw(sigAlg))) throw malformed('signature algorithm mismatch');
    let holderIssuers: Uint8Array[] = [];
    let holderSerialHex: string | undefined;
    for (const h of children(holder, 'holder')) {
      if (h.tag !== ctx(0, true)) continue;
      // baseCertificateID [0] IMPLICIT IssuerSerial { issuer GeneralNames, serial INTEGER, issuerUID OPTIONAL }
      const [gns, ser] = children(h, 'baseCertificateID', h.tag);
      if (!gns) throw malformed('bad baseCertificateID');
      holderSerialHex = toHex(integerContent(ser, 'baseCertificateID serial'));
      holderIssuers = readGeneralNames(gns, 'holder issuer').directoryNames;
    }
    const issuerNames = issuerNamesOf(issuer);
    const period = children(validity, 'attrCertValidityPeriod');
    if (period.length !== 2) throw malformed('bad attrCertValidityPeriod');
    const roleInfos: Uint8Array[] = [];
    for (const attr of children(attributes, 'attributes')) {
      const a = children(attr, 'attribute');
      if (a.length !== 2) throw malformed('bad attribute');
      if (oid(a[0], 'attribute type') !== ID_IEC62351_8_ROLE_INFO) continue;
      for (const v of children(a[1], 'attribute values', TAG.SET)) roleInfos.push(raw(v));
    }
    return {
      der,
      fingerprint: sha256Hex(der),
      tbs,
      sigSpec: signatureSpec(sigAlg),
      signature,
      holderIssuers,
      ...(holderSerialHex !== undefined ? { holderSerialHex } : {}),
      issuerNames,
      notBefore: parseTime(period[0], 'notBeforeTime'),
      notAfter: parseTime(period[1], 'notAfterTime'),
      roleInfos,
    };
  } catch (e) {
    if (e instanceof HopsafeError) throw e;
    throw new HopsafeError('ERR_MALFORMED', `attribute certificate: ${(e as Error).message}`, { cause: e });
  }
}

/** TBS (AttributeCertificateInfo) for issuing; see issue.ts. */
export function attributeCertInfo(p: {
  holderIssuer: Uint8Array;
  holderSerial: Uint8Array;
  issuerName: Uint8Array;
  algId: Uint8Array;
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  roleInformation: Uint8Array;
}): Uint8Array {
  return seq(
    new Uint8Array([0x02, 0x01, 0x01]),
    seq(tlv(0xa0, seq(tlv(0xa4, p.holderIssuer)), p.holderSerial)),
    tlv(0xa0, seq(tlv(0xa4, p.issuerName))),
    p.algId,
    p.serial,
    seq(gt(p.notBefore), gt(p.notAfter)),
    seq(seq(oidDer(ID_IEC62351_8_ROLE_INFO), set(p.roleInformation))),
  );
}
