/**
 * DER reading for the X.509 family (certificates, CRLs, attribute certificates, RoleInformation) on the
 * codec's strict TLV reader, plus TLV building for issuing. Everything read is a view of the input, not a
 * copy. Every failure is ERR_MALFORMED. [SPEC 10.1]
 */
import { HopsafeError } from '../errors/index.js';
import { fromUtf8 } from '../bytes/index.js';
import { childrenOf, decodeDer, intValue, raw, type Tlv } from '../codec/tlv.js';
import { derTime } from '../codec/der.js';
import { Lru } from '../util/lru.js';

/** Strict DER framing lives in the codec (one implementation for tokens, certificates and keys). [SPEC 10.1] */
export { checkDerFraming } from '../codec/der.js';
export type { Tlv } from '../codec/tlv.js';
/** DER BOOLEAN: one octet, 00 or FF. */
export { boolean } from '../codec/tlv.js';

/** Identifier octets of the universal types read here. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8: 0x0c,
  PRINTABLE: 0x13,
  TELETEX: 0x14,
  IA5: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Context-specific tag [n]: constructed (EXPLICIT, or IMPLICIT of a constructed type) or primitive. */
export const ctx = (n: number, constructed: boolean): number => (constructed ? 0xa0 : 0x80) | n;

function malformed(what: string): never {
  throw new HopsafeError('ERR_MALFORMED', what);
}

/**
 * [SPEC 10.1] Exactly one strictly framed DER value covering all of `der`, with the content of every universal
 * value checked wherever it occurs (BIT STRING, OID, times, BMP/UniversalString, no constructed strings).
 */
export function parseDer(der: Uint8Array, what: string): Tlv {
  const top = decodeDer(der, what, { universalContent: true });
  strictValues(top, what);
  return top;
}

/**
 * [SPEC 10.1] DER value rules the framing check leaves to the reader, checked on every universal INTEGER,
 * ENUMERATED and BIT STRING of the structure (also in fields hopsafe does not interpret): an INTEGER is
 * non-empty and minimal (no leading 00 before a byte < 80, no leading FF before a byte ≥ 80), so one integer
 * has one encoding and serial numbers compare as integers; a BIT STRING's unused bits are zero (X.690
 * §11.2.1), so no bit can hide in them.
 */
function strictValues(t: Tlv, what: string): void {
  const b = t.buf;
  switch (t.tag) {
    case TAG.INTEGER:
    case TAG.ENUMERATED:
      if (!isMinimalInteger(b, t.start, t.end)) malformed(`${what}: non-minimal or empty INTEGER`);
      return;
    case TAG.BIT_STRING: {
      const unused = b[t.start] as number;
      if (unused !== 0 && t.end - t.start > 1 && ((b[t.end - 1] as number) & ((1 << unused) - 1)) !== 0) malformed(`${what}: BIT STRING with non-zero unused bits`);
      return;
    }
    default:
      if ((t.tag & 0x20) !== 0) for (const c of childrenOf(t)) strictValues(c, what);
  }
}

function isMinimalInteger(b: Uint8Array, start: number, end: number): boolean {
  if (end === start) return false;
  if (end - start === 1) return true;
  const b0 = b[start] as number;
  const b1 = b[start + 1] as number;
  return !((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80));
}

/** The exact encoding of a value (a view). */
export const rawOf = raw;

/** The content octets of a value (a view). */
export function contentOf(t: Tlv): Uint8Array {
  return t.buf.subarray(t.start, t.end);
}

/** Children of a SEQUENCE (or of the constructed `tag` given); ERR_MALFORMED naming `what` otherwise. */
export function children(t: Tlv | undefined, what: string, tag: number = TAG.SEQUENCE): Tlv[] {
  if (!t || t.tag !== tag) malformed(`${what}: expected tag 0x${tag.toString(16)}`);
  return childrenOf(t);
}

