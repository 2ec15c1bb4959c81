/**
 * Minimal strict DER: a reader over a framing-checked buffer and a writer that emits canonical DER
 * directly. Used for hopsafe's own tokens (seven tags, SPEC 5.1) and, through `decodeDer`, for
 * certificates, CRLs and attribute certificates (src/pki/der.ts adds the X.509 types). asn1js cost
 * ~20 % of a handshake for tokens and most of a cold-cache certificate validation, mostly by building
 * an object per value and sniffing every OCTET STRING and BIT STRING for encapsulated ASN.1. [SPEC 5.1, 10.1]
 */
import { HopsafeError } from '../errors/index.js';
import { concat, fromUtf8, utf8 as toUtf8 } from '../bytes/index.js';
import { checkDerFraming, TOKEN_TAGS, type FramingOptions } from './der.js';

export const TAG = { BOOLEAN: 0x01, INTEGER: 0x02, OCTET_STRING: 0x04, ENUMERATED: 0x0a, UTF8: 0x0c, SEQUENCE: 0x30, CTX0: 0xa0, CTX1: 0x81 } as const;

/** One decoded TLV: `buf.subarray(start, end)` is its content, `buf.subarray(offset, end)` the whole encoding. */
export interface Tlv {
  readonly tag: number;
  readonly buf: Uint8Array;
  readonly offset: number;
  readonly start: number;
  readonly end: number;
}

function malformed(what: string): never {
  throw new HopsafeError('ERR_MALFORMED', what);
}

/**
 * Reads the TLV at `off` of a buffer whose framing was already checked. A multi-octet identifier (tag
 * number ≥ 31, never used by tokens or by the X.509 fields hopsafe reads) keeps its first octet as `tag`,
 * so it matches no expected tag.
 */
function readAt(buf: Uint8Array, off: number): Tlv {
  const tag = buf[off] as number;
  let q = off + 1;
  if ((tag & 0x1f) === 0x1f) {
    while (((buf[q] as number) & 0x80) !== 0) q++;
    q++;
  }
  const l0 = buf[q] as number;
  let len = l0;
  let p = q + 1;
  if (l0 & 0x80) {
    len = 0;
    for (let i = 0; i < (l0 & 0x7f); i++) len = len * 256 + (buf[p++] as number);
  }
  return { tag, buf, offset: off, start: p, end: p + len };
}

/** [SPEC 5.1, 5.2] Size cap, strict framing over the token tag set, one value and nothing after it. */
export function decode(bytes: Uint8Array, maxLength: number, what: string): Tlv {
  if (bytes.length > maxLength) throw new HopsafeError('ERR_TOO_LARGE', `${what} exceeds ${maxLength} bytes`);
  checkDerFraming(bytes, what, { allowedTags: TOKEN_TAGS, maxDepth: 8 });
  const t = readAt(bytes, 0);
  if (t.end !== bytes.length) malformed(`${what}: trailing bytes`);
  return t;
}

/**
 * [SPEC 10.1] Exactly one strictly framed DER value covering all of `bytes` (framing options as for
 * `checkDerFraming`). The result and everything read from it are views of `bytes`, not copies.
 */
export function decodeDer(bytes: Uint8Array, what: string, opts: FramingOptions = {}): Tlv {
  checkDerFraming(bytes, what, opts);
  if (bytes.length === 0) malformed(`${what}: empty`);
  const t = readAt(bytes, 0);
  if (t.end !== bytes.length) malformed(`${what}: trailing bytes after the DER value`);
  return t;
}

/** The exact encoding of `t` (for signatures and transcripts). */
export function raw(t: Tlv): Uint8Array {
  return t.buf.subarray(t.offset, t.end);
}

/** The values inside a constructed `t`, in order (no tag check). */
export function childrenOf(t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.start; p < t.end; ) {
    const c = readAt(t.buf, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) malformed(`${what}: expected tag 0x${tag.toString(16)}`);
  return t;
}

