/**
 * The X.509 layer on the codec's DER engine (src/codec/der-read.ts, der-write.ts): the signed envelope that
 * certificates, CRLs and attribute certificates share. Everything read is a view of the input, not a copy.
 * Every failure is ERR_MALFORMED. [SPEC 10.1]
 */
import { malformed } from '../codec/der.js';
import { children, parseDer, raw, TAG, type Tlv } from '../codec/der-read.js';

/** The writer, for building X.509 structures (issuing, and the tests' hand-made certificates). */
export { seq, tlv } from '../codec/der-write.js';

/** A signed X.509-family object (certificate, CRL, attribute certificate): SEQUENCE { tbs, signatureAlgorithm, BIT STRING }. */
export interface SignedEnvelope {
  readonly tbsNode: Tlv;
  /** Exact DER of the signed part (a view). */
  readonly tbs: Uint8Array;
  readonly sigAlg: Tlv;
  readonly signature: Uint8Array;
}

/**
 * [SPEC 10.1] Parses the outer envelope strictly: three fields, a BIT STRING with 0 unused bits. The strict
 * framing check makes the outer encoding exactly the DER around the raw parts (minimal lengths, each value
 * exactly filled by its children). Errors are ERR_MALFORMED naming `what`.
 */
export function parseSignedEnvelope(der: Uint8Array, what: string): SignedEnvelope {
  const top = children(parseDer(der, what), what);
  if (top.length !== 3) malformed(`${what}: expected 3 top-level fields`);
  const [tbsNode, sigAlg, sigNode] = top as [Tlv, Tlv, Tlv];
  const sig = sigNode.tag === TAG.BIT_STRING && sigNode.end > sigNode.start && sigNode.buf[sigNode.start] === 0 ? sigNode : undefined;
  if (!sig) malformed(`${what}: bad signature BIT STRING`);
  return { tbsNode, tbs: raw(tbsNode), sigAlg, signature: sig.buf.subarray(sig.start + 1, sig.end) };
}
