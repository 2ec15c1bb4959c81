/** X.509 CRL (RFC 5280 §5) parsing. ERR_MALFORMED on anything unexpected. [SPEC 10.5] */
import * as asn1js from 'asn1js';
import { HopsafeError } from '../errors/index.js';
import { equal, toHex } from '../bytes/index.js';
import { asOid, children, parseDer, rawOf, toBytes, parseSignedEnvelope } from './der.js';
import { signatureSpec, type SpecResult } from './signature.js';
import { parseTime, readName, sha256Hex } from './x509.js';
import { ID_CE_CRL_REASON } from './oids.js';

export const MAX_CRL_SIZE = 1 << 20;

export interface ParsedCrl {
  readonly der: Uint8Array;
  readonly fingerprint: string;
  readonly tbs: Uint8Array;
  readonly sigSpec: SpecResult;
  readonly signature: Uint8Array;
  readonly issuer: Uint8Array;
  readonly issuerText: string;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /** Revoked serial numbers (hex of INTEGER content) → revocation date. removeFromCRL entries are omitted. */
  readonly revoked: ReadonlyMap<string, Date>;
}

const REMOVE_FROM_CRL = 8;

export function parseCrl(der: Uint8Array): ParsedCrl {
  if (der.length > MAX_CRL_SIZE) throw new HopsafeError('ERR_MALFORMED', `CRL larger than ${MAX_CRL_SIZE} bytes`);
  try {
    const { tbsNode: tbsNode, tbs, sigAlg, signature } = parseSignedEnvelope(der, 'CRL');
    const f = children(tbsNode, 'tbsCertList');
    let i = 0;
    if (f[0] instanceof asn1js.Integer) i++;
    const inner = f[i++];
    const issuerNode = f[i++];
    if (!inner || !issuerNode) throw new Error('missing fields');
    if (!equal(rawOf(inner), rawOf(sigAlg))) throw new Error('signatureAlgorithm differs from tbsCertList.signature');
    const thisUpdate = parseTime(f[i++], 'thisUpdate');
    let nextUpdate: Date | undefined;
    const n = f[i];
    if (n instanceof asn1js.UTCTime || n instanceof asn1js.GeneralizedTime) {
      nextUpdate = parseTime(n, 'nextUpdate');
      i++;
    }
    const revoked = new Map<string, Date>();
    const list = f[i];
    if (list instanceof asn1js.Sequence) {
      i++;
      for (const entry of children(list, 'revokedCertificates')) {
        const [serial, date, exts] = children(entry, 'revokedCertificate');
        if (!(serial instanceof asn1js.Integer)) throw new Error('bad serial');
        let reason: number | undefined;
        if (exts) {
          for (const ext of children(exts, 'crlEntryExtensions')) {
            const ef = children(ext, 'crlEntryExtension');
            if (asOid(ef[0], 'crlEntryExtension') === ID_CE_CRL_REASON) {
              const v = ef[ef.length - 1];
              if (!(v instanceof asn1js.OctetString)) throw new Error('bad reasonCode');
              const e = parseDer(toBytes(v.valueBlock.valueHexView), 'reasonCode');
              if (e instanceof asn1js.Enumerated) reason = e.valueBlock.valueDec;
            }
          }
        }
        if (reason === REMOVE_FROM_CRL) continue;
        revoked.set(toHex(toBytes(serial.valueBlock.valueHexView)), parseTime(date, 'revocationDate'));
      }
    }
    for (; i < f.length; i++) {
      const x = f[i];
      if (!x || x.idBlock.tagClass !== 3 || x.idBlock.tagNumber !== 0) throw new Error('unexpected field');
    }
    return {
      der,
      fingerprint: sha256Hex(der),
      tbs,
      sigSpec: signatureSpec(sigAlg),
      signature,
      issuer: rawOf(issuerNode),
      issuerText: readName(issuerNode, 'CRL issuer').text,
      thisUpdate,
      ...(nextUpdate ? { nextUpdate } : {}),
      revoked,
    };
  } catch (e) {
    if (e instanceof HopsafeError) throw e;
    throw new HopsafeError('ERR_MALFORMED', `CRL: ${(e as Error).message}`, { cause: e });
  }
}
