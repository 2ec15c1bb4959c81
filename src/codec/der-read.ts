/**
 * hopsafe's one DER reader: TLVs over a buffer whose framing `checkDerFraming` checked, and the typed readers
 * for the universal types (INTEGER, BIT STRING, OCTET STRING, OBJECT IDENTIFIER, times, strings). Used by the
 * token codec (./tlv.ts), the key screening (crypto/key-der.ts) and the X.509 family (pki/der.ts). Everything
 * read is a view of the input, not a copy; every failure is ERR_MALFORMED. [SPEC 5.1, 10.1]
 */
import { fromUtf8 } from '../bytes/index.js';
import { Lru } from '../util/lru.js';
import { checkDerFraming, derTime, malformed, type FramingOptions } from './der.js';

/** Identifier octets of the universal types hopsafe reads. */
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

/** Context-specific [n], primitive or constructed. */
export const isContext = (t: Tlv | undefined, n: number): boolean => t !== undefined && (t.tag & 0xc0) === 0x80 && (t.tag & 0x1f) === n;

/** One decoded TLV: `buf.subarray(start, end)` is its content, `buf.subarray(offset, end)` the whole encoding. */
export interface Tlv {
  readonly tag: number;
  readonly buf: Uint8Array;
  readonly offset: number;
  readonly start: number;
  readonly end: number;
}

/**
 * Reads the TLV at `off` of a buffer whose framing was already checked. A multi-octet identifier (tag
 * number ≥ 31, never used by tokens, keys or the X.509 fields hopsafe reads) keeps its first octet as `tag`,
 * so it matches no expected tag.
 */
export function readAt(buf: Uint8Array, off: number): Tlv {
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

/**
 * [SPEC 10.1] `decodeDer` with the content of every universal value checked wherever it occurs (BIT STRING,
 * OID, times, BMP/UniversalString, no constructed strings; see `checkDerFraming`) and the value rules of
 * `strictValues`: for structures whose every field must be DER (certificates, CRLs, keys).
 */
export function parseDer(der: Uint8Array, what: string, opts: Omit<FramingOptions, 'universalContent'> = {}): Tlv {
  const top = decodeDer(der, what, { ...opts, universalContent: true });
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
      if (unused !== 0 && t.end - t.start > 1 && ((b[t.end - 1] as number) & ((1 << unused) - 1)) !== 0)
        malformed(`${what}: BIT STRING with non-zero unused bits`);
      return;
    }
    default:
      if ((t.tag & 0x20) !== 0) for (const c of childrenOf(t)) strictValues(c, what);
  }
}

/** Non-empty minimal two's-complement content: no leading 00 before a byte < 80, no leading FF before a byte ≥ 80. */
export function isMinimalInteger(b: Uint8Array, start: number, end: number): boolean {
  if (end === start) return false;
  if (end - start === 1) return true;
  const b0 = b[start] as number;
  const b1 = b[start + 1] as number;
  return !((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80));
}

/** The exact encoding of `t` (a view; for signatures and transcripts). */
export function raw(t: Tlv): Uint8Array {
  return t.buf.subarray(t.offset, t.end);
}

/** The content octets of a value (a view). */
export function contentOf(t: Tlv): Uint8Array {
  return t.buf.subarray(t.start, t.end);
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

/** `t` if it has identifier octet `tag`; ERR_MALFORMED naming `what` otherwise. */
export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) malformed(`${what}: expected tag 0x${tag.toString(16)}`);
  return t;
}

/** Children of a SEQUENCE (or of the constructed `tag` given); ERR_MALFORMED naming `what` otherwise. */
export function children(t: Tlv | undefined, what: string, tag: number = TAG.SEQUENCE): Tlv[] {
  return childrenOf(expectTag(t, tag, what));
}

/** The one value inside an EXPLICIT [n] wrapper (constructed, exactly one inner value). */
export function explicit(t: Tlv, what: string): Tlv {
  const c = childrenOf(t);
  if ((t.tag & 0x20) === 0 || c.length !== 1) malformed(`${what}: bad explicit tag`);
  return c[0] as Tlv;
}

/**
 * Minimal two's-complement INTEGER/ENUMERATED content in [min, max] (safe integers only; at most 8 content
 * octets). Token integers are never negative (their `min` is ≥ 0); RoleInformation role ids are.
 */