export function children(t: Tlv | undefined, what: string, min: number, max: number): Tlv[] {
  const c = childrenOf(expect(t, TAG.SEQUENCE, what));
  if (c.length < min || c.length > max) malformed(`${what}: expected ${min}..${max} elements, got ${c.length}`);
  return c;
}

/**
 * Minimal two's-complement INTEGER/ENUMERATED content in [min, max] (safe integers only). hopsafe's token
 * integers are never negative: their `min` is ≥ 0; RoleInformation role ids are.
 */
export function intValue(t: Tlv, what: string, min: number, max: number): number {
  const b = t.buf;
  const n = t.end - t.start;
  if (n === 0 || n > 8) malformed(`${what}: bad integer length`);
  const b0 = b[t.start] as number;
  if (n > 1) {
    const b1 = b[t.start + 1] as number;
    if ((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80)) malformed(`${what}: non-minimal integer`);
  }
  let v = b0 & 0x80 ? -1 : 0; // the -1 seed carries the sign
  for (let i = t.start; i < t.end; i++) v = v * 256 + (b[i] as number);
  if (!Number.isSafeInteger(v) || v < min || v > max) malformed(`${what}: out of range`);
  return v;
}

export function integer(t: Tlv | undefined, what: string, min: number, max: number): number {
  return intValue(expect(t, TAG.INTEGER, what), what, min, max);
}

export function enumerated(t: Tlv | undefined, what: string, max: number): number {
  return intValue(expect(t, TAG.ENUMERATED, what), what, 0, max);
}

export function octets(t: Tlv | undefined, what: string, minLen: number, maxLen: number): Uint8Array {
  const o = expect(t, TAG.OCTET_STRING, what);
  const n = o.end - o.start;
  if (n < minLen || n > maxLen) malformed(`${what}: length ${n} outside ${minLen}..${maxLen}`);
  return o.buf.slice(o.start, o.end);
}

export function utf8(t: Tlv | undefined, what: string, maxLen: number): string {
  const o = expect(t, TAG.UTF8, what);
  const v = fromUtf8(o.buf.subarray(o.start, o.end));
  if (v.length === 0 || v.length > maxLen) malformed(`${what}: bad length`);
  return v;
}

export function boolean(t: Tlv | undefined, what: string): boolean {
  const o = expect(t, TAG.BOOLEAN, what);
  const v = o.end - o.start === 1 ? o.buf[o.start] : undefined;
  if (v !== 0x00 && v !== 0xff) malformed(`${what}: BOOLEAN must be 00 or FF`);
  return v === 0xff;
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

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let head: number[];
  if (n < 0x80) head = [tag, n];
  else {
    const lb: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) lb.unshift(v & 0xff);
    head = [tag, 0x80 | lb.length, ...lb];
  }
  const out = new Uint8Array(head.length + n);
  out.set(head, 0);
  out.set(content, head.length);
  return out;
}

function intContent(v: number): Uint8Array {
  if (!Number.isSafeInteger(v) || v < 0) throw new HopsafeError('ERR_INPUT', 'integer out of range');
  const bytes: number[] = [];
  let x = v;
  do {
    bytes.unshift(x % 256);
    x = Math.floor(x / 256);
  } while (x > 0);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return Uint8Array.from(bytes);
}

export const seq = (parts: readonly Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, concat(...parts));
export const int = (v: number): Uint8Array => tlv(TAG.INTEGER, intContent(v));
export const enm = (v: number): Uint8Array => tlv(TAG.ENUMERATED, intContent(v));
export const oct = (v: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, v);
export const str = (v: string): Uint8Array => tlv(TAG.UTF8, toUtf8(v));
export const bool = (v: boolean): Uint8Array => tlv(TAG.BOOLEAN, Uint8Array.of(v ? 0xff : 0x00));
export const ctxOct1 = (v: Uint8Array): Uint8Array => tlv(TAG.CTX1, v);
export const ctxSeq0 = (parts: readonly Uint8Array[]): Uint8Array => tlv(TAG.CTX0, concat(...parts));
