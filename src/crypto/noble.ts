/**
 * Second provider on @noble/curves, @noble/hashes and @noble/ciphers (pure JS, audited).
 * Byte-identical to the node provider on every deterministic operation. [SPEC 4]
 * Differences: no RSA (ERR_UNSUPPORTED), ECDSA signatures are RFC 6979 deterministic and low-S
 * where node's are randomized (both verify either).
 */
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { extract, expand } from '@noble/hashes/hkdf.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { brainpoolP256r1 } from '@noble/curves/misc.js';
import { HopsafeError } from '../errors/index.js';
import { equal } from '../bytes/index.js';
import {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  HASH_LENGTH,
  type AeadAlg,
  type CryptoProvider,
  type HashAlg,
  type KexGroup,
  type KeyPair,
  type PrivateKeyHandle,
  type PublicKeyHandle,
  type SignatureAlg,
} from './provider.js';
import { signatureAlgForKey } from './keys.js';
import { screenPkcs8, screenSpki } from './key-der.js';
import { mlKem768Decapsulate, mlKem768Encapsulate, mlKem768KeyPair } from './ml-kem.js';

const NAME = 'noble';
const HASH = { sha256, sha384 } as const;

type Weierstrass = typeof p256;
const EC_GROUP: Readonly<Record<Exclude<KexGroup, 'x25519'>, { curve: Weierstrass; fieldLen: number }>> = {
  p256: { curve: p256, fieldLen: 32 },
  p384: { curve: p384, fieldLen: 48 },
  brainpoolP256r1: { curve: brainpoolP256r1, fieldLen: 32 },
};
const ECDSA_CURVE: Partial<Record<SignatureAlg, Weierstrass>> = {
  'ecdsa-p256-sha256': p256,
  'ecdsa-p384-sha384': p384,
};

/**
 * Raw key bytes live here, not on the handle, so a handle that reaches a logger or
 * JSON.stringify shows nothing secret. Module-level: handles work across provider instances.
 */
const keyBytes = new WeakMap<PrivateKeyHandle | PublicKeyHandle, Uint8Array>();

function material(handle: PrivateKeyHandle | PublicKeyHandle, kind: 'private' | 'public'): Uint8Array {
  const k = handle.provider === NAME ? keyBytes.get(handle) : undefined;
  if (!k) throw new HopsafeError('ERR_INPUT', 'key handle belongs to another provider');
  if (handle.kind !== kind) throw new HopsafeError('ERR_INPUT', `a ${kind} key handle is required`);
  return k;
}

function checkAead(alg: AeadAlg, key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AEAD_KEY_LENGTH[alg]) throw new HopsafeError('ERR_INPUT', `${alg} key must be ${AEAD_KEY_LENGTH[alg]} bytes`);
  if (nonce.length !== AEAD_NONCE_LENGTH) throw new HopsafeError('ERR_INPUT', 'nonce must be 12 bytes');
}

function cipher(alg: AeadAlg, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) {
  return alg === 'chacha20-poly1305' ? chacha20poly1305(key, nonce, aad) : gcm(key, nonce, aad);
}

function privateKeyLength(group: KexGroup): number {
  return group === 'x25519' ? 32 : EC_GROUP[group].fieldLen;
}

/** [SPEC 4.2] Local private keys are raw scalars of exactly the field size. */
function checkKexPrivate(group: KexGroup, sk: Uint8Array): void {
  const n = privateKeyLength(group);
  if (sk.length !== n) throw new HopsafeError('ERR_INPUT', `${group} private key must be ${n} bytes`);
  if (group !== 'x25519' && !EC_GROUP[group].curve.utils.isValidSecretKey(sk))
    throw new HopsafeError('ERR_INPUT', `${group} private key is not in [1, n-1]`);
}

function handle<T extends PrivateKeyHandle | PublicKeyHandle>(h: T, key: Uint8Array): T {
  Object.freeze(h);
  keyBytes.set(h, key);
  return h;
}

