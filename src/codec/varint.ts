/** QUIC-style variable-length integers (RFC 9000 §16): 1, 2, 4 or 8 bytes, 2-bit length prefix. [SPEC 3.2] */
import { HopsafeError } from '../errors/index.js';

export const VARINT_MAX = 2 ** 53 - 1; // JS-safe; the protocol caps sequence numbers far below this.

export function varintLength(n: number): number {
  if (n < 0x40) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x40000000) return 4;
  return 8;
}

/** Writes `n` at `out[off]` and returns the new offset. */
export function writeVarint(out: Uint8Array, off: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new HopsafeError('ERR_INPUT', 'varint out of range');
  const len = varintLength(n);
  if (len === 1) {
    out[off] = n;
  } else if (len === 2) {
    out[off] = 0x40 | (n >>> 8);
    out[off + 1] = n & 0xff;
  } else if (len === 4) {
    out[off] = 0x80 | (n >>> 24);
    out[off + 1] = (n >>> 16) & 0xff;
    out[off + 2] = (n >>> 8) & 0xff;
    out[off + 3] = n & 0xff;
  } else {
    const hi = Math.floor(n / 2 ** 32);
    const lo = n >>> 0;
    out[off] = 0xc0 | (hi >>> 24);
    out[off + 1] = (hi >>> 16) & 0xff;
    out[off + 2] = (hi >>> 8) & 0xff;
    out[off + 3] = hi & 0xff;
    out[off + 4] = lo >>> 24;
    out[off + 5] = (lo >>> 16) & 0xff;
    out[off + 6] = (lo >>> 8) & 0xff;
    out[off + 7] = lo & 0xff;
  }
  return off + len;
}

/**
 * Reads a varint; returns [value, bytesRead] or undefined when the input is short.
 * Non-minimal encodings are refused (one value, one encoding) with ERR_MALFORMED. [SPEC 3.2]
 */
export function readVarint(buf: Uint8Array, off: number): [number, number] | undefined {
  const first = buf[off];
  if (first === undefined) return undefined;
  const len = 1 << (first >>> 6);
  if (off + len > buf.length) return undefined;
  let v = first & 0x3f;
  if (len === 8) {
    let hi = v;
    for (let i = 1; i < 4; i++) hi = hi * 256 + (buf[off + i] as number);
    let lo = 0;
    for (let i = 4; i < 8; i++) lo = lo * 256 + (buf[off + i] as number);
    if (hi >= 2 ** 21) throw new HopsafeError('ERR_MALFORMED', 'varint exceeds 2^53');
    v = hi * 2 ** 32 + lo;
  } else {
    for (let i = 1; i < len; i++) v = v * 256 + (buf[off + i] as number);
  }
  if (varintLength(v) !== len) throw new HopsafeError('ERR_MALFORMED', 'non-minimal varint');
  return [v, len];
}
