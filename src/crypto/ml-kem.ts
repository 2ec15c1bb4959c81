/**
 * ML-KEM-768 (FIPS 203) for both providers, on @noble/post-quantum: Node 20's OpenSSL (3.0) has no ML-KEM, so the
 * node provider uses the same pure-JS implementation as the noble provider. [SPEC 4.2, 4.4]
 * Input checks (FIPS 203 §7.2, §7.3): an encapsulation key of the wrong length or that fails the modulus check
 * (ByteEncode12(ByteDecode12(ek)) ≠ ek) and a ciphertext of the wrong length are the peer's error, ERR_MALFORMED;
 * a decapsulation key that fails its hash check or has the wrong length is the caller's, ERR_INPUT. A ciphertext of
 * the right length is never refused: decapsulation implicitly rejects (returns a pseudo-random secret), so a wrong
 * ciphertext surfaces only as keys that do not match (ERR_BAD_MAC on the first record), never as its own error.
 */
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { HopsafeError } from '../errors/index.js';
import type { KemEncapsulation, KemKeyPair } from './provider.js';

/** [SPEC 4.2] FIPS 203 Table 3, ML-KEM-768. */
export const ML_KEM_768 = {
  encapsulationKey: 1184,
  decapsulationKey: 2400,
  ciphertext: 1088,
  sharedSecret: 32,
  /** d ‖ z of ML-KEM.KeyGen_internal (FIPS 203 Algorithm 16). */
  seed: 64,
  /** m of ML-KEM.Encaps_internal (FIPS 203 Algorithm 17). */
  message: 32,
} as const;

/** [SPEC 4.4] Key pair from a 64-byte seed d ‖ z (deterministic), or fresh. */
export function mlKem768KeyPair(seed?: Uint8Array): KemKeyPair {
  if (seed && seed.length !== ML_KEM_768.seed) throw new HopsafeError('ERR_INPUT', 'ML-KEM-768 seed must be 64 bytes');
  const { publicKey, secretKey } = ml_kem768.keygen(seed ? Uint8Array.from(seed) : undefined);
  return { encapsulationKey: publicKey, decapsulationKey: secretKey };
}

/** [SPEC 4.4] Encapsulation to a peer's key; `message` (32 bytes) makes it deterministic (test vectors). */
export function mlKem768Encapsulate(encapsulationKey: Uint8Array, message?: Uint8Array): KemEncapsulation {
  if (message && message.length !== ML_KEM_768.message) throw new HopsafeError('ERR_INPUT', 'ML-KEM-768 message must be 32 bytes');
  if (encapsulationKey.length !== ML_KEM_768.encapsulationKey)
    throw new HopsafeError('ERR_MALFORMED', 'ML-KEM-768 encapsulation key must be 1184 bytes');
  let out: { cipherText: Uint8Array; sharedSecret: Uint8Array };
  try {
    // noble performs the FIPS 203 §7.2 modulus check and throws when it fails.
    out = ml_kem768.encapsulate(encapsulationKey, message ? Uint8Array.from(message) : undefined);
  } catch (e) {
    throw new HopsafeError('ERR_MALFORMED', 'ML-KEM-768 encapsulation key fails the modulus check', { cause: e });
  }
  return { ciphertext: out.cipherText, sharedSecret: Uint8Array.from(out.sharedSecret) };
}

/** [SPEC 4.4] Decapsulation with implicit rejection: any ciphertext of the right length gives a 32-byte secret. */
export function mlKem768Decapsulate(decapsulationKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length !== ML_KEM_768.ciphertext) throw new HopsafeError('ERR_MALFORMED', 'ML-KEM-768 ciphertext must be 1088 bytes');
  if (decapsulationKey.length !== ML_KEM_768.decapsulationKey)
    throw new HopsafeError('ERR_INPUT', 'ML-KEM-768 decapsulation key must be 2400 bytes');
  try {
    return Uint8Array.from(ml_kem768.decapsulate(ciphertext, decapsulationKey));
  } catch (e) {
    // Only the decapsulation key's own hash check (FIPS 203 §7.3) throws: a local defect, not the peer's.
    throw new HopsafeError('ERR_INPUT', 'ML-KEM-768 decapsulation key fails its hash check', { cause: e });
  }
}
