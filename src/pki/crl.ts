/** X.509 CRL (RFC 5280 §5) parsing. ERR_MALFORMED on anything unexpected. [SPEC 10.5] */
import { HopsafeError } from '../errors/index.js';
import { equal, toHex } from '../bytes/index.js';
import {
  boolean,
  children,
  explicit,
  integerContent,
  isTime,
  octets,
  oid,
  parseDer,
  raw,
  smallInt,
  TAG,
  type Tlv,
} from '../codec/der-read.js';
import { parseSignedEnvelope } from './der.js';
import { signatureSpec, type SpecResult } from './signature.js';
import { parseTime, readName, sha256Hex } from './x509.js';
import { ID_CE_AUTHORITY_KEY_ID, ID_CE_CRL_NUMBER, ID_CE_CRL_REASON, ID_CE_ISSUER_ALT_NAME } from './oids.js';

export const MAX_CRL_SIZE = 1 << 20;

/**
 * [SPEC 10.5] An X.509 CRL read by the strict DER reader, as {@link parseCrl} returns it. Parsing does not check its
 * signature or its issuer: the trust store does when it uses the CRL.
 */
export interface ParsedCrl {
  readonly der: Uint8Array;
  readonly fingerprint: string;
  readonly tbs: Uint8Array;
  readonly sigSpec: SpecResult;
  readonly signature: Uint8Array;
  readonly issuer: Uint8Array;
  /** RFC 5280 §7.1 comparison key of `issuer`. */
  readonly issuerKey: string;
  readonly issuerText: string;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /**
   * [SPEC 10.5] Critical CRL (or CRL entry) extensions this implementation does not process — among them
   * issuingDistributionPoint, deltaCRLIndicator and certificateIssuer (indirect and delta CRLs are not
   * supported). A CRL with any cannot be validated.
   */
  readonly unsupportedCritical: readonly string[];
  /** Revoked serial numbers (hex of INTEGER content) → revocation date. removeFromCRL entries are omitted. */
  readonly revoked: ReadonlyMap<string, Date>;
}

const REMOVE_FROM_CRL = 8;
/** CRL entry extensions processed here: reasonCode (and invalidityDate, informational). */
const KNOWN_ENTRY_EXTENSIONS: ReadonlySet<string> = new Set([ID_CE_CRL_REASON, '2.5.29.24']);

const malformed = (msg: string): HopsafeError => new HopsafeError('ERR_MALFORMED', `CRL: ${msg}`);

/** CRL extensions processed here (CRLNumber, authorityKeyIdentifier, issuerAltName); any other critical one makes the CRL unusable. */
const KNOWN_CRL_EXTENSIONS: ReadonlySet<string> = new Set([ID_CE_CRL_NUMBER, ID_CE_AUTHORITY_KEY_ID, ID_CE_ISSUER_ALT_NAME]);

/** OIDs of the critical extensions in an Extensions SEQUENCE that are not in `known`. */
function criticalUnknown(exts: Tlv, what: string, known: ReadonlySet<string>, out: string[]): void {
  for (const ext of children(exts, what)) {
    const ef = children(ext, what);
    const id = oid(ef[0], what);
    if (ef.length === 3 && boolean(ef[1], `${what} critical`) && !known.has(id) && !out.includes(id)) out.push(id);
  }
}

/** CRLReason from crlEntryExtensions, if present. */
function reasonOf(exts: Tlv, unsupported: string[]): number | undefined {
  let reason: number | undefined;
  criticalUnknown(exts, 'crlEntryExtensions', KNOWN_ENTRY_EXTENSIONS, unsupported);
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

/**
 * [SPEC 10.5] Parses one DER CRL (RFC 5280 §5, at most 1 MiB); ERR_MALFORMED on anything that is not strict DER of a
 * CRL. The signature is not verified here.
 */
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
    if (!equal(raw(inner), raw(sigAlg))) throw malformed('signatureAlgorithm differs from tbsCertList.signature');
    const thisUpdate = parseTime(f[i++], 'thisUpdate');
    let nextUpdate: Date | undefined;
    if (isTime(f[i])) nextUpdate = parseTime(f[i++], 'nextUpdate');
    const revoked = new Map<string, Date>();
    const unsupportedCritical: string[] = [];
    const list = f[i];
    if (list?.tag === TAG.SEQUENCE) {
      i++;
      for (const entry of children(list, 'revokedCertificates')) {
        const e = children(entry, 'revokedCertificate');
        if (e.length < 2 || e.length > 3) throw malformed('bad revokedCertificate');
        const serial = integerContent(e[0], 'userCertificate');
        const date = parseTime(e[1], 'revocationDate');
        if (e[2] && reasonOf(e[2], unsupportedCritical) === REMOVE_FROM_CRL) continue;
        revoked.set(toHex(serial), date);
      }
    }
    const extNode = f[i];
    if (extNode?.tag === 0xa0) {
      criticalUnknown(explicit(extNode, 'crlExtensions'), 'crlExtensions', KNOWN_CRL_EXTENSIONS, unsupportedCritical);
      i++;
    }
    if (i !== f.length) throw malformed('unexpected field');
    return {
      der,
      fingerprint: sha256Hex(der),
      tbs,
      sigSpec: signatureSpec(sigAlg),
      signature,
      issuer: raw(issuerNode),
      ...(({ text, key }) => ({ issuerText: text, issuerKey: key }))(readName(issuerNode, 'CRL issuer')),
      thisUpdate,
      ...(nextUpdate ? { nextUpdate } : {}),
      unsupportedCritical,
      revoked,
    };
  } catch (e) {
    if (e instanceof HopsafeError) throw e;
    throw new HopsafeError('ERR_MALFORMED', `CRL: ${(e as Error).message}`, { cause: e });
  }
}
