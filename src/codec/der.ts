/**
 * Strict DER framing (shared by tokens, certificates and keys), the RFC 5280 time forms and the one
 * ERR_MALFORMED helper of the DER engine; values are read by ./der-read.ts and written by ./der-write.ts.
 * [SPEC 5.1, 10.1]
 */
import { HopsafeError } from '../errors/index.js';

/** The DER engine's one failure: ERR_MALFORMED with `what` as the message. */
export function malformed(what: string): never {
  throw new HopsafeError('ERR_MALFORMED', what);
}

export interface FramingOptions {
  /** Identifier octets allowed anywhere in the value (e.g. hopsafe tokens use only a handful); default: any. */
  readonly allowedTags?: ReadonlySet<number>;
  /** Nesting limit (default 32). */
  readonly maxDepth?: number;
  /**
   * Also check the content of universal values anywhere in the structure (default false): what a generic
   * decoder (asn1js, hopsafe's former one) refused while parsing, made DER-strict — see `checkUniversalContent`.
   */
  readonly universalContent?: boolean;
}

const UTC_TIME = 0x17;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Universal tag numbers whose DER encoding is constructed: EXTERNAL, EMBEDDED PDV, SEQUENCE, SET, CHARACTER STRING, and high tag numbers. */
const CONSTRUCTED_UNIVERSAL: ReadonlySet<number> = new Set([8, 11, 16, 17, 29, 31]);
const GENERALIZED_TIME = 0x18;

/**
 * [SPEC 10.1] The calendar value of a DER UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime
 * (YYYYMMDDHHMMSSZ) content — the only forms RFC 5280 §4.1.2.5 allows — as milliseconds since the epoch,
 * or undefined when the content is not one of them or names no real instant (month 13, 31 April, 24:00…).
 */
export function derTime(tag: number, b: Uint8Array, start: number, end: number): number | undefined {
  const n = end - start;
  const digits = tag === UTC_TIME ? 12 : tag === GENERALIZED_TIME ? 14 : -1;
  if (digits < 0 || n !== digits + 1 || b[end - 1] !== 0x5a) return undefined; // 'Z'
  const d = (i: number): number => {
    const c = (b[start + i] as number) - 0x30;
    return c >= 0 && c <= 9 ? c : Number.NaN;
  };
  const two = (i: number): number => d(i) * 10 + d(i + 1);
  let year: number;
  let p: number;
  if (tag === UTC_TIME) {
    const yy = two(0);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    p = 2;
  } else {
    year = two(0) * 100 + two(2);
    p = 4;
  }
  const month = two(p);
  const day = two(p + 2);
  const hour = two(p + 4);
  const minute = two(p + 6);
  const second = two(p + 8);
  if (!(month >= 1 && month <= 12 && hour <= 23 && minute <= 59 && second <= 59) || Number.isNaN(year)) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (!(day >= 1 && day <= (month === 2 ? (leap ? 29 : 28) : (DAYS_IN_MONTH[month - 1] as number)))) return undefined; // 30 February and the like
  if (year >= 100) return Date.UTC(year, month - 1, day, hour, minute, second);
  const dt = new Date(0);
  dt.setUTCFullYear(year, month - 1, day); // Date.UTC maps years 0–99 onto 1900–1999
  dt.setUTCHours(hour, minute, second, 0);
  return dt.getTime();
}

/**
 * [SPEC 10.1] Content rules for universal values, checked wherever they occur (also in fields hopsafe does
 * not interpret): what asn1js refused while decoding, made DER-strict. BIT STRING: an initial octet ≤ 7,
 * 0 when there are no further octets. OBJECT IDENTIFIER: non-empty, minimal arcs, last arc complete.
 * UTCTime/GeneralizedTime: the RFC 5280 forms (`derTime`). No end-of-contents (tag 0), no reserved universal tag (15, ≥ 37). BMPString: whole UTF-16 units; UniversalString:
 * whole UTF-32 units. SEQUENCE and SET are constructed, strings and the other simple types primitive (DER has no
 * constructed strings).
 */
function checkUniversalContent(b: Uint8Array, tag: number, start: number, end: number, fail: (m: string) => never): void {
  const n = end - start;
  switch (tag) {
    case 0x03:
      if (n === 0 || (b[start] as number) > 7 || (n === 1 && b[start] !== 0)) fail('bad BIT STRING');
      return;
    case 0x06: {
      if (n === 0 || ((b[end - 1] as number) & 0x80) !== 0) fail('bad OBJECT IDENTIFIER');
      let arcStart = true;
      for (let i = start; i < end; i++) {
        const x = b[i] as number;
        if (arcStart && x === 0x80) fail('non-minimal OBJECT IDENTIFIER arc');
        arcStart = (x & 0x80) === 0;
      }
      return;
    }
    case UTC_TIME:
    case GENERALIZED_TIME:
      if (derTime(tag, b, start, end) === undefined) fail('invalid time');
      return;
    case 0x1e:
      if (n % 2 !== 0) fail('bad BMPString');
      return;
    case 0x1c:
      if (n % 4 !== 0) fail('bad UniversalString');
      return;
    case 0x00:
      fail('end-of-contents octets in DER');
      return;
    case 0x0f:
      fail('reserved universal tag 15');
      return;
    case 0x10:
    case 0x11:
      fail('primitive SEQUENCE/SET');
      return;
    default:
      if ((tag & 0x20) !== 0 && !CONSTRUCTED_UNIVERSAL.has(tag & 0x1f)) fail(`constructed encoding of universal tag ${tag & 0x1f}`);
  }
}

/**
 * Strict DER framing, checked before the reader (which trusts it) sees the bytes: definite minimal
 * lengths (≤ 4 length octets), every constructed value exactly filled by its children, bounded nesting,
 * optionally a whitelist of tags. One implementation for tokens, certificates and keys. [SPEC 5.1, 10.1]
 */
export function checkDerFraming(b: Uint8Array, what: string, opts: FramingOptions = {}): void {
  const maxDepth = opts.maxDepth ?? 32;
  const allowed = opts.allowedTags;
  const contents = opts.universalContent === true;
  const fail = (m: string): never => malformed(`${what}: ${m}`);
  const walk = (off: number, end: number, depth: number): void => {
    if (depth > maxDepth) fail('nesting too deep');
    while (off < end) {
      const tag = b[off++] as number;
      if (allowed && !allowed.has(tag)) fail(`unexpected tag 0x${tag.toString(16)}`);
      if ((tag & 0x1f) === 0x1f) {
        let n = 0;
        let num = 0;
        for (;;) {
          if (off >= end || ++n > 4) fail('bad tag');
          const x = b[off++] as number;
          num = num * 128 + (x & 0x7f);
          if ((x & 0x80) === 0) break;
        }
        if (contents && (tag & 0xc0) === 0 && num >= 37) fail(`reserved universal tag ${num}`);
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
      if (contents && (tag & 0xc0) === 0) checkUniversalContent(b, tag, off, off + len, fail);
      if (tag & 0x20) walk(off, off + len, depth + 1);
      off += len;
    }
  };
  walk(0, b.length, 0);
}

/** [SPEC 5.1] The only tags hopsafe tokens use: BOOLEAN, INTEGER, OCTET STRING, ENUMERATED, UTF8String, SEQUENCE, [0] constructed, [1] primitive. */
export const TOKEN_TAGS: ReadonlySet<number> = new Set([0x01, 0x02, 0x04, 0x0a, 0x0c, 0x30, 0xa0, 0x81]);