/**
 * [SPEC 4.4] A pure-JavaScript {@link CryptoProvider} on the audited `@noble/*` libraries, byte-identical to the node
 * provider on every deterministic operation. It has no RSA (ERR_UNSUPPORTED for RSA keys) and signs ECDSA
 * deterministically (RFC 6979, low-S). Use it where node:crypto is unavailable or to cross-check the node provider.
 */
export function createNobleProvider(): CryptoProvider {
  const provider: CryptoProvider = {
    name: NAME,
    randomBytes(length) {
      if (!Number.isSafeInteger(length) || length < 0) throw new HopsafeError('ERR_INPUT', 'randomBytes length');
      return nobleRandomBytes(length);
    },
    hashLength: (alg: HashAlg) => HASH_LENGTH[alg],
    hash: (alg, data) => HASH[alg](data),
    hmac: (alg, key, data) => hmac(HASH[alg], key, data),
    hkdfExtract: (alg, salt, ikm) => extract(HASH[alg], ikm, salt.length === 0 ? undefined : salt),
    hkdfExpand(alg, prk, info, length) {
      const hl = HASH_LENGTH[alg];
      if (!Number.isSafeInteger(length) || length < 0 || length > 255 * hl) throw new HopsafeError('ERR_INPUT', 'HKDF length out of range');
      if (prk.length < hl) throw new HopsafeError('ERR_INPUT', 'HKDF PRK shorter than HashLen');
      return length === 0 ? new Uint8Array(0) : expand(HASH[alg], prk, info, length);
    },

    aeadSeal(alg, key, nonce, plaintext, aad) {
      checkAead(alg, key, nonce);
      return cipher(alg, key, nonce, aad).encrypt(plaintext);
    },
    aeadOpen(alg, key, nonce, sealed, aad) {
      checkAead(alg, key, nonce);
      if (sealed.length < AEAD_TAG_LENGTH) return null;
      try {
        // noble verifies the tag (constant time) before decrypting anything.
        return cipher(alg, key, nonce, aad).decrypt(sealed);
      } catch {
        return null;
      }
    },

    supportsGroup: () => true,
    supportsAead: () => true,
    // [SPEC 4.4] ML-KEM-768 from @noble/post-quantum, as in the node provider.
    kemKeyPair: (_alg, seed) => mlKem768KeyPair(seed),
    kemEncapsulate: (_alg, ek, message) => mlKem768Encapsulate(ek, message),
    kemDecapsulate: (_alg, dk, ct) => mlKem768Decapsulate(dk, ct),
    kexKeyPair(group, privateKey): KeyPair {
      if (privateKey) checkKexPrivate(group, privateKey);
      if (group === 'x25519') {
        const sk = privateKey ? Uint8Array.from(privateKey) : x25519.utils.randomSecretKey();
        return { privateKey: sk, publicKey: x25519.getPublicKey(sk) };
      }
      const { curve } = EC_GROUP[group];
      const sk = privateKey ? Uint8Array.from(privateKey) : curve.utils.randomSecretKey();
      return { privateKey: sk, publicKey: curve.getPublicKey(sk, false) };
    },
    kexDerive(group, privateKey, peerPublicKey) {
      checkKexPrivate(group, privateKey);
      let shared: Uint8Array;
      try {
        if (group === 'x25519') {
          if (peerPublicKey.length !== 32) throw new Error('X25519 public key must be 32 bytes');
          // noble refuses the low-order u values (whose output is all zero) before the ladder.
          shared = x25519.getSharedSecret(privateKey, peerPublicKey);
          // [SPEC 4.2] RFC 7748 §6.1: the all-zero X25519 output is refused (defence in depth). X25519 only:
          // an all-zero x-coordinate is a valid P-256/P-384 shared secret (Wycheproof "x**2 = 0").
          if (shared.every((b) => b === 0)) throw new Error('all-zero X25519 output');
        } else {
          const { curve, fieldLen } = EC_GROUP[group];
          // [SPEC 4.2] uncompressed SEC1 only; noble checks the point is on the curve.
          if (peerPublicKey.length !== 1 + 2 * fieldLen || peerPublicKey[0] !== 0x04) throw new Error('point format');
          shared = curve.getSharedSecret(privateKey, peerPublicKey, true).subarray(1);
        }
      } catch (e) {
        throw new HopsafeError('ERR_MALFORMED', 'invalid key-exchange value', { cause: e });
      }
      return shared;
    },

    importPrivateKey(pkcs8): PrivateKeyHandle {
      const k = screenPkcs8(pkcs8);
      if (k.type === 'rsa') throw new HopsafeError('ERR_UNSUPPORTED', 'the noble provider has no RSA');
      if (k.type === 'ed25519') {
        if (k.publicKey && !equal(k.publicKey, ed25519.getPublicKey(k.seed)))
          throw new HopsafeError('ERR_KEY_MISMATCH', 'PKCS#8 public key does not match the private key');
        return handle<PrivateKeyHandle>({ kind: 'private', provider: NAME, signatureAlg: signatureAlgForKey(k) }, k.seed);
      }
      const signatureAlg = signatureAlgForKey({ type: 'ec', namedCurve: k.curve });
      const curve = ECDSA_CURVE[signatureAlg];
      if (!curve) throw new HopsafeError('ERR_UNSUPPORTED', `EC curve ${k.curve}`);
      if (!curve.utils.isValidSecretKey(k.scalar)) throw new HopsafeError('ERR_MALFORMED', 'EC private key out of range');
      if (k.publicKey) {
        let same: boolean;
        try {
          same = curve.Point.fromBytes(k.publicKey).equals(curve.Point.fromBytes(curve.getPublicKey(k.scalar)));
        } catch (e) {
          throw new HopsafeError('ERR_MALFORMED', 'PKCS#8 public key is not a valid point', { cause: e });
        }
        if (!same) throw new HopsafeError('ERR_KEY_MISMATCH', 'PKCS#8 public key does not match the private key');
      }
      return handle<PrivateKeyHandle>({ kind: 'private', provider: NAME, signatureAlg }, k.scalar);
    },
    importPublicKey(spki): PublicKeyHandle {
      const k = screenSpki(spki);
      if (k.type === 'rsa') throw new HopsafeError('ERR_UNSUPPORTED', 'the noble provider has no RSA');
      const copy = Uint8Array.from(spki);
      if (k.type === 'ed25519')
        return handle<PublicKeyHandle>({ kind: 'public', provider: NAME, signatureAlg: signatureAlgForKey(k), spki: copy }, k.key);
      const signatureAlg = signatureAlgForKey({ type: 'ec', namedCurve: k.curve });
      const curve = ECDSA_CURVE[signatureAlg];
      if (!curve) throw new HopsafeError('ERR_UNSUPPORTED', `EC curve ${k.curve}`);
      let point: Uint8Array;
      try {
        point = curve.Point.fromBytes(k.point).toBytes(false); // on the curve; compressed accepted
      } catch (e) {
        throw new HopsafeError('ERR_MALFORMED', 'public key is not a valid point', { cause: e });
      }
      return handle<PublicKeyHandle>({ kind: 'public', provider: NAME, signatureAlg, spki: copy }, point);
    },
    sign(key, data) {
      const sk = material(key, 'private');
      if (key.signatureAlg === 'ed25519') return ed25519.sign(data, sk);
      const curve = ECDSA_CURVE[key.signatureAlg];
      if (!curve) throw new HopsafeError('ERR_UNSUPPORTED', `${key.signatureAlg} in the noble provider`);
      // [SPEC 4.3] IEEE P1363 r||s over the curve's hash of the message; RFC 6979 nonces; low-S.
      return curve.sign(data, sk, { prehash: true, lowS: true, format: 'compact' });
    },
    verify(key, data, signature) {
      const pk = material(key, 'public');
      try {
        // [SPEC 4.3] strict RFC 8032 verification (canonical encodings; not the ZIP-215 rules).
        if (key.signatureAlg === 'ed25519') return ed25519.verify(signature, data, pk, { zip215: false });
        const curve = ECDSA_CURVE[key.signatureAlg];
        if (!curve) return false;
        // [SPEC 4.3] high-S signatures (as node makes them) are valid.
        return curve.verify(signature, data, pk, { prehash: true, lowS: false, format: 'compact' });
      } catch {
        return false;
      }
    },
  };
  return provider;
}