/** The one value inside an EXPLICIT [n] wrapper. */
export function explicit(t: Tlv, what: string): Tlv {
  const c = childrenOf(t);
  if ((t.tag & 0x20) === 0 || c.length !== 1) malformed(`${what}: bad explicit tag`);
  return c[0] as Tlv;
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

/** Texts of OIDs with arcs beyond 2^46 (hopsafe's UUID arc), by content octets: BigInt arithmetic was a third of a parse. */
const bigOids = new Lru<string, string>(64);

function bigOidText(content: Uint8Array): string {
  const id = Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString('latin1');
  let text = bigOids.get(id);
  if (text === undefined) {
    text = oidFromContent(content);
    bigOids.set(id, text);
  }
  return text;
}

/** OID text; number arithmetic unless an arc outgrows 2^46 (then `oidFromContent`, cached). */
function oidText(b: Uint8Array, start: number, end: number): string {
  let out = '';
  let v = 0;
  let first = true;
  let arcStart = true;
  for (let i = start; i < end; i++) {
    const x = b[i] as number;
    if (arcStart && x === 0x80) malformed('non-minimal OID arc');
    if (v >= 2 ** 46) return bigOidText(b.subarray(start, end));
    v = v * 128 + (x & 0x7f);
    arcStart = (x & 0x80) === 0;
    if (arcStart) {
      if (first) out = v < 40 ? `0.${v}` : v < 80 ? `1.${v - 40}` : `2.${v - 80}`;
      else out += `.${v}`;
      first = false;
      v = 0;
    }
  }
  if (!arcStart || first) malformed('truncated OID');
  return out;
}

export function oid(t: Tlv | undefined, what: string): string {
  if (!t || t.tag !== TAG.OID) malformed(`${what}: expected OBJECT IDENTIFIER`);
  return oidText(t.buf, t.start, t.end);
}

/**
 * [SPEC 10.1, 10.5] INTEGER content octets (a view), non-empty and minimal: the minimal two's-complement
 * encoding is unique, so equal content octets ⇔ equal integers, and serial numbers (as `serialHex`) are
 * compared as integers.
 */
export function integerContent(t: Tlv | undefined, what: string): Uint8Array {
  if (!t || t.tag !== TAG.INTEGER || !isMinimalInteger(t.buf, t.start, t.end)) malformed(`${what}: expected a minimal INTEGER`);
  return contentOf(t);
}

/** A minimally encoded two's-complement INTEGER (or `tag`, e.g. ENUMERATED) in [min, max] (safe integers). */
export function smallInt(t: Tlv | undefined, what: string, min: number, max: number, tag: number = TAG.INTEGER): number {
  if (!t || t.tag !== tag) malformed(`${what}: expected tag 0x${tag.toString(16)}`);
  return intValue(t, what, min, max);
}

/** OCTET STRING content (a view). */
export function octets(t: Tlv | undefined, what: string): Uint8Array {
  if (!t || t.tag !== TAG.OCTET_STRING) malformed(`${what}: expected OCTET STRING`);
  return contentOf(t);
}

/**
 * [SPEC 10.1] BIT STRING (or IMPLICIT `tag`) as its unused-bit count, its length in bits and the octets after
 * the count (a view). Non-zero unused bits are ERR_MALFORMED (DER); callers read bits below `bits` only.
 */
export function bitString(t: Tlv | undefined, what: string, tag: number = TAG.BIT_STRING): { unused: number; bits: number; bytes: Uint8Array } {
  if (!t || t.tag !== tag || t.end === t.start) malformed(`${what}: expected BIT STRING`);
  const unused = t.buf[t.start] as number;
  if (unused > 7 || (unused !== 0 && t.end - t.start === 1)) malformed(`${what}: bad BIT STRING`);
  if (unused !== 0 && ((t.buf[t.end - 1] as number) & ((1 << unused) - 1)) !== 0) malformed(`${what}: BIT STRING with non-zero unused bits`);
  return { unused, bits: (t.end - t.start - 1) * 8 - unused, bytes: t.buf.subarray(t.start + 1, t.end) };
}

export const isTime = (t: Tlv | undefined): boolean => t !== undefined && (t.tag === TAG.UTC_TIME || t.tag === TAG.GENERALIZED_TIME);

/** [SPEC 10.1] UTCTime or GeneralizedTime in the RFC 5280 forms (YYMMDDHHMMSSZ, YYYYMMDDHHMMSSZ). */
export function time(t: Tlv | undefined, what: string, tag?: number): Date {
  if (!t || !(tag === undefined ? isTime(t) : t.tag === tag)) malformed(`${what}: expected ${tag === TAG.GENERALIZED_TIME ? 'GeneralizedTime' : 'UTCTime or GeneralizedTime'}`);
  const ms = derTime(t.tag, t.buf, t.start, t.end);
  if (ms === undefined) malformed(`${what}: invalid time`);
  return new Date(ms);
}

const latin1 = (b: Uint8Array, start: number, end: number): string => Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');

/** UTF8String text (invalid UTF-8 is ERR_MALFORMED). */
export function utf8String(t: Tlv | undefined, what: string): string {
  if (!t || t.tag !== TAG.UTF8) malformed(`${what}: expected UTF8String`);
  return fromUtf8(contentOf(t));
}

/**
 * Text of a DirectoryString-like value: UTF8String (valid UTF-8), PrintableString, IA5String, TeletexString,
 * VisibleString (octets as Latin-1), BMPString (UTF-16BE), UniversalString (UTF-32BE). Undefined for other types.
 */
export function stringValue(t: Tlv | undefined): string | undefined {
  if (!t) return undefined;
  const b = t.buf;
  switch (t.tag) {
    case TAG.UTF8:
      return fromUtf8(contentOf(t));
    case TAG.PRINTABLE:
    case TAG.IA5:
    case TAG.TELETEX:
    case TAG.VISIBLE:
      return latin1(b, t.start, t.end);
    case TAG.BMP: {
      let s = '';
      for (let i = t.start; i + 1 < t.end; i += 2) s += String.fromCharCode(((b[i] as number) << 8) | (b[i + 1] as number));
      return s;
    }
    case TAG.UNIVERSAL_STRING: {
      let s = '';
      for (let i = t.start; i + 3 < t.end; i += 4) {
        const cp = (b[i] as number) * 2 ** 24 + (((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number));
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) malformed('UniversalString: not a Unicode scalar value');
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return undefined;
  }
}

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

// ---- building (issuing) ----

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
