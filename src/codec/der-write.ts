/**
 * hopsafe's one DER writer: every builder returns canonical DER bytes (minimal lengths, minimal INTEGERs,
 * RFC 5280 times). Used for tokens (./tlv.ts), and for issuing certificates, CRLs and attribute certificates
 * (pki/issue.ts). Inputs it cannot encode are ERR_INPUT. [SPEC 5.1, 10.6]
 */
import { HopsafeError } from '../errors/index.js';
import { utf8 as toUtf8 } from '../bytes/index.js';
import { TAG } from './der-read.js';

/** Octets of a DER header (identifier and definite length) for content of `n` octets. */
const headerLength = (n: number): number => (n < 0x80 ? 2 : n < 0x100 ? 3 : n < 0x10000 ? 4 : n < 0x1000000 ? 5 : 6);

/** Writes the header of a TLV with content length `len` at `off`; returns the offset of the content. */
function writeHeader(out: Uint8Array, off: number, tag: number, len: number): number {
  out[off++] = tag;
  if (len < 0x80) out[off++] = len;
  else {
    const k = headerLength(len) - 2;
    out[off++] = 0x80 | k;
    for (let i = k - 1; i >= 0; i--) out[off++] = Math.floor(len / 2 ** (8 * i)) & 0xff;
  }
  return off;
}

/** One DER TLV with identifier octet `tag` and the concatenation of `content` as its content. */
export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of content) len += c.length;
  const out = new Uint8Array(headerLength(len) + len);
  let o = writeHeader(out, 0, tag, len);
  for (const c of content) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export const seq = (...content: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...content);
export const set = (...content: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...content);
export const octetString = (v: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, v);
export const utf8String = (v: string): Uint8Array => tlv(TAG.UTF8, toUtf8(v));
export const boolean = (v: boolean): Uint8Array => tlv(TAG.BOOLEAN, Uint8Array.of(v ? 0xff : 0x00));
export const NULL: Uint8Array = Uint8Array.of(TAG.NULL, 0);

/** Octets of the minimal two's-complement encoding of a safe integer. */
function integerLength(v: number): number {
  let k = 1;
  // 2^(8k-1) bounds what k octets hold: [-2^(8k-1), 2^(8k-1) - 1]
  while (k < 8 && (v >= 2 ** (8 * k - 1) || v < -(2 ** (8 * k - 1)))) k++;
  return k;
}

/** Writes the `k`-octet two's-complement encoding of `v` at `off`. */
function writeInteger(out: Uint8Array, off: number, v: number, k: number): void {
  let x = v;
  for (let i = k - 1; i >= 0; i--) {
    const low = ((x % 256) + 256) % 256;
    out[off + i] = low;
    x = (x - low) / 256;
  }
}

function checkInteger(v: number): void {
  if (!Number.isSafeInteger(v)) throw new HopsafeError('ERR_INPUT', 'integer out of range');
}

/** Minimal two's-complement content of a safe integer. */
export function integerContent(v: number): Uint8Array {
  checkInteger(v);
  const k = integerLength(v);
  const out = new Uint8Array(k);
  writeInteger(out, 0, v, k);
  return out;
}

/** An INTEGER-like TLV (INTEGER, ENUMERATED) of a safe integer, in one allocation. */
function integerTlv(tag: number, v: number): Uint8Array {
  checkInteger(v);
  const k = integerLength(v);
  const out = new Uint8Array(2 + k);
  out[0] = tag;
  out[1] = k;
  writeInteger(out, 2, v, k);
  return out;
}

export const integer = (v: number): Uint8Array => integerTlv(TAG.INTEGER, v);
export const enumerated = (v: number): Uint8Array => integerTlv(TAG.ENUMERATED, v);

