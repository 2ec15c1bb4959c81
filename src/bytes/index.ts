/** Uint8Array helpers used at every boundary. Nothing here allocates more than it returns. */
import { timingSafeEqual } from 'node:crypto';
import { HopsafeError } from '../errors/index.js';

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time equality (length is not secret). */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/**
 * Equality of PUBLIC values (session ids read from a frame header): a plain loop, no native call. Never for
 * secrets or tags: use `equal`.
 */
export function samePublicBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  try {
    return decoder.decode(b);
  } catch {
    throw new HopsafeError('ERR_MALFORMED', 'invalid UTF-8');
  }
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new HopsafeError('ERR_MALFORMED', 'invalid hex');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

export function fromBase64(s: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new HopsafeError('ERR_MALFORMED', 'invalid base64');
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** A plain Uint8Array view (not a Buffer subclass) over the same memory. */
export function asBytes(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Overwrite secret material; best effort (the GC may have copied it). */
export function wipe(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) {
    if (!b) continue;
    beforeWipe?.(b);
    b.fill(0);
  }
}

/** See {@link onWipe}. */
let beforeWipe: ((b: Uint8Array) => void) | undefined;

/**
 * [SPEC 4.4] Registers the one function `wipe` calls with each array before zeroing it: a crypto provider that keeps
 * key schedules outside the JS heap (the native AEAD accelerator) drops those of keys that lay in it, so wiping a key
 * wipes every copy. Internal: set once by src/crypto/native-aead.ts.
 */
export function onWipe(hook: (b: Uint8Array) => void): void {
  beforeWipe = hook;
}

/** Labelled assertion for byte inputs (noble-style). */
export function abytes(value: unknown, label: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new HopsafeError('ERR_INPUT', `${label} must be a Uint8Array`);
  if (length !== undefined && value.length !== length)
    throw new HopsafeError('ERR_INPUT', `${label} must be ${length} bytes, got ${value.length}`);
  return value;
}

export function u16be(n: number): Uint8Array {
  return new Uint8Array([(n >>> 8) & 0xff, n & 0xff]);
}

export function u64be(n: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}
