/**
 * The cryptographic interface the protocol is written against. [SPEC 4]
 * Every deterministic operation must give byte-identical results in every provider;
 * randomized ones (ECDSA signatures, key generation without a seed) must interoperate.
 * All operations are synchronous: both node:crypto and noble are, and the record path
 * must not pay for promises.
 */
export type HashAlg = 'sha256' | 'sha384';
/** [SPEC 4.4] AEAD algorithms of the suites (16-byte tag, 12-byte nonce; key lengths in {@link AEAD_KEY_LENGTH}). */
export type AeadAlg = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
/** Diffie-Hellman groups (`kexKeyPair` / `kexDerive`). */
export type KexGroup = 'x25519' | 'p256' | 'p384' | 'brainpoolP256r1';
/** Key-exchange groups of the suites: the DH groups and the hybrid X25519 + ML-KEM-768 (§4.2). */
export type GroupName = KexGroup | 'x25519mlkem768';
/** Key-encapsulation mechanisms (FIPS 203). */
export type KemAlg = 'ml-kem-768';
/**
 * [SPEC 4.3] Signature algorithms, determined by the signer's key. `rsa-pkcs1-sha256` is for certificate signatures
 * only: tokens signed with an RSA key use `rsa-pss-sha256`.
 */
export type SignatureAlg = 'ecdsa-p256-sha256' | 'ecdsa-p384-sha384' | 'ed25519' | 'rsa-pss-sha256' | 'rsa-pkcs1-sha256';

/** [SPEC 4.4] An ephemeral Diffie-Hellman key pair in the raw encodings of SPEC 4.4 (from `kexKeyPair`). */
export interface KeyPair {
  /** Raw private scalar (X25519: 32 bytes RFC 7748; NIST/brainpool: big-endian scalar of the field size). */
  readonly privateKey: Uint8Array;
  /** Raw public value (X25519: 32 bytes; NIST/brainpool: uncompressed SEC1 point 0x04||X||Y). */
  readonly publicKey: Uint8Array;
}

/**
 * [SPEC 4.2] An ML-KEM-768 key pair (from `kemKeyPair`): the encapsulation key goes to the peer, the decapsulation
 * key stays local and is wiped after use.
 */
export interface KemKeyPair {
  /** ML-KEM-768: 1184 bytes (FIPS 203 ek). */
  readonly encapsulationKey: Uint8Array;
  /** ML-KEM-768: 2400 bytes (FIPS 203 dk). */
  readonly decapsulationKey: Uint8Array;
}

/** [SPEC 4.2] The result of `kemEncapsulate`: the ciphertext sent to the key's owner and the shared secret K. */
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
/**
 * [SPEC 10.6] A private key that signs outside this program's memory and answers asynchronously: a non-extractable
 * WebCrypto CryptoKey (`webCryptoSigner` in `hopsafe/browser`), an HSM, a key agent. Given as `identity.signer`
 * instead of `identity.privateKey`; the handshake awaits it for each ClearToken1 it signs. `sign` returns the SPEC
 * 4.3 encoding of `signatureAlg` (ECDSA as IEEE P1363 r‖s, which is what WebCrypto returns; Ed25519 raw).
 */
export interface AsyncSigner {
  /** The algorithm of the key; must be the one the identity's leaf certificate key implies (SPEC 4.3). */
  readonly signatureAlg: SignatureAlg;
  /** Signs `data` (the whole message, not a digest). */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/**
 * [SPEC 4.4] A screened, imported public key (from `importPublicKey`), usable only with the provider that made it
 * (`provider`); it exposes no key bytes beyond the SPKI it came from.
 */
export interface PublicKeyHandle {
  readonly kind: 'public';
  readonly provider: string;
  /** The signature algorithm the key verifies (SPEC 4.3). */
  readonly signatureAlg: SignatureAlg;
  /** DER SubjectPublicKeyInfo this handle was imported from. */
  readonly spki: Uint8Array;
}

/**
 * [SPEC 4.4] The cryptographic primitives the protocol runs on. Two ship: `createNodeProvider()` (node:crypto, the
 * default) and `createNobleProvider()` (pure JS); deterministic operations give identical bytes in both.
 * Implement it to run hopsafe on another library (e.g. an HSM-backed signer); all operations are synchronous.
 * Errors are HopsafeErrors (ERR_INPUT for bad local arguments, ERR_MALFORMED for bad peer values).
 */
export interface CryptoProvider {
  /** Provider name (`node`, `noble`); recorded in key handles, which only work with the provider that made them. */
  readonly name: string;
  /** `length` bytes from a cryptographically secure generator. */
  randomBytes(length: number): Uint8Array;

  /** SHA-256 or SHA-384 digest of `data`. */
  hash(alg: HashAlg, data: Uint8Array): Uint8Array;
  /** Output length of `alg` in bytes (32 or 48): HashLen of SPEC 6. */
  hashLength(alg: HashAlg): number;
  /** RFC 2104 HMAC with hash `alg`; full-length tag. */
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
  aeadSealInto?(
    alg: AeadAlg,
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
    out: Uint8Array,
    offset: number,
  ): void;
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
  /** Whether this provider implements `alg` (suites using an unsupported AEAD are left out of offers, SPEC 4.1). */
  supportsAead(alg: AeadAlg): boolean;

  /** PKCS#8 DER private key; throws ERR_MALFORMED / ERR_UNSUPPORTED. */
  importPrivateKey(pkcs8: Uint8Array): PrivateKeyHandle;
  /** DER SubjectPublicKeyInfo; throws ERR_MALFORMED / ERR_UNSUPPORTED. */
  importPublicKey(spki: Uint8Array): PublicKeyHandle;
  /** Signs `data` with the algorithm of `key` (SPEC 4.3 encodings: ECDSA as IEEE P1363 r‖s, Ed25519, RSASSA-PSS). */
  sign(key: PrivateKeyHandle, data: Uint8Array): Uint8Array;
  /**
   * Whether `signature` over `data` verifies under `key`; false for any bad signature, never a throw on its content.
   */
  verify(key: PublicKeyHandle, data: Uint8Array, signature: Uint8Array): boolean;
}

/** Output length in bytes of each hash (HashLen of SPEC 6). */
export const HASH_LENGTH: Readonly<Record<HashAlg, number>> = { sha256: 32, sha384: 48 };
/** [SPEC 4.4] Key length in bytes of each AEAD (Nk of SPEC 6.3). */
export const AEAD_KEY_LENGTH: Readonly<Record<AeadAlg, number>> = {
  'aes-128-gcm': 16,
  'aes-256-gcm': 32,
  'chacha20-poly1305': 32,
};
/** [SPEC 4.4] AEAD nonce length in bytes (every suite). */
export const AEAD_NONCE_LENGTH = 12;
/** [SPEC 4.4] AEAD tag length in bytes (every suite), appended to the ciphertext. */
export const AEAD_TAG_LENGTH = 16;