export function intValue(t: Tlv, what: string, min: number, max: number): number {
  const b = t.buf;
  const n = t.end - t.start;
  if (n === 0 || n > 8) malformed(`${what}: bad integer length`);
  if (!isMinimalInteger(b, t.start, t.end)) malformed(`${what}: non-minimal integer`);
  let v = (b[t.start] as number) & 0x80 ? -1 : 0; // the -1 seed carries the sign
  for (let i = t.start; i < t.end; i++) v = v * 256 + (b[i] as number);
  if (!Number.isSafeInteger(v) || v < min || v > max) malformed(`${what}: out of range`);
  return v;
}

/** A minimally encoded two's-complement INTEGER (or `tag`, e.g. ENUMERATED) in [min, max] (safe integers). */
export function smallInt(t: Tlv | undefined, what: string, min: number, max: number, tag: number = TAG.INTEGER): number {
  return intValue(expectTag(t, tag, what), what, min, max);
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

/** OCTET STRING content (a view). */
export function octets(t: Tlv | undefined, what: string): Uint8Array {
  if (!t || t.tag !== TAG.OCTET_STRING) malformed(`${what}: expected OCTET STRING`);
  return contentOf(t);
}

/** DER BOOLEAN: one octet, 00 or FF. */
export function boolean(t: Tlv | undefined, what: string): boolean {
  const o = expectTag(t, TAG.BOOLEAN, what);
  const v = o.end - o.start === 1 ? o.buf[o.start] : undefined;
  if (v !== 0x00 && v !== 0xff) malformed(`${what}: BOOLEAN must be 00 or FF`);
  return v === 0xff;
}

/**
 * [SPEC 10.1] BIT STRING (or IMPLICIT `tag`) as its unused-bit count, its length in bits and the octets after
 * the count (a view). Non-zero unused bits are ERR_MALFORMED (DER); callers read bits below `bits` only.
 */
export function bitString(
  t: Tlv | undefined,
  what: string,
  tag: number = TAG.BIT_STRING,
): { unused: number; bits: number; bytes: Uint8Array } {
  if (!t || t.tag !== tag || t.end === t.start) malformed(`${what}: expected BIT STRING`);
  const unused = t.buf[t.start] as number;
  if (unused > 7 || (unused !== 0 && t.end - t.start === 1)) malformed(`${what}: bad BIT STRING`);
  if (unused !== 0 && ((t.buf[t.end - 1] as number) & ((1 << unused) - 1)) !== 0)
    malformed(`${what}: BIT STRING with non-zero unused bits`);
  return { unused, bits: (t.end - t.start - 1) * 8 - unused, bytes: t.buf.subarray(t.start + 1, t.end) };
}

/** Dotted text of an OID from its content octets; handles arcs beyond 2^53 (UUID OIDs). */
export function oidFromContent(content: Uint8Array): string {
  const arcs: bigint[] = [];
  let v = 0n;
  let started = false;
  for (const b of content) {
    if (!started && b === 0x80) malformed('non-minimal OID arc');
    started = true;
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
      started = false;
    }
  }
  if (started || arcs.length === 0) malformed('truncated OID');
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

/** OBJECT IDENTIFIER as dotted text. */
export function oid(t: Tlv | undefined, what: string): string {
  if (!t || t.tag !== TAG.OID) malformed(`${what}: expected OBJECT IDENTIFIER`);
  return oidText(t.buf, t.start, t.end);
}

export const isTime = (t: Tlv | undefined): boolean => t !== undefined && (t.tag === TAG.UTC_TIME || t.tag === TAG.GENERALIZED_TIME);

/** [SPEC 10.1] UTCTime or GeneralizedTime (or only `tag`) in the RFC 5280 forms (YYMMDDHHMMSSZ, YYYYMMDDHHMMSSZ). */
export function time(t: Tlv | undefined, what: string, tag?: number): Date {
  if (!t || !(tag === undefined ? isTime(t) : t.tag === tag))
    malformed(`${what}: expected ${tag === TAG.GENERALIZED_TIME ? 'GeneralizedTime' : 'UTCTime or GeneralizedTime'}`);
  const ms = derTime(t.tag, t.buf, t.start, t.end);
  if (ms === undefined) malformed(`${what}: invalid time`);
  return new Date(ms);
}

/** UTF8String text (invalid UTF-8 is ERR_MALFORMED). */
export function utf8String(t: Tlv | undefined, what: string): string {
  if (!t || t.tag !== TAG.UTF8) malformed(`${what}: expected UTF8String`);
  return fromUtf8(contentOf(t));
}

const latin1 = (b: Uint8Array, start: number, end: number): string =>
  Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');

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
