/**
 * Thin, strict helpers over asn1js for hopsafe's DER structures. Decoders cap sizes and
 * refuse anything unexpected with ERR_MALFORMED; callers re-encode to enforce canonical DER. [SPEC 5.1]
 */
import * as asn1js from 'asn1js';
import { HopsafeError } from '../errors/index.js';

export type Node = asn1js.AsnType;

const UNIVERSAL = 1;
const CONTEXT = 3;
export const TAG = { BOOLEAN: 1, INTEGER: 2, OCTET_STRING: 4, ENUMERATED: 10, UTF8: 12, SEQUENCE: 16 } as const;

function malformed(what: string): never {
  throw new HopsafeError('ERR_MALFORMED', what);
}

export interface FramingOptions {
  /** Identifier octets allowed anywhere in the value (e.g. hopsafe tokens use only a handful); default: any. */
  readonly allowedTags?: ReadonlySet<number>;
  /** Nesting limit (default 32). */
  readonly maxDepth?: number;
}

/**
 * Strict DER framing, checked before asn1js (a lenient BER reader) sees the bytes: definite minimal
 * lengths (≤ 4 length octets), every constructed value exactly filled by its children, bounded nesting,
 * optionally a whitelist of tags. One implementation for tokens, certificates and keys. [SPEC 5.1, 10.1]
 */
export function checkDerFraming(b: Uint8Array, what: string, opts: FramingOptions = {}): void {
  const maxDepth = opts.maxDepth ?? 32;
  const allowed = opts.allowedTags;
  const fail = (m: string): never => {
    throw new HopsafeError('ERR_MALFORMED', `${what}: ${m}`);
  };
  const walk = (off: number, end: number, depth: number): void => {
    if (depth > maxDepth) fail('nesting too deep');
    while (off < end) {
      const tag = b[off++] as number;
      if (allowed && !allowed.has(tag)) fail(`unexpected tag 0x${tag.toString(16)}`);
      if ((tag & 0x1f) === 0x1f) {
        let n = 0;
        for (;;) {
          if (off >= end || ++n > 4) fail('bad tag');
          if (((b[off++] as number) & 0x80) === 0) break;
        }
      }
      if (off >= end) fail('truncated length');
      const l0 = b[off++] as number;
      let len = l0;
      if (l0 === 0x80) fail('indefinite length');
      if (l0 > 0x80) {
        const n = l0 & 0x7f;
        if (n > 4 || off + n > end) fail('bad length');
        if (b[off] === 0) fail('non-minimal length');
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + (b[off++] as number);
        if (len < 0x80) fail('non-minimal length');
      }
      if (off + len > end) fail('value overruns its container');
      if (tag & 0x20) walk(off, off + len, depth + 1);
      off += len;
    }
  };
  walk(0, b.length, 0);
}

/** Exactly one strictly framed DER value covering all of `bytes`, parsed by asn1js; anything else is ERR_MALFORMED. */
export function parseStrict(bytes: Uint8Array, what: string, opts: FramingOptions = {}): Node {
  checkDerFraming(bytes, what, opts);
  let r: ReturnType<typeof asn1js.fromBER>;
  try {
    r = asn1js.fromBER(bytes);
  } catch (e) {
    // asn1js throws while decoding the content of some universal types (UniversalString, BMPString, …).
    throw new HopsafeError('ERR_MALFORMED', `${what}: invalid DER`, { cause: e });
  }
  if (r.offset === -1 || r.result.error) malformed(`${what}: invalid DER`);
  if (r.offset !== bytes.length) malformed(`${what}: trailing bytes after the DER value`);
  return r.result;
}

/** [SPEC 5.1] The only tags hopsafe tokens use: BOOLEAN, INTEGER, OCTET STRING, ENUMERATED, UTF8String, SEQUENCE, [0] constructed, [1] primitive. */
export const TOKEN_TAGS: ReadonlySet<number> = new Set([0x01, 0x02, 0x04, 0x0a, 0x0c, 0x30, 0xa0, 0x81]);

/** Decodes a hopsafe token: size cap, strict framing over the token tag set, then asn1js. [SPEC 5.1, 5.2] */
export function decode(bytes: Uint8Array, maxLength: number, what: string): Node {
  if (bytes.length > maxLength) throw new HopsafeError('ERR_TOO_LARGE', `${what} exceeds ${maxLength} bytes`);
  return parseStrict(bytes, what, { allowedTags: TOKEN_TAGS, maxDepth: 8 });
}

