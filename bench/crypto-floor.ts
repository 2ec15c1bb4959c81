/**
 * The crypto floor of a handshake (issue 19): every primitive operation one full 1-RT handshake makes on both sides
 * (signatures, verifications, key generation, DH, hashes, HKDF, HMAC, random bytes), recorded through a provider
 * wrapper during a real warm handshake and replayed, with the same arguments and the same provider, as one
 * benchmark operation. handshakes per CPU-second ÷ floor replays per CPU-second = the share of a handshake's CPU
 * time that is cryptography; the rest is encoding, parsing, checks, allocation and promises.
 */
import type { CryptoProvider } from '../src/crypto/provider.js';

/** Provider methods that are bookkeeping, not operations (not recorded). */
const QUERIES: ReadonlySet<string> = new Set(['name', 'hashLength', 'supportsGroup', 'supportsAead']);

export interface RecordedCall {
  readonly method: keyof CryptoProvider;
  readonly args: readonly unknown[];
}

export interface Recorder {
  readonly provider: CryptoProvider;
  /** Calls since the last `clear()`. */
  readonly calls: RecordedCall[];
  clear(): void;
}

/** Wraps `inner` so that every operation is recorded with its arguments (and still performed by `inner`). */
export function recordingProvider(inner: CryptoProvider): Recorder {
  const calls: RecordedCall[] = [];
  const provider = new Proxy(inner, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || QUERIES.has(prop) || typeof v !== 'function') return v;
      return (...args: unknown[]): unknown => {
        calls.push({ method: prop as keyof CryptoProvider, args });
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { provider, calls, clear: () => void calls.splice(0) };
}

/** Replays recorded calls on `provider` (the unwrapped one): one crypto-floor handshake. */
export function replay(provider: CryptoProvider, calls: readonly RecordedCall[]): () => void {
  const bound = calls.map((c) => {
    const fn = provider[c.method] as unknown as (...a: unknown[]) => unknown;
    return () => fn.apply(provider, c.args as unknown[]);
  });
  return () => {
    for (const f of bound) f();
  };
}

/** "sign×2, verify×2, …": the operation counts of one recorded handshake. */
export function describeCalls(calls: readonly RecordedCall[]): string {
  const n = new Map<string, number>();
  for (const c of calls) n.set(c.method, (n.get(c.method) ?? 0) + 1);
  return [...n].map(([m, k]) => `${m}×${k}`).join(', ');
}

/** What the protocol itself needs per handshake, both sides, warm chain cache (for the note: more means avoidable work). */
export const PROTOCOL_MINIMUM: Readonly<Partial<Record<keyof CryptoProvider, number>>> = {
  sign: 2,
  verify: 2,
  kexKeyPair: 2,
  kexDerive: 2,
};
