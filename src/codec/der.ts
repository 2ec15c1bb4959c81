/**
 * Strict DER framing (shared by tokens, certificates and keys) and a strict asn1js parse for the
 * X.509/PKCS structures. hopsafe's own tokens are read and written by ./tlv.ts. [SPEC 5.1, 10.1]
 */
import * as asn1js from 'asn1js';
import { HopsafeError } from '../errors/index.js';

export type Node = asn1js.AsnType;

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