/** BIT STRING of whole octets, or with `unused` trailing bits of the last octet (which must be zero). */
export function bitString(bytes: Uint8Array, unused = 0): Uint8Array {
  if (
    !Number.isInteger(unused) ||
    unused < 0 ||
    unused > 7 ||
    (unused > 0 && bytes.length === 0) ||
    ((bytes[bytes.length - 1] ?? 0) & ((1 << unused) - 1)) !== 0
  )
    throw new HopsafeError('ERR_INPUT', 'bad BIT STRING unused bits');
  return tlv(TAG.BIT_STRING, Uint8Array.of(unused), bytes);
}

/** OBJECT IDENTIFIER from dotted text (arcs of any size: UUID OIDs). */
export function oid(text: string): Uint8Array {
  const parts = text.split('.');
  if (parts.length < 2 || !parts.every((p) => /^(0|[1-9][0-9]*)$/.test(p)))
    throw new HopsafeError('ERR_INPUT', `bad OID ${JSON.stringify(text)}`);
  const arcs = parts.map(BigInt);
  const [a0, a1] = arcs as [bigint, bigint];
  if (a0 > 2n || (a0 < 2n && a1 > 39n)) throw new HopsafeError('ERR_INPUT', `bad OID ${JSON.stringify(text)}`);
  const out: number[] = [];
  for (const arc of [a0 * 40n + a1, ...arcs.slice(2)]) {
    const b7: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) b7.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...b7);
  }
  return tlv(TAG.OID, Uint8Array.from(out));
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function timeText(d: Date, fullYear: boolean): string {
  const y = d.getUTCFullYear();
  const ymd = `${fullYear ? pad(y, 4) : pad(y % 100, 2)}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}`;
  return `${ymd}${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}Z`;
}

function wholeSeconds(d: Date): Date {
  const ms = d.getTime();
  if (!Number.isFinite(ms) || d.getUTCFullYear() < 0 || d.getUTCFullYear() > 9999) throw new HopsafeError('ERR_INPUT', 'time out of range');
  return new Date(Math.floor(ms / 1000) * 1000);
}

/** GeneralizedTime YYYYMMDDHHMMSSZ (whole seconds, the fraction dropped). */
export function generalizedTime(d: Date): Uint8Array {
  return tlv(TAG.GENERALIZED_TIME, toUtf8(timeText(wholeSeconds(d), true)));
}

/** [SPEC 10.1] RFC 5280 §4.1.2.5: UTCTime YYMMDDHHMMSSZ for 1950–2049, GeneralizedTime otherwise. Whole seconds. */
export function time(d: Date): Uint8Array {
  const t = wholeSeconds(d);
  const y = t.getUTCFullYear();
  return y >= 1950 && y < 2050 ? tlv(TAG.UTC_TIME, toUtf8(timeText(t, false))) : generalizedTime(t);
}

/**
 * A TLV whose content is laid out later: its parts are referenced, not copied, until {@link encodeNode} writes the
 * whole tree into one buffer. For large nested values (tokens carrying certificate chains), where building every
 * level with {@link tlv} would copy each certificate once per level.
 */
export interface DerNode {
  readonly tag: number;
  readonly parts: readonly (Uint8Array | DerNode)[];
  /** Content length. */
  readonly length: number;
}

const encodedLength = (p: Uint8Array | DerNode): number => (p instanceof Uint8Array ? p.length : headerLength(p.length) + p.length);

export function node(tag: number, parts: readonly (Uint8Array | DerNode)[]): DerNode {
  let length = 0;
  for (const p of parts) length += encodedLength(p);
  return { tag, parts, length };
}

function writeNode(n: DerNode, out: Uint8Array, off: number): number {
  off = writeHeader(out, off, n.tag, n.length);
  for (const p of n.parts) {
    if (p instanceof Uint8Array) {
      out.set(p, off);
      off += p.length;
    } else off = writeNode(p, out, off);
  }
  return off;
}

/** The DER of `n`: the same bytes as building it with {@link tlv} level by level, written once. */
export function encodeNode(n: DerNode): Uint8Array {
  const out = new Uint8Array(encodedLength(n));
  writeNode(n, out, 0);
  return out;
}