export function encode(node: Node): Uint8Array {
  return new Uint8Array(node.toBER(false));
}

function isTag(n: Node, cls: number, num: number): boolean {
  return n.idBlock.tagClass === cls && n.idBlock.tagNumber === num;
}

export function children(n: Node | undefined, what: string, min: number, max: number): Node[] {
  if (!n || !(n instanceof asn1js.Constructed) || !isTag(n, UNIVERSAL, TAG.SEQUENCE)) malformed(`${what}: expected SEQUENCE`);
  const v = n.valueBlock.value;
  if (v.length < min || v.length > max) malformed(`${what}: expected ${min}..${max} elements, got ${v.length}`);
  return v;
}

export function integer(n: Node | undefined, what: string, min: number, max: number): number {
  if (!n || !(n instanceof asn1js.Integer) || !(isTag(n, UNIVERSAL, TAG.INTEGER) || isTag(n, UNIVERSAL, TAG.ENUMERATED)))
    malformed(`${what}: expected INTEGER`);
  const big = n.toBigInt();
  if (big < BigInt(min) || big > BigInt(max)) malformed(`${what}: out of range`);
  return Number(big);
}

export function enumerated(n: Node | undefined, what: string, max: number): number {
  if (!n || !isTag(n, UNIVERSAL, TAG.ENUMERATED)) malformed(`${what}: expected ENUMERATED`);
  return integer(n, what, 0, max);
}

export function octets(n: Node | undefined, what: string, minLen: number, maxLen: number): Uint8Array {
  if (!n || !isTag(n, UNIVERSAL, TAG.OCTET_STRING) || n.idBlock.isConstructed) malformed(`${what}: expected OCTET STRING`);
  const v = (n as asn1js.OctetString).valueBlock.valueHexView;
  if (v.length < minLen || v.length > maxLen) malformed(`${what}: length ${v.length} outside ${minLen}..${maxLen}`);
  return Uint8Array.from(v);
}

export function utf8(n: Node | undefined, what: string, maxLen: number): string {
  if (!n || !isTag(n, UNIVERSAL, TAG.UTF8)) malformed(`${what}: expected UTF8String`);
  const v = (n as asn1js.Utf8String).valueBlock.value;
  if (v.length === 0 || v.length > maxLen) malformed(`${what}: bad length`);
  return v;
}

export function boolean(n: Node | undefined, what: string): boolean {
  if (!n || !(n instanceof asn1js.Boolean)) malformed(`${what}: expected BOOLEAN`);
  return n.valueBlock.value;
}

/** [k] IMPLICIT primitive (OCTET STRING content) */
export function contextOctets(n: Node, tag: number): Uint8Array | undefined {
  if (!isTag(n, CONTEXT, tag) || n.idBlock.isConstructed) return undefined;
  return Uint8Array.from((n as asn1js.Primitive).valueBlock.valueHexView);
}

/** [k] IMPLICIT SEQUENCE OF … */
export function contextChildren(n: Node, tag: number): Node[] | undefined {
  if (!isTag(n, CONTEXT, tag) || !(n instanceof asn1js.Constructed)) return undefined;
  return n.valueBlock.value;
}

export function isContext(n: Node, tag: number): boolean {
  return isTag(n, CONTEXT, tag);
}

// ---- builders ----
export const seq = (value: Node[]): Node => new asn1js.Sequence({ value });
export const int = (v: number): Node => asn1js.Integer.fromBigInt(v);
export const enm = (v: number): Node => new asn1js.Enumerated({ value: v });
export const oct = (v: Uint8Array): Node => new asn1js.OctetString({ valueHex: v });
export const str = (v: string): Node => new asn1js.Utf8String({ value: v });
export const bool = (v: boolean): Node => new asn1js.Boolean({ value: v });
export const ctxOct = (tag: number, v: Uint8Array): Node =>
  new asn1js.Primitive({ idBlock: { tagClass: CONTEXT, tagNumber: tag }, valueHex: v });
export const ctxSeq = (tag: number, value: Node[]): Node =>
  new asn1js.Constructed({ idBlock: { tagClass: CONTEXT, tagNumber: tag }, value });
