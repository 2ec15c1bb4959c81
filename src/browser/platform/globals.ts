/**
 * The browser bundle's stand-ins for the Node globals hopsafe's own modules use: a few `Buffer` conversions
 * (hex, base64, Latin-1, allocUnsafe), `process.nextTick`, `setImmediate`, and timers whose handles have `unref()`.
 * The bundler adds `import { … } from` this module to each src/ file that names one of them
 * (scripts/build-browser.mjs) — only to hopsafe's own files, never to dependencies — so no reference to a Node
 * global is left in the bundle. Node never loads this module.
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/** Bytes with Node's `toString('hex' | 'base64' | 'latin1')`. */
class ShimBytes extends Uint8Array {
  override toString(encoding?: string): string {
    if (encoding === 'hex') {
      let s = '';
      for (const x of this) s += HEX[x];
      return s;
    }
    if (encoding === 'base64') return btoa(latin1(this));
    if (encoding === 'latin1' || encoding === 'binary') return latin1(this);
    return new TextDecoder().decode(this);
  }
}

function fromString(src: string, encoding: unknown): ShimBytes {
  if (encoding === 'hex') {
    const n = src.length >>> 1;
    const out = new ShimBytes(n);
    for (let i = 0; i < n; i++) {
      const v = Number.parseInt(src.slice(2 * i, 2 * i + 2), 16);
      if (Number.isNaN(v)) return out.subarray(0, i) as ShimBytes;
      out[i] = v;
    }
    return out;
  }
  if (encoding === 'base64') {
    const bin = atob(
      src
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .replace(/[^A-Za-z0-9+/]/g, ''),
    );
    const out = new ShimBytes(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  if (encoding === 'latin1' || encoding === 'binary') {
    const out = new ShimBytes(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src.charCodeAt(i) & 0xff;
    return out;
  }
  const u = new TextEncoder().encode(src);
  return new ShimBytes(u.buffer, u.byteOffset, u.byteLength);
}

/** The subset of Node's Buffer hopsafe's modules use (views share memory as in Node; from(bytes) copies). */
export const Buffer = {
  from(src: ArrayBufferLike | ArrayLike<number> | string, offsetOrEncoding?: number | string, length?: number): ShimBytes {
    if (typeof src === 'string') return fromString(src, offsetOrEncoding);
    if (src instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && src instanceof SharedArrayBuffer)) {
      const off = typeof offsetOrEncoding === 'number' ? offsetOrEncoding : 0;
      return new ShimBytes(src as ArrayBuffer, off, length ?? src.byteLength - off);
    }
    const a = src as ArrayLike<number>;
    const copy = new ShimBytes(a.length);
    copy.set(a);
    return copy;
  },
  allocUnsafe: (n: number): ShimBytes => new ShimBytes(n),
  alloc: (n: number): ShimBytes => new ShimBytes(n),
  byteLength: (s: string | Uint8Array): number => (typeof s === 'string' ? new TextEncoder().encode(s).length : s.byteLength),
  isBuffer: (x: unknown): boolean => x instanceof ShimBytes,
};

const ticks: (() => void)[] = [];
/** `process.nextTick` (a microtask) and an empty `process.env`. */
export const process = {
  nextTick(fn: (...a: unknown[]) => void, ...args: unknown[]): void {
    ticks.push(() => fn(...args));
    if (ticks.length === 1)
      queueMicrotask(() => {
        for (let i = 0; i < ticks.length; i++) (ticks[i] as () => void)();
        ticks.length = 0;
      });
  },
  env: {} as Record<string, string | undefined>,
};

/** `setImmediate`: a macrotask after pending I/O events, through a MessageChannel (not clamped like setTimeout 0). */
const channel = new MessageChannel();
const immediates: (() => void)[] = [];
(channel.port1 as unknown as { onmessage: () => void }).onmessage = () => {
  const fn = immediates.shift();
  fn?.();
};
export function setImmediate(fn: (...a: unknown[]) => void, ...args: unknown[]): void {
  immediates.push(() => fn(...args));
  channel.port2.postMessage(0);
}

/** A timer handle with Node's `unref()`/`ref()` (no-ops: a page has no event loop to keep alive). */
interface TimerHandle {
  readonly id: number;
  unref(): TimerHandle;
  ref(): TimerHandle;
  hasRef(): boolean;
  [Symbol.toPrimitive](): number;
}

const nativeSetTimeout = globalThis.setTimeout;
const nativeClearTimeout = globalThis.clearTimeout;
const nativeSetInterval = globalThis.setInterval;
const nativeClearInterval = globalThis.clearInterval;

function handle(id: number): TimerHandle {
  const h: TimerHandle = { id, unref: () => h, ref: () => h, hasRef: () => false, [Symbol.toPrimitive]: () => id };
  return h;
}
const idOf = (h: unknown): number | undefined =>
  typeof h === 'object' && h !== null && 'id' in h ? (h as TimerHandle).id : (h as number | undefined);

export function setTimeout(fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]): TimerHandle {
  return handle(nativeSetTimeout(fn, ms, ...args) as unknown as number);
}
export function clearTimeout(h: unknown): void {
  nativeClearTimeout(idOf(h));
}
export function setInterval(fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]): TimerHandle {
  return handle(nativeSetInterval(fn, ms, ...args) as unknown as number);
}
export function clearInterval(h: unknown): void {
  nativeClearInterval(idOf(h));
}
