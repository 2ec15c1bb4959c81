/**
 * RFC 5755 attribute certificates carrying IEC 62351-8 RoleInformation (attribute type
 * 1.2.840.10070.8.1). The holder is named by baseCertificateID (issuer + serial of the identity
 * certificate); the issuer by v2Form.issuerName (a directoryName). [SPEC 10.4]
 */
import * as asn1js from 'asn1js';
import { HopsafeError } from '../errors/index.js';
import { equal, toHex } from '../bytes/index.js';
import { asOid, children, rawOf, seq, tlv, toBytes, parseSignedEnvelope } from './der.js';
import { signatureSpec, type SpecResult } from './signature.js';
import { parseTime, readGeneralNames, sha256Hex } from './x509.js';
import { ID_IEC62351_8_ROLE_INFO } from './oids.js';

export const MAX_AC_SIZE = 16 * 1024;

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

export function parseAttributeCertificate(der: Uint8Array): ParsedAttributeCert {
  if (der.length > MAX_AC_SIZE) throw new HopsafeError('ERR_MALFORMED', 'attribute certificate too large');
  try {
    const { tbsNode: info, tbs, sigAlg, signature } = parseSignedEnvelope(der, 'attribute certificate');
    const [version, holder, issuer, innerAlg, serial, validity, attributes] = children(info, 'acinfo');
    if (!(version instanceof asn1js.Integer) || version.valueBlock.valueDec !== 1) throw new Error('not a v2 attribute certificate');
    if (!holder || !issuer || !innerAlg || !(serial instanceof asn1js.Integer) || !validity || !attributes) throw new Error('missing fields');
    if (!equal(rawOf(innerAlg), rawOf(sigAlg))) throw new Error('signature algorithm mismatch');
    let holderIssuers: Uint8Array[] = [];
    let holderSerialHex: string | undefined;
    for (const h of children(holder, 'holder')) {
      if (h.idBlock.tagClass === 3 && h.idBlock.tagNumber === 0) {
        const [gns, ser] = (h as asn1js.Constructed).valueBlock.value;
        if (!gns || !(ser instanceof asn1js.Integer)) throw new Error('bad baseCertificateID');
        holderIssuers = readGeneralNames(gns, 'holder issuer').directoryNames;
        holderSerialHex = toHex(toBytes(ser.valueBlock.valueHexView));
      }
    }
    let issuerNames: Uint8Array[] = [];
    if (issuer.idBlock.tagClass === 3 && issuer.idBlock.tagNumber === 0) {
      const first = (issuer as asn1js.Constructed).valueBlock.value[0];
      if (first && first.idBlock.tagClass === 3 && first.idBlock.tagNumber === 4) issuerNames = readGeneralNames(issuer, 'v2Form').directoryNames;
      else if (first) issuerNames = readGeneralNames(first, 'v2Form issuerName').directoryNames;
    } else issuerNames = readGeneralNames(issuer, 'AC issuer').directoryNames;
    const [nb, na] = children(validity, 'attrCertValidityPeriod');
    const roleInfos: Uint8Array[] = [];
    for (const attr of children(attributes, 'attributes')) {
      const [type, values] = children(attr, 'attribute');
      if (asOid(type, 'attribute type') !== ID_IEC62351_8_ROLE_INFO) continue;
      for (const v of children(values, 'attribute values')) roleInfos.push(rawOf(v));
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
      notBefore: parseTime(nb, 'notBeforeTime'),
      notAfter: parseTime(na, 'notAfterTime'),
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
  const gt = (d: Date): Uint8Array => new Uint8Array(new asn1js.GeneralizedTime({ valueDate: new Date(Math.floor(d.getTime() / 1000) * 1000) }).toBER(false));
  const oid = new Uint8Array(new asn1js.ObjectIdentifier({ value: ID_IEC62351_8_ROLE_INFO }).toBER(false));
  return seq(
    new Uint8Array([0x02, 0x01, 0x01]),
    seq(tlv(0xa0, seq(tlv(0xa4, p.holderIssuer)), p.holderSerial)),
    tlv(0xa0, seq(tlv(0xa4, p.issuerName))),
    p.algId,
    p.serial,
    seq(gt(p.notBefore), gt(p.notAfter)),
    seq(seq(oid, tlv(0x31, p.roleInformation))),
  );
}
