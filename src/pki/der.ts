/** Small DER helpers on top of asn1js: strict parse, OID text, TLV building. [SPEC 10.1] */
import * as asn1js from 'asn1js';
import { HopsafeError } from '../errors/index.js';
import { parseStrict } from '../codec/der.js';
import { equal } from '../bytes/index.js';

/** Strict DER framing and parsing live in the codec (one implementation for tokens, certificates and keys). [SPEC 10.1] */
export { checkDerFraming } from '../codec/der.js';

/** Parses exactly one DER object covering all of `der`; anything else is ERR_MALFORMED. */
export function parseDer(der: Uint8Array, what: string): asn1js.AsnType {
  return parseStrict(der, what);
}

/** Dotted text of an OID from its content octets; handles arcs beyond 2^53 (UUID OIDs). */
export function oidFromContent(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let v = 0n;
  let started = false;
  for (const b of content) {
    if (!started && b === 0x80) throw new HopsafeError('ERR_MALFORMED', 'non-minimal OID arc');
    started = true;
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
      started = false;
    }
  }
  if (started || arcs.length === 0) throw new HopsafeError('ERR_MALFORMED', 'truncated OID');
  const first = arcs[0] ?? 0n;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].map(String).join('.');
}

export function oidText(o: asn1js.ObjectIdentifier): string {
  return oidFromContent(new Uint8Array(o.valueBlock.toBER(false)));
}

export function asOid(node: unknown, what: string): string {
  if (!(node instanceof asn1js.ObjectIdentifier)) throw new HopsafeError('ERR_MALFORMED', `${what}: expected OBJECT IDENTIFIER`);
  return oidText(node);
}

/** Raw encoding of an already-parsed node (the bytes it was decoded from). */
export function rawOf(node: asn1js.AsnType): Uint8Array {
  const v = (node as asn1js.BaseBlock).valueBeforeDecodeView;
  if (v && v.byteLength > 0) return new Uint8Array(v);
  return new Uint8Array(node.toBER(false));
}

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | out.length, ...out];
}

/** One DER TLV with the given tag byte. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of content) len += c.length;
  const head = [tag, ...lengthBytes(len)];
  const out = new Uint8Array(head.length + len);
  out.set(head, 0);
  let o = head.length;
  for (const c of content) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export const seq = (...content: Uint8Array[]): Uint8Array => tlv(0x30, ...content);

export function toBytes(b: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (b instanceof Uint8Array) return b;
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return new Uint8Array(b);
}

/** Children of a constructed node; ERR_MALFORMED if it is not a SEQUENCE/SET. */
export function children(node: unknown, what: string): asn1js.AsnType[] {
  if (!(node instanceof asn1js.Sequence) && !(node instanceof asn1js.Set) && !(node instanceof asn1js.Constructed))
    throw new HopsafeError('ERR_MALFORMED', `${what}: expected a constructed value`);
  return node.valueBlock.value;
}

/** Text of a DirectoryString / IA5String / UTF8String / PrintableString node. */
export function stringValue(node: unknown): string | undefined {
  if (
    node instanceof asn1js.Utf8String ||
    node instanceof asn1js.PrintableString ||
    node instanceof asn1js.IA5String ||
    node instanceof asn1js.TeletexString ||
    node instanceof asn1js.BmpString ||
    node instanceof asn1js.UniversalString ||
    node instanceof asn1js.VisibleString
  )
    return node.valueBlock.value;
  return undefined;
}

/** A signed X.509-family object (certificate, CRL, attribute certificate): SEQUENCE { tbs, signatureAlgorithm, BIT STRING }. */
export interface SignedEnvelope {
  readonly tbsNode: asn1js.AsnType;
  /** Exact DER of the signed part. */
  readonly tbs: Uint8Array;
  readonly sigAlg: asn1js.AsnType;
  readonly signature: Uint8Array;
}

/**
 * [SPEC 10.1] Parses the outer envelope strictly: three fields, a BIT STRING with 0 unused bits, and an outer
 * encoding that is exactly the DER around the raw parts. Errors are ERR_MALFORMED naming `what`.
 */
export function parseSignedEnvelope(der: Uint8Array, what: string): SignedEnvelope {
  const top = children(parseDer(der, what), what);
  if (top.length !== 3) throw new HopsafeError('ERR_MALFORMED', `${what}: expected 3 top-level fields`);
  const [tbsNode, sigAlg, sigNode] = top as [asn1js.AsnType, asn1js.AsnType, asn1js.AsnType];
  if (!(sigNode instanceof asn1js.BitString) || sigNode.valueBlock.unusedBits !== 0) throw new HopsafeError('ERR_MALFORMED', `${what}: bad signature BIT STRING`);
  const tbs = rawOf(tbsNode);
  if (!equal(seq(tbs, rawOf(sigAlg), rawOf(sigNode)), der)) throw new HopsafeError('ERR_MALFORMED', `${what}: not DER-encoded`);
  return { tbsNode, tbs, sigAlg, signature: toBytes(sigNode.valueBlock.valueHexView) };
}
