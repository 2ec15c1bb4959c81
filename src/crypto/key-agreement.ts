/**
 * Key agreement of a suite's group, whatever its kind: Diffie-Hellman (X25519, P-256, P-384, brainpoolP256r1) or the
 * hybrid X25519 + ML-KEM-768, written once over `CryptoProvider` so both providers run the same composition.
 * [SPEC 4.2, 6.2, 11.1]
 *
 * Hybrid X25519MLKEM768 (group 5):
 *   initiator share = X25519 public (32) ‖ ML-KEM-768 encapsulation key (1184)      = 1216 bytes
 *   responder share = X25519 public (32) ‖ ML-KEM-768 ciphertext (1088)             = 1120 bytes
 *   DHS             = ML-KEM shared secret (32) ‖ X25519 shared secret (32)          = 64 bytes
 * The secret order is draft-ietf-tls-ecdhe-mlkem's X25519MLKEM768 (ML-KEM first); DHS then enters the existing
 * HKDF-Extract with hB as salt (§6.2). Key updates of a hybrid session use its X25519 part only (§7.2).
 */
import { HopsafeError, isHopsafeError } from '../errors/index.js';
import { concat, wipe } from '../bytes/index.js';
import type { CryptoProvider, GroupName, KexGroup, KeyPair } from './provider.js';
import { ML_KEM_768 } from './ml-kem.js';

/** [SPEC 4.2] Sizes of the hybrid group's values. */
export const X25519MLKEM768 = {
  x25519: 32,
  initiatorShare: 32 + ML_KEM_768.encapsulationKey,
  responderShare: 32 + ML_KEM_768.ciphertext,
  secret: ML_KEM_768.sharedSecret + 32,
  /** Initiator's private value: X25519 private key (32) ‖ ML-KEM decapsulation key (2400). */
  initiatorPrivate: 32 + ML_KEM_768.decapsulationKey,
} as const;

/** A source of deterministic bytes (test vectors, §11.1); absent: the provider's CSPRNG. */
export type Draw = (length: number) => Uint8Array;

/** Draws a deterministic EC scalar at most this often before giving up (a P-256 draw fails with p ≈ 2^-32). */
const MAX_SCALAR_DRAWS = 64;

export function isHybrid(group: GroupName): group is 'x25519mlkem768' {
  return group === 'x25519mlkem768';
}

/** [SPEC 7.2] The DH group of the key updates of a session of `group`: the group itself, X25519 for the hybrid. */
export function updateGroup(group: GroupName): KexGroup {
  return isHybrid(group) ? 'x25519' : group;
}

/**
 * A DH key pair. With a deterministic stream the private key is the next 32 (X25519, P-256, brainpoolP256r1) or
 * 48 (P-384) bytes; an EC scalar outside [1, n−1] (the provider refuses it: ERR_INPUT) is discarded and the next one
 * drawn (rejection sampling). [SPEC 11.1]
 */
export function dhKeyPair(p: CryptoProvider, group: KexGroup, draw?: Draw): KeyPair {
  if (!draw) return p.kexKeyPair(group);
  for (let draws = 1; ; draws++) {
    const sk = draw(group === 'p384' ? 48 : 32);
    try {
      return p.kexKeyPair(group, sk);
    } catch (e) {
      wipe(sk);
      if (group === 'x25519' || draws >= MAX_SCALAR_DRAWS || !isHopsafeError(e) || e.code !== 'ERR_INPUT') throw e;
    }
  }
}

/**
 * [SPEC 5.4, 11.1] The initiator's ephemeral for `group`: `publicKey` is its key share. Hybrid: draws the X25519
 * private key (32 bytes), then the ML-KEM-768 seed d ‖ z (64 bytes); `privateKey` = X25519 private ‖ decapsulation key.
 */
export function initiatorEphemeral(p: CryptoProvider, group: GroupName, draw?: Draw): KeyPair {
  if (!isHybrid(group)) return dhKeyPair(p, group, draw);
  const x = dhKeyPair(p, 'x25519', draw);
  const seed = draw?.(ML_KEM_768.seed);
  const kem = p.kemKeyPair('ml-kem-768', seed);
  if (seed) wipe(seed);
  const out = { privateKey: concat(x.privateKey, kem.decapsulationKey), publicKey: concat(x.publicKey, kem.encapsulationKey) };
  wipe(x.privateKey, kem.decapsulationKey);
  return out;
}

