/**
 * The token face of the DER engine: hopsafe's own tokens (seven tags, SPEC 5.1) read and written with
 * ./der-read.ts and ./der-write.ts, with the bounds every token field carries (element counts, lengths,
 * ranges). Token octets are copies; everything else is a view. asn1js cost ~20 % of a handshake for tokens,
 * mostly by building an object per value and sniffing every OCTET STRING for encapsulated ASN.1. [SPEC 5.1]
 */
import { HopsafeError } from '../errors/index.js';
import { fromUtf8 } from '../bytes/index.js';
import { checkDerFraming, malformed, TOKEN_TAGS } from './der.js';
import { childrenOf, expectTag, intValue, readAt, TAG as UNIVERSAL, type Tlv } from './der-read.js';
import * as w from './der-write.js';

export { boolean, raw, type Tlv } from './der-read.js';

export const TAG = {
  BOOLEAN: UNIVERSAL.BOOLEAN,
  INTEGER: UNIVERSAL.INTEGER,
  OCTET_STRING: UNIVERSAL.OCTET_STRING,
  ENUMERATED: UNIVERSAL.ENUMERATED,
  UTF8: UNIVERSAL.UTF8,
  SEQUENCE: UNIVERSAL.SEQUENCE,
  CTX0: 0xa0,
  CTX1: 0x81,
} as const;

/** [SPEC 5.1, 5.2] Size cap, strict framing over the token tag set, one value and nothing after it. */
export function decode(bytes: Uint8Array, maxLength: number, what: string): Tlv {
  if (bytes.length > maxLength) throw new HopsafeError('ERR_TOO_LARGE', `${what} exceeds ${maxLength} bytes`);
  checkDerFraming(bytes, what, { allowedTags: TOKEN_TAGS, maxDepth: 8 });
  const t = readAt(bytes, 0);
  if (t.end !== bytes.length) malformed(`${what}: trailing bytes`);
  return t;
}

/** The elements of a SEQUENCE, between `min` and `max` of them. */
export function children(t: Tlv | undefined, what: string, min: number, max: number): Tlv[] {
  const c = childrenOf(expectTag(t, TAG.SEQUENCE, what));
  if (c.length < min || c.length > max) malformed(`${what}: expected ${min}..${max} elements, got ${c.length}`);
  return c;
}

export function integer(t: Tlv | undefined, what: string, min: number, max: number): number {
  return intValue(expectTag(t, TAG.INTEGER, what), what, min, max);
}

export function enumerated(t: Tlv | undefined, what: string, max: number): number {
  return intValue(expectTag(t, TAG.ENUMERATED, what), what, 0, max);
}

/** OCTET STRING of `minLen`..`maxLen` octets (a copy). */
export function octets(t: Tlv | undefined, what: string, minLen: number, maxLen: number): Uint8Array {
  const o = expectTag(t, TAG.OCTET_STRING, what);
  const n = o.end - o.start;
  if (n < minLen || n > maxLen) malformed(`${what}: length ${n} outside ${minLen}..${maxLen}`);
  return o.buf.slice(o.start, o.end);
}

/** Non-empty UTF8String of at most `maxLen` UTF-16 units. */
export function utf8(t: Tlv | undefined, what: string, maxLen: number): string {
  const o = expectTag(t, TAG.UTF8, what);
  const v = fromUtf8(o.buf.subarray(o.start, o.end));
  if (v.length === 0 || v.length > maxLen) malformed(`${what}: bad length`);
  return v;
}

/** [1] IMPLICIT OCTET STRING */
export function contextOctets(t: Tlv, tag: 1): Uint8Array | undefined {
  return t.tag === (0x80 | tag) ? t.buf.slice(t.start, t.end) : undefined;
}

/** [0] IMPLICIT SEQUENCE OF … */
export function contextChildren(t: Tlv, tag: 0): Tlv[] | undefined {
  return t.tag === (0xa0 | tag) ? childrenOf(t) : undefined;
}

// ---- writer: every builder returns canonical DER bytes ----

/** Token integers are never negative. */
function nonNegative(v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new HopsafeError('ERR_INPUT', 'integer out of range');
  return v;
}

export const seq = (parts: readonly Uint8Array[]): Uint8Array => w.seq(...parts);
export const int = (v: number): Uint8Array => w.integer(nonNegative(v));
export const enm = (v: number): Uint8Array => w.enumerated(nonNegative(v));
export const oct = w.octetString;
export const str = w.utf8String;
export const bool = w.boolean;
export const ctxOct1 = (v: Uint8Array): Uint8Array => w.tlv(TAG.CTX1, v);
export const ctxSeq0 = (parts: readonly Uint8Array[]): Uint8Array => w.tlv(TAG.CTX0, ...parts);

/** Deferred-layout builders (one copy of each part, see der-write's DerNode) for tokens that carry certificates. */
export type Node = w.DerNode;
export const seqNode = (parts: readonly (Uint8Array | Node)[]): Node => w.node(TAG.SEQUENCE, parts);
export const octNode = (v: Uint8Array): Node => w.node(TAG.OCTET_STRING, [v]);
export const ctxSeq0Node = (parts: readonly (Uint8Array | Node)[]): Node => w.node(TAG.CTX0, parts);
export const ctxOct1Node = (v: Uint8Array): Node => w.node(TAG.CTX1, [v]);
export const encodeNode = w.encodeNode;
