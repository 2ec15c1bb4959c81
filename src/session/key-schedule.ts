/**
 * Key schedule. [SPEC 6]
 *   hA  = H(m1 || 0^HashLen)            m1 = initiator's SignedClearToken1 (DER)
 *   hB  = H(m2 || hA)                   m2 = responder's SignedClearToken1 (DER)
 *   PRK = HKDF-Extract(salt = hB, IKM = DHS)
 *   CS(a2b, 0) = HKDF-Expand(PRK, "hopsafe/1 a2b", HashLen);  CS(b2a, 0) likewise with "hopsafe/1 b2a"
 *   IK = HKDF-Expand(CS, "hopsafe/1 ik", HashLen); EK = HKDF-Expand(CS, "hopsafe/1 ek", Nk); IV = HKDF-Expand(CS, "hopsafe/1 iv", 12)
 *   key update: CS' = HKDF-Expand(HKDF-Extract(salt = CS, IKM = DH(e', e_peer)), "hopsafe/1 ku" || H(ct2), HashLen)
 * hA and hB are never sent.
 */
import { concat, utf8, wipe } from '../bytes/index.js';
import { AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH, type CryptoProvider } from '../crypto/provider.js';
import type { Suite } from '../crypto/suites.js';
import type { Protection } from '../codec/tokens.js';

export const LABEL = {
  a2b: utf8('hopsafe/1 a2b'),
  b2a: utf8('hopsafe/1 b2a'),
  ik: utf8('hopsafe/1 ik'),
  ek: utf8('hopsafe/1 ek'),
  iv: utf8('hopsafe/1 iv'),
  ku: utf8('hopsafe/1 ku'),
} as const;

/** [SPEC 6.1] */
export function transcriptA(p: CryptoProvider, suite: Suite, m1: Uint8Array): Uint8Array {
  return p.hash(suite.hash, concat(m1, new Uint8Array(p.hashLength(suite.hash))));
}

/** [SPEC 6.1] */
export function transcriptB(p: CryptoProvider, suite: Suite, m2: Uint8Array, hA: Uint8Array): Uint8Array {
  return p.hash(suite.hash, concat(m2, hA));
}

export interface ChainSecrets {
  readonly a2b: Uint8Array;
  readonly b2a: Uint8Array;
}

/** [SPEC 6.2] */
export function initialChainSecrets(p: CryptoProvider, suite: Suite, dhs: Uint8Array, hB: Uint8Array): ChainSecrets {
  const hl = p.hashLength(suite.hash);
  const prk = p.hkdfExtract(suite.hash, hB, dhs);
  const out = { a2b: p.hkdfExpand(suite.hash, prk, LABEL.a2b, hl), b2a: p.hkdfExpand(suite.hash, prk, LABEL.b2a, hl) };
  wipe(prk);
  return out;
}

export interface TrafficKeys {
  /** Integrity key (HMAC) — always derived. */
  readonly ik: Uint8Array;
  /** Encryption key and IV — confidentiality mode only. */
  readonly ek?: Uint8Array;
  readonly iv?: Uint8Array;
}

/**
 * [SPEC 6.3] Byte layout of one direction's traffic keys in one buffer: IK | EK | IV (EK and IV in
 * confidentiality mode only). Sessions keep all their key material in one buffer with this layout.
 */
export interface KeyLayout {
  /** HashLen: length of IK (and of a chain secret). */
  readonly hl: number;
  /** Nk: length of EK (0 in integrity mode). */
  readonly nk: number;
  /** hl + nk + IV length (0 in integrity mode). */
  readonly size: number;
}

export function keyLayout(p: CryptoProvider, suite: Suite, protection: Protection): KeyLayout {
  const hl = p.hashLength(suite.hash);
  if (protection === 'integrity') return { hl, nk: 0, size: hl };
  const nk = AEAD_KEY_LENGTH[suite.aead];
  return { hl, nk, size: hl + nk + AEAD_NONCE_LENGTH };
}

/** [SPEC 6.3] Derives the traffic keys of chain secret `cs` into `out` at `off` (layout `keyLayout`). */
export function deriveTrafficKeysInto(
  p: CryptoProvider,
  suite: Suite,
  protection: Protection,
  cs: Uint8Array,
  out: Uint8Array,
  off: number,
): void {
  const { hl, nk } = keyLayout(p, suite, protection);
  const parts: [Uint8Array, number][] = [[LABEL.ik, hl]];
  if (protection !== 'integrity') parts.push([LABEL.ek, nk], [LABEL.iv, AEAD_NONCE_LENGTH]);
  for (const [label, length] of parts) {
    const k = p.hkdfExpand(suite.hash, cs, label, length);
    out.set(k, off);
    wipe(k);
    off += length;
  }
}

/**
 * [SPEC 6.3] The keys of one direction and epoch. All of them are views of one buffer (fewer objects per
 * session; wiping the views wipes the buffer).
 */
export function trafficKeys(p: CryptoProvider, suite: Suite, protection: Protection, cs: Uint8Array): TrafficKeys {
  const { hl, nk, size } = keyLayout(p, suite, protection);
  const buf = new Uint8Array(size);
  deriveTrafficKeysInto(p, suite, protection, cs, buf, 0);
  if (protection === 'integrity') return { ik: buf };
  return { ik: buf.subarray(0, hl), ek: buf.subarray(hl, hl + nk), iv: buf.subarray(hl + nk) };
}

/** [SPEC 7.2] Next chain secret of one direction after a key update carrying `ct2`. */
export function nextChainSecret(p: CryptoProvider, suite: Suite, cs: Uint8Array, dh: Uint8Array, ct2: Uint8Array): Uint8Array {
  const prk = p.hkdfExtract(suite.hash, cs, dh);
  const next = p.hkdfExpand(suite.hash, prk, concat(LABEL.ku, p.hash(suite.hash, ct2)), p.hashLength(suite.hash));
  wipe(prk);
  return next;
}

export function wipeKeys(k: TrafficKeys | undefined): void {
  if (k) wipe(k.ik, k.ek, k.iv);
}