/** [SPEC 7.2] The DH pair of an ephemeral that key updates combine with (hybrid: a copy of its X25519 part). */
export function updateKeyPair(group: GroupName, kp: KeyPair): KeyPair {
  if (!isHybrid(group)) return kp;
  return { privateKey: kp.privateKey.slice(0, X25519MLKEM768.x25519), publicKey: kp.publicKey.slice(0, X25519MLKEM768.x25519) };
}

/** [SPEC 7.2] The DH public value of a peer's handshake share that key updates combine with (hybrid: its X25519 part). */
export function updatePublicValue(group: GroupName, share: Uint8Array): Uint8Array {
  return isHybrid(group) ? share.slice(0, X25519MLKEM768.x25519) : share;
}

export interface ResponderAgreement {
  /** The responder's key share. */
  readonly share: Uint8Array;
  /** DHS (§6.2). */
  readonly secret: Uint8Array;
  /** The responder's ephemeral whose DH pair key updates use (`updateKeyPair`). */
  readonly keyPair: KeyPair;
}

/**
 * [SPEC 5.4, 6.2, 11.1] The responder's side: its share and DHS from the initiator's share. Hybrid: draws the X25519
 * private key (32 bytes), then the ML-KEM-768 encapsulation message m (32 bytes). A share of the wrong length, a
 * low-order X25519 value or an encapsulation key failing the FIPS 203 modulus check: ERR_MALFORMED.
 */
export function respondAgreement(p: CryptoProvider, group: GroupName, peerShare: Uint8Array, draw?: Draw): ResponderAgreement {
  if (!isHybrid(group)) {
    const kp = dhKeyPair(p, group, draw);
    return { share: kp.publicKey, secret: p.kexDerive(group, kp.privateKey, peerShare), keyPair: kp };
  }
  const H = X25519MLKEM768;
  if (peerShare.length !== H.initiatorShare)
    throw new HopsafeError('ERR_MALFORMED', `X25519MLKEM768 initiator share must be ${H.initiatorShare} bytes`);
  const x = dhKeyPair(p, 'x25519', draw);
  const m = draw?.(ML_KEM_768.message);
  let xss: Uint8Array | undefined;
  try {
    xss = p.kexDerive('x25519', x.privateKey, peerShare.subarray(0, H.x25519));
    const kem = p.kemEncapsulate('ml-kem-768', peerShare.subarray(H.x25519), m);
    const secret = concat(kem.sharedSecret, xss);
    wipe(kem.sharedSecret);
    return { share: concat(x.publicKey, kem.ciphertext), secret, keyPair: x };
  } catch (e) {
    wipe(x.privateKey);
    throw e;
  } finally {
    if (m) wipe(m);
    if (xss) wipe(xss);
  }
}

/**
 * [SPEC 5.4, 6.2] The initiator's side: DHS from its ephemeral and the responder's share. Hybrid: a share of the
 * wrong length or a low-order X25519 value is ERR_MALFORMED; a wrong ciphertext of the right length is not detected
 * here (implicit rejection, FIPS 203): it gives another DHS, so the first record fails (ERR_BAD_MAC).
 */
export function completeAgreement(p: CryptoProvider, group: GroupName, mine: KeyPair, peerShare: Uint8Array): Uint8Array {
  if (!isHybrid(group)) return p.kexDerive(group, mine.privateKey, peerShare);
  const H = X25519MLKEM768;
  if (peerShare.length !== H.responderShare)
    throw new HopsafeError('ERR_MALFORMED', `X25519MLKEM768 responder share must be ${H.responderShare} bytes`);
  if (mine.privateKey.length !== H.initiatorPrivate) throw new HopsafeError('ERR_INPUT', 'not an X25519MLKEM768 initiator ephemeral');
  const xss = p.kexDerive('x25519', mine.privateKey.subarray(0, H.x25519), peerShare.subarray(0, H.x25519));
  const kss = p.kemDecapsulate('ml-kem-768', mine.privateKey.subarray(H.x25519), peerShare.subarray(H.x25519));
  const secret = concat(kss, xss);
  wipe(kss, xss);
  return secret;
}

/**
 * Wipes a hybrid initiator ephemeral once DHS is known and its X25519 part was copied out (`updateKeyPair`): the
 * ML-KEM decapsulation key is never needed again. A DH ephemeral is the session's own and stays.
 */
export function retireHandshakeEphemeral(group: GroupName, kp: KeyPair): void {
  if (isHybrid(group)) wipe(kp.privateKey);
}
