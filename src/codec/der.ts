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

export function decode(bytes: Uint8Array, maxLength: number, what: string): Node {
  if (bytes.length > maxLength) throw new HopsafeError('ERR_TOO_LARGE', `${what} exceeds ${maxLength} bytes`);
  const r = asn1js.fromBER(bytes);
  if (r.offset === -1 || r.offset !== bytes.length || r.result.error) malformed(`${what}: invalid DER`);
  return r.result;
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
