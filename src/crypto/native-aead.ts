/**
 * [SPEC 4.4] The optional native accelerator of the node provider: `@hopsafe/native-aead`, AES-GCM,
 * ChaCha20-Poly1305 and HMAC on the OpenSSL Node itself links, through Node-API, with each key's schedule kept between
 * records (node:crypto makes a new cipher per record: about 5 µs for a 256-byte AES-128-GCM seal here, against 0.6 µs).
 *
 * Loaded once, when installed, unless `HOPSAFE_NO_NATIVE=1`; before first use it must reproduce node:crypto byte for
 * byte on fixed inputs of every algorithm it serves (and refuse a tampered tag), else it is not used. Outputs are the
 * same bytes either way: it changes cost, never the wire.
 */
import { createCipheriv, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { AEAD_TAG_LENGTH, HASH_LENGTH, type AeadAlg, type HashAlg } from './provider.js';
import { onWipe } from '../bytes/index.js';

/** What `@hopsafe/native-aead` exports (see its index.d.ts). Return codes: 0 done, -1 not authentic, > 0 bad call. */
interface Binding {
  seal(
    slot: number,
    alg: number,
    key: Uint8Array,
    nonce: Uint8Array,
    pt: Uint8Array,
    aad: Uint8Array,
    out: Uint8Array,
    off: number,
  ): number;
  open(slot: number, alg: number, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out: Uint8Array): number;
  hmac(slot: number, alg: number, key: Uint8Array, data: Uint8Array, out: Uint8Array): number;
  hmacOnce(alg: number, key: Uint8Array, data: Uint8Array, out: Uint8Array): number;
  stats(): [number, number];
  forget(first: number, last: number): number;
  wipe(): void;
  opensslVersion(): string;
}

/** Whether the accelerator serves the node provider, and why not when it does not. */
export interface NativeAeadStatus {
  readonly loaded: boolean;
  /** The OpenSSL version the addon runs on, when loaded. */
  readonly openssl?: string;
  /** Why it is not used: not installed, disabled, or it failed its self-test. */
  readonly reason?: string;
}

const AEAD_CODE: Readonly<Record<AeadAlg, number>> = { 'aes-128-gcm': 0, 'aes-256-gcm': 1, 'chacha20-poly1305': 2 };
const HMAC_CODE: Readonly<Record<HashAlg, number>> = { sha256: 3, sha384: 4 };

/** The calls the node provider makes; each returns false (or null) where the binding refused the call itself. */
export interface NativeAead {
  seal(alg: AeadAlg, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array, out: Uint8Array, off: number): boolean;
  /** The plaintext, or null when the tag does not verify (or the binding refused the call). */
  open(alg: AeadAlg, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;
  hmac(alg: HashAlg, key: Uint8Array, data: Uint8Array): Uint8Array | null;
  /** HMAC under a key the binding does not keep (HKDF's one-time PRKs and salts). */
  hmacOnce(alg: HashAlg, key: Uint8Array, data: Uint8Array): Uint8Array | null;
}

/**
 * A slot hint per key buffer: keys in one ArrayBuffer (a session's key block) spread over consecutive slots by
 * offset, buffers over the table by a golden-ratio step. The binding checks the key bytes, so a collision costs one
 * re-key (≈ 0.4 µs), never a wrong key; the hint depends on which buffer holds a key, never on its bytes.
 */
const bases = new WeakMap<ArrayBufferLike, number>();
let nextBase = 0;
/** The last key asked about and its slot: a stream of records under one key skips the map. */
let lastKey: Uint8Array | undefined;
let lastSlot = 0;
/** The hint of a key at `byteOffset` in a buffer whose base is `base` (one hint per 16-byte step). */
const hintAt = (base: number, byteOffset: number): number => (base + (byteOffset >>> 4)) >>> 0;
function slotOf(key: Uint8Array): number {
  if (key === lastKey) return lastSlot;
  let base = bases.get(key.buffer);
  if (base === undefined) {
    nextBase = (nextBase + 0x9e3779b1) >>> 0;
    base = nextBase >>> 24;
    bases.set(key.buffer, base);
  }
  lastKey = key;
  lastSlot = hintAt(base, key.byteOffset);
  return lastSlot;
}

/**
 * [SPEC 4.4] Before `wipe` zeroes `b`: the key contexts of every hint a key inside `b` would have (its buffer's base
 * plus each 16-byte step it spans) are dropped, so a wiped or replaced key (destroy, key update, group epochs) leaves
 * no schedule or copy behind. A buffer that never held a key served here has no base: nothing to do.
 */
function forgetIn(b: Binding, region: Uint8Array): void {
  const base = bases.get(region.buffer);
  if (base === undefined || region.length === 0) return;
  if (lastKey?.buffer === region.buffer) lastKey = undefined;
  b.forget(hintAt(base, region.byteOffset), hintAt(base, region.byteOffset + region.length - 1));
}

function wrap(b: Binding): NativeAead {
  return {
    seal: (alg, key, nonce, pt, aad, out, off) => b.seal(slotOf(key), AEAD_CODE[alg], key, nonce, pt, aad, out, off) === 0,
    open(alg, key, nonce, sealed, aad) {
      const out = new Uint8Array(Math.max(0, sealed.length - AEAD_TAG_LENGTH));
      return b.open(slotOf(key), AEAD_CODE[alg], key, nonce, sealed, aad, out) === 0 ? out : null;
    },
    hmac(alg, key, data) {
      const out = new Uint8Array(HASH_LENGTH[alg]);
      return b.hmac(slotOf(key), HMAC_CODE[alg], key, data, out) === 0 ? out : null;
    },
    hmacOnce(alg, key, data) {
      const out = new Uint8Array(HASH_LENGTH[alg]);
      return b.hmacOnce(HMAC_CODE[alg], key, data, out) === 0 ? out : null;
    },
  };
}

/** Fixed inputs (not secret): the accelerator must give node:crypto's bytes for each, and refuse a changed tag. */
function selfTest(n: NativeAead): boolean {
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 7 + 3) & 0xff);
  const aad = data.subarray(0, 13);
  const nonce = data.subarray(20, 32);
  for (const alg of Object.keys(AEAD_CODE) as AeadAlg[]) {
    const key = data.subarray(40, alg === 'aes-128-gcm' ? 56 : 72);
    const c = createCipheriv(alg as 'aes-128-gcm', key, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    const want = Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
    const got = new Uint8Array(data.length + 16 + 3);
    if (!n.seal(alg, key, nonce, data, aad, got, 3) || !want.equals(got.subarray(3))) return false;
    const back = n.open(alg, key, nonce, got.subarray(3), aad);
    if (!back || !Buffer.from(back).equals(data)) return false;
    const last = got.length - 1;
    got[last] = (got[last] ?? 0) ^ 1;
    if (n.open(alg, key, nonce, got.subarray(3), aad) !== null) return false;
  }
  for (const alg of Object.keys(HMAC_CODE) as HashAlg[]) {
    const key = data.subarray(7, 7 + HASH_LENGTH[alg]);
    const want = createHmac(alg, key).update(data).digest();
    const mac = n.hmac(alg, key, data);
    const once = n.hmacOnce(alg, key, data);
    if (!mac || !once || !want.equals(mac) || !want.equals(once)) return false;
  }
  return true;
}

let loaded: { readonly aead: NativeAead | null; readonly status: NativeAeadStatus } | undefined;

function load(): { readonly aead: NativeAead | null; readonly status: NativeAeadStatus } {
  if (loaded) return loaded;
  if (process.env.HOPSAFE_NO_NATIVE === '1') {
    loaded = { aead: null, status: { loaded: false, reason: 'disabled by HOPSAFE_NO_NATIVE=1' } };
    return loaded;
  }
  let binding: Binding;
  try {
    binding = createRequire(import.meta.url)('@hopsafe/native-aead') as Binding;
  } catch {
    loaded = { aead: null, status: { loaded: false, reason: '@hopsafe/native-aead is not installed (or not built for this platform)' } };
    return loaded;
  }
  const candidate = wrap(binding);
  loaded = selfTest(candidate)
    ? { aead: candidate, status: { loaded: true, openssl: binding.opensslVersion() } }
    : { aead: null, status: { loaded: false, reason: '@hopsafe/native-aead failed its self-test against node:crypto' } };
  const aead = loaded.aead;
  binding.wipe(); // the self-test's keys
  if (aead) onWipe((region) => forgetIn(binding, region));
  return loaded;
}

/** The accelerator, or null where it is not installed, disabled or failed its self-test. */
export function nativeAead(): NativeAead | null {
  return load().aead;
}

/** [SPEC 4.4] Whether `createNodeProvider()` runs its AEAD and HMAC on `@hopsafe/native-aead`, and why not. */
export function nativeAeadStatus(): NativeAeadStatus {
  return load().status;
}
