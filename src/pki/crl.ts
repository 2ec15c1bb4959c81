/** X.509 CRL (RFC 5280 §5) parsing. ERR_MALFORMED on anything unexpected. [SPEC 10.5] */
import { HopsafeError } from '../errors/index.js';
import { equal, toHex } from '../bytes/index.js';
import { children, integerContent, isTime, oid, octets, parseDer, parseSignedEnvelope, rawOf, smallInt, TAG, type Tlv } from './der.js';
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

const malformed = (msg: string): HopsafeError => new HopsafeError('ERR_MALFORMED', `CRL: ${msg}`);

/** CRLReason from crlEntryExtensions, if present. */
function reasonOf(exts: Tlv): number | undefined {
  let reason: number | undefined;
  for (const ext of children(exts, 'crlEntryExtensions')) {
    const ef = children(ext, 'crlEntryExtension');
    if (oid(ef[0], 'crlEntryExtension') !== ID_CE_CRL_REASON) continue;
    const v = ef[ef.length - 1];
    if (v?.tag !== TAG.OCTET_STRING) throw malformed('bad reasonCode');
    const e = parseDer(octets(v, 'reasonCode'), 'reasonCode');
    if (e.tag === TAG.ENUMERATED) reason = smallInt(e, 'reasonCode', 0, 255, TAG.ENUMERATED);
  }
  return reason;
}

export function parseCrl(der: Uint8Array): ParsedCrl {
  if (der.length > MAX_CRL_SIZE) throw new HopsafeError('ERR_MALFORMED', `CRL larger than ${MAX_CRL_SIZE} bytes`);
  try {
    const { tbsNode, tbs, sigAlg, signature } = parseSignedEnvelope(der, 'CRL');
    const f = children(tbsNode, 'tbsCertList');
    let i = 0;
    if (f[0]?.tag === TAG.INTEGER) i++; // version
    const inner = f[i++];
    const issuerNode = f[i++];
    if (!inner || !issuerNode) throw malformed('missing fields');
    if (!equal(rawOf(inner), rawOf(sigAlg))) throw malformed('signatureAlgorithm differs from tbsCertList.signature');
    const thisUpdate = parseTime(f[i++], 'thisUpdate');
    let nextUpdate: Date | undefined;
    if (isTime(f[i])) nextUpdate = parseTime(f[i++], 'nextUpdate');
    const revoked = new Map<string, Date>();
    const list = f[i];
    if (list?.tag === TAG.SEQUENCE) {
      i++;
      for (const entry of children(list, 'revokedCertificates')) {
        const e = children(entry, 'revokedCertificate');
        if (e.length < 2 || e.length > 3) throw malformed('bad revokedCertificate');
        const serial = integerContent(e[0], 'userCertificate');
        const date = parseTime(e[1], 'revocationDate');
        if (e[2] && reasonOf(e[2]) === REMOVE_FROM_CRL) continue;
        revoked.set(toHex(serial), date);
      }
    }
    for (; i < f.length; i++) if (f[i]?.tag !== 0xa0) throw malformed('unexpected field');
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
