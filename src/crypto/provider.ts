/**
 * The cryptographic interface the protocol is written against. [SPEC 4]
 * Every deterministic operation must give byte-identical results in every provider;
 * randomized ones (ECDSA signatures, key generation without a seed) must interoperate.
 * All operations are synchronous: both node:crypto and noble are, and the record path
 * must not pay for promises.
 */
export type HashAlg = 'sha256' | 'sha384';
export type AeadAlg = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
/** Diffie-Hellman groups (`kexKeyPair` / `kexDerive`). */
export type KexGroup = 'x25519' | 'p256' | 'p384' | 'brainpoolP256r1';
/** Key-exchange groups of the suites: the DH groups and the hybrid X25519 + ML-KEM-768 (§4.2). */
export type GroupName = KexGroup | 'x25519mlkem768';
/** Key-encapsulation mechanisms (FIPS 203). */
export type KemAlg = 'ml-kem-768';
export type SignatureAlg =
  | 'ecdsa-p256-sha256'
  | 'ecdsa-p384-sha384'
  | 'ed25519'
  | 'rsa-pss-sha256'
  | 'rsa-pkcs1-sha256';

export interface KeyPair {
  /** Raw private scalar (X25519: 32 bytes RFC 7748; NIST/brainpool: big-endian scalar of the field size). */
  readonly privateKey: Uint8Array;
  /** Raw public value (X25519: 32 bytes; NIST/brainpool: uncompressed SEC1 point 0x04||X||Y). */
  readonly publicKey: Uint8Array;
}

export interface KemKeyPair {
  /** ML-KEM-768: 1184 bytes (FIPS 203 ek). */
  readonly encapsulationKey: Uint8Array;
  /** ML-KEM-768: 2400 bytes (FIPS 203 dk). */
  readonly decapsulationKey: Uint8Array;
}

export interface KemEncapsulation {
  /** ML-KEM-768: 1088 bytes. */
  readonly ciphertext: Uint8Array;
  /** 32 bytes. */
  readonly sharedSecret: Uint8Array;
}

/** Opaque, provider-specific handles; created once per certificate/identity and reused. */
export interface PrivateKeyHandle {
  readonly kind: 'private';
  readonly provider: string;
  readonly signatureAlg: SignatureAlg;
}
export interface PublicKeyHandle {
  readonly kind: 'public';
  readonly provider: string;
  readonly signatureAlg: SignatureAlg;
  /** DER SubjectPublicKeyInfo this handle was imported from. */
  readonly spki: Uint8Array;
}

export interface CryptoProvider {
  readonly name: string;
  randomBytes(length: number): Uint8Array;

  hash(alg: HashAlg, data: Uint8Array): Uint8Array;
  hashLength(alg: HashAlg): number;
  hmac(alg: HashAlg, key: Uint8Array, data: Uint8Array): Uint8Array;
  /** RFC 5869 HKDF-Extract; an empty salt means HashLen zero bytes. */
  hkdfExtract(alg: HashAlg, salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  /** RFC 5869 HKDF-Expand; length ≤ 255·HashLen. */
  hkdfExpand(alg: HashAlg, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  /** Returns ciphertext || 16-byte tag. */
  aeadSeal(alg: AeadAlg, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /**
   * Optional: `aeadSeal` written into `out` at `offset` (plaintext.length + 16 bytes) instead of a new array, so a
   * record is sealed in place in its frame (one allocation and one copy less per record). `aad` may be a view of `out`
   * before `offset`. Providers without it are called through `aeadSeal`.
   */
  aeadSealInto?(alg: AeadAlg, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, offset: number): void;
  /** Verifies the tag before releasing anything; returns null on any failure (one failure, no oracle). */
  aeadOpen(alg: AeadAlg, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;

  /** Fresh key pair, or the one determined by `privateKey` (used by test vectors). */
  kexKeyPair(group: KexGroup, privateKey?: Uint8Array): KeyPair;
  /** Shared secret; throws HopsafeError('ERR_MALFORMED') on an invalid or low-order peer value. */
  kexDerive(group: KexGroup, privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;
  /** Whether the suites of this group can be used (hybrid: X25519 and ML-KEM-768 both present). */
  supportsGroup(group: GroupName): boolean;
  /** FIPS 203 ML-KEM.KeyGen; `seed` = d ‖ z (64 bytes) makes it deterministic (test vectors). */
  kemKeyPair(alg: KemAlg, seed?: Uint8Array): KemKeyPair;
  /**
   * FIPS 203 ML-KEM.Encaps; `message` = m (32 bytes) makes it deterministic. A peer key of the wrong length or
   * failing the modulus check: ERR_MALFORMED.
   */
  kemEncapsulate(alg: KemAlg, encapsulationKey: Uint8Array, message?: Uint8Array): KemEncapsulation;
  /**
   * FIPS 203 ML-KEM.Decaps with implicit rejection: a ciphertext of the right length always gives a secret (a
   * wrong one a pseudo-random secret, never an error); a ciphertext of the wrong length: ERR_MALFORMED.
   */
  kemDecapsulate(alg: KemAlg, decapsulationKey: Uint8Array, ciphertext: Uint8Array): Uint8Array;
  supportsAead(alg: AeadAlg): boolean;

  /** PKCS#8 DER private key; throws ERR_MALFORMED / ERR_UNSUPPORTED. */
  importPrivateKey(pkcs8: Uint8Array): PrivateKeyHandle;
  /** DER SubjectPublicKeyInfo; throws ERR_MALFORMED / ERR_UNSUPPORTED. */
  importPublicKey(spki: Uint8Array): PublicKeyHandle;
  sign(key: PrivateKeyHandle, data: Uint8Array): Uint8Array;
  verify(key: PublicKeyHandle, data: Uint8Array, signature: Uint8Array): boolean;
}

export const HASH_LENGTH: Readonly<Record<HashAlg, number>> = { sha256: 32, sha384: 48 };
export const AEAD_KEY_LENGTH: Readonly<Record<AeadAlg, number>> = {
  'aes-128-gcm': 16,
  'aes-256-gcm': 32,
  'chacha20-poly1305': 32,
};
export const AEAD_NONCE_LENGTH = 12;
export const AEAD_TAG_LENGTH = 16;
