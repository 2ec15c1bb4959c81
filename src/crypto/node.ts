/** Default provider on node:crypto (OpenSSL). [SPEC 4] */
import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomBytes as nodeRandomBytes,
  randomFillSync,
  sign as nodeSign,
  verify as nodeVerify,
  constants,
  getCurves,
  ECDH,
  type KeyObject,
} from 'node:crypto';
import { HopsafeError } from '../errors/index.js';
import { asBytes, concat } from '../bytes/index.js';
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
import { signatureAlgForKey, type KeyDescription } from './keys.js';
import { screenPkcs8, screenSpki, type ParsedPublicKey } from './key-der.js';
import { Lru } from '../util/lru.js';
import { mlKem768Decapsulate, mlKem768Encapsulate, mlKem768KeyPair } from './ml-kem.js';
import { nativeAead, nativeAeadStatus, type NativeAead } from './native-aead.js';

const ECDH_CURVE: Record<Exclude<KexGroup, 'x25519'>, string> = {
  p256: 'prime256v1',
  p384: 'secp384r1',
  brainpoolP256r1: 'brainpoolP256r1',
};

/**
 * X25519 KeyObjects of the raw private keys this provider handed out, so a derive does not rebuild one
 * from DER (≈10 % of a handshake). Keyed by the array; used only while its bytes are unchanged (a wiped
 * key falls back to a rebuild).
 */
const x25519Objects = new WeakMap<Uint8Array, { readonly raw: Uint8Array; readonly key: KeyObject }>();

function x25519Private(privateKey: Uint8Array): KeyObject {
  const hit = x25519Objects.get(privateKey);
  // One-shot: the handshake derive is the hot use; a retained ephemeral (key updates) is rebuilt when needed.
  x25519Objects.delete(privateKey);
  if (hit && equalBytes(hit.raw, privateKey)) return hit.key;
  return x25519FromRaw(privateKey).key;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

/** RFC 8410 PKCS#8 prefix of a raw X25519 private key. */
const X25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

/**
 * OpenSSL 3's DER decoders are slow (createPrivateKey from PKCS#8 ≈ 300 µs, createPublicKey from SPKI ≈ 60–90 µs on
 * this machine) while JWK import sets the key directly (≈ 5 µs for X25519/Ed25519 public keys, ≈ 45 µs for P-256).
 * Keys are screened first either way (SPEC 4.4); JWK import still refuses points off the curve.
 */
const JWK_CURVE: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384' };
const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
function fromB64u(s: string | undefined): Uint8Array {
  if (s === undefined) throw new HopsafeError('ERR_STATE', 'key export without a value');
  return Uint8Array.from(Buffer.from(s, 'base64url'));
}

/**
 * [SPEC 4.4] CSPRNG output for the small draws of a handshake (session id, randoms, ephemeral keys: five per handshake). One
 * randomFillSync costs ≈ 2.3 µs whether it fills 32 bytes or 4 KiB, so small draws are served from a 4 KiB block
 * of OpenSSL's generator: every byte is handed out once and zeroed in the block as it is, and the block is refilled
 * when it runs out. Larger draws go to the generator directly.
 */
const POOL_SIZE = 4096;
const POOL_MAX_DRAW = 256;
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;
function csprng(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new HopsafeError('ERR_INPUT', 'random length must be a non-negative integer');
  if (n > POOL_MAX_DRAW) return asBytes(nodeRandomBytes(n));
  if (poolOffset + n > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.slice(poolOffset, poolOffset + n);
  pool.fill(0, poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}

/** The X25519 base point u = 9 (RFC 7748 §4.1), as a JWK `x`: see {@link x25519FromRaw}. */
const X25519_BASE_X = b64u(Uint8Array.of(9, ...new Uint8Array(31)));

/**
 * An X25519 private KeyObject and its public key from the raw private key. A private JWK import is the fast way in:
 * ≈ 45 µs with the public key computed, against ≈ 400 µs from PKCS#8, and ≈ 160 µs for generateKeyPairSync plus
 * the DER exports of both halves (a generated key may not be exported as a JWK: on Node 20 that can deadlock against
 * the garbage collector finalising its KeyGenJob, both taking the key's mutex; an imported key has no KeyGenJob).
 * Node takes an OKP private key from `d` alone and only type-checks the `x` it requires, so the public key is
 * exported from the imported key, never taken from the JWK; were a Node version to use `x`, the export would return
 * the placeholder, and PKCS#8 is used instead.
 */
function x25519FromRaw(raw: Uint8Array): { key: KeyObject; publicKey: Uint8Array } {
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(raw), x: X25519_BASE_X }, format: 'jwk' });
  const x = key.export({ format: 'jwk' }).x;
  if (x !== undefined && x !== X25519_BASE_X) return { key, publicKey: fromB64u(x) };
  const der = createPrivateKey({ key: Buffer.from(concat(X25519_PKCS8_PREFIX, raw)), format: 'der', type: 'pkcs8' });
  return { key: der, publicKey: fromB64u(der.export({ format: 'jwk' }).x) };
}

/** An uncompressed EC point (04 ‖ x ‖ y), converting a compressed one. */
function uncompressedPoint(curve: string, point: Uint8Array): Uint8Array {
  return point[0] === 0x04 ? point : (ECDH.convertKey(point, curve, undefined, undefined, 'uncompressed') as Buffer);
}

function ecJwk(crv: string, point: Uint8Array, d?: Uint8Array): { kty: 'EC'; crv: string; x: string; y: string; d?: string } {
  const n = (point.length - 1) / 2;
  const jwk = { kty: 'EC' as const, crv, x: b64u(point.subarray(1, 1 + n)), y: b64u(point.subarray(1 + n)) };
  return d ? { ...jwk, d: b64u(d) } : jwk;
}

/** A screened public key into node:crypto: JWK where it is equivalent and faster, DER otherwise. */
function loadPublic(spki: Uint8Array, parsed: Exclude<ParsedPublicKey, { type: 'other' }>): KeyObject {
  if (parsed.type === 'ed25519') return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(parsed.key) }, format: 'jwk' });
  const crv = parsed.type === 'ec' ? JWK_CURVE[parsed.curve] : undefined;
  if (parsed.type === 'ec' && crv)
    return createPublicKey({ key: ecJwk(crv, uncompressedPoint(parsed.curve, parsed.point)), format: 'jwk' });
  return createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
}

interface NodePrivate extends PrivateKeyHandle {
  readonly key: KeyObject;
}
interface NodePublic extends PublicKeyHandle {
  readonly key: KeyObject;
}

/**
 * A node public key handle. Its SPKI is kept as a Latin-1 string (one object, ≈ 110 bytes for a P-256 key) instead of
 * a Uint8Array with its own ArrayBuffer (≈ 275 bytes): an endpoint remembers the key of each peer that authenticated
 * (up to 100 000, SPEC 5.7). `spki` is a fresh copy on every read, so no caller can change the handle's.
 */
class NodePublicKey implements NodePublic {
  private readonly der: string;
  constructor(
    readonly provider: string,
    readonly signatureAlg: SignatureAlg,
    spki: Uint8Array,
    readonly key: KeyObject,
  ) {
    this.der = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('latin1');
  }
  get kind(): 'public' {
    return 'public';
  }
  get spki(): Uint8Array {
    return Uint8Array.from(Buffer.from(this.der, 'latin1'));
  }
}

const curves = new Set(getCurves());

function describe(key: KeyObject): KeyDescription {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec') return { type: 'ec', namedCurve: details.namedCurve ?? '' };
  if (type === 'ed25519') return { type: 'ed25519' };
  if (type === 'rsa' || type === 'rsa-pss') return { type: 'rsa', modulusLength: details.modulusLength ?? 0 };
  return { type: 'other', name: String(type) };
}

/** A screened SubjectPublicKeyInfo loaded into node:crypto. KeyObjects are immutable, so one may be shared. */
export interface SpkiKey {
  readonly parsed: Exclude<ParsedPublicKey, { type: 'other' }>;
  readonly key: KeyObject;
  readonly description: KeyDescription;
}

/**
 * Imported public keys by their exact DER SubjectPublicKeyInfo (as a Latin-1 string: no hash, no
 * collisions). OpenSSL 3's createPublicKey was ~18 % of a cold-cache handshake; certificate parsing, chain
 * verification and `importPublicKey` all load the same few issuer and peer keys again and again.
 */
const spkiKeys = new Lru<string, SpkiKey>(1024);

/**
 * [SPEC 4.4] `spki` screened (`screenSpki`) and loaded into node:crypto, from the cache when these exact
 * bytes were loaded before. `check` runs on the screened key before it is loaded (and on every cache hit).
 * Throws the screening's ERR_MALFORMED / ERR_UNSUPPORTED, `check`'s errors, and ERR_MALFORMED when OpenSSL
 * refuses the key; failures are not cached.
 */
export function spkiKeyObject(spki: Uint8Array, check?: (parsed: SpkiKey['parsed']) => void): SpkiKey {
  const id = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength).toString('latin1');
  const hit = spkiKeys.get(id);
  if (hit) {
    check?.(hit.parsed);
    return hit;
  }
  const parsed = screenSpki(spki);
  check?.(parsed);
  let key: KeyObject;
  try {
    key = loadPublic(spki, parsed);
  } catch (e) {
    throw new HopsafeError('ERR_MALFORMED', 'public key is not a valid SubjectPublicKeyInfo', { cause: e });
  }
  const description = describeScreened(parsed, key);
  descriptions.set(key, description);
  const entry: SpkiKey = { parsed, key, description };
  spkiKeys.set(id, entry);
  return entry;
}

/**
 * What a loaded public key is, from its screening where that says enough: asking the KeyObject
 * (asymmetricKeyDetails) caches a details object and a curve-name string on it, ≈ 130 bytes for every peer key an
 * endpoint keeps. One shared description per curve.
 */
const ED25519: KeyDescription = Object.freeze({ type: 'ed25519' });
const EC_BY_CURVE = new Map<string, KeyDescription>();
function describeScreened(parsed: SpkiKey['parsed'], key: KeyObject): KeyDescription {
  if (parsed.type === 'ed25519') return ED25519;
  if (parsed.type !== 'ec') return describe(key);
  let d = EC_BY_CURVE.get(parsed.curve);
  if (!d) EC_BY_CURVE.set(parsed.curve, (d = Object.freeze({ type: 'ec', namedCurve: parsed.curve })));
  return d;
}
const descriptions = new WeakMap<KeyObject, KeyDescription>();

/** The description of a public KeyObject: the one recorded when `spkiKeyObject` loaded it, else asked of the key. */
export function keyDescription(key: KeyObject): KeyDescription {
  return descriptions.get(key) ?? describe(key);
}

/** [SPEC 4.3] An EC key's curve must have a signature algorithm: ERR_UNSUPPORTED before any range check, as in noble. */
function curveHasSignatureAlg(parsed: SpkiKey['parsed']): void {
  if (parsed.type === 'ec') signatureAlgForKey({ type: 'ec', namedCurve: parsed.curve });
}

function signOptions(alg: SignatureAlg): { hash: string | null; padding?: number; saltLength?: number; dsa?: 'ieee-p1363' } {
  switch (alg) {
    case 'ecdsa-p256-sha256':
      return { hash: 'sha256', dsa: 'ieee-p1363' };
    case 'ecdsa-p384-sha384':
      return { hash: 'sha384', dsa: 'ieee-p1363' };
    case 'ed25519':
      return { hash: null };
    case 'rsa-pss-sha256':
      return { hash: 'sha256', padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    case 'rsa-pkcs1-sha256':
      return { hash: 'sha256', padding: constants.RSA_PKCS1_PADDING };
  }
}

/** [SPEC 4.2] EC private keys are big-endian scalars of exactly the field size, in [1, n-1]. */
function setEcPrivateKey(ecdh: ECDH, group: KexGroup, fieldLen: number, privateKey: Uint8Array): void {
  if (privateKey.length !== fieldLen) throw new HopsafeError('ERR_INPUT', `${group} private key must be ${fieldLen} bytes`);
  try {
    ecdh.setPrivateKey(privateKey);
  } catch (e) {
    throw new HopsafeError('ERR_INPUT', `${group} private key is not in [1, n-1]`, { cause: e });
  }
}

/**
 * [SPEC 4.4] OpenSSL accepts EC private scalars of 0 or ≥ n and ignores a mismatching embedded
 * public key; both are refused here, as the noble provider does. Returns the public point (uncompressed).
 */
function checkEcPrivate(curve: string, scalar: Uint8Array, embeddedPublic: Uint8Array | undefined): Uint8Array {
  const ecdh = createECDH(curve);
  try {
    ecdh.setPrivateKey(scalar);
  } catch (e) {
    throw new HopsafeError('ERR_MALFORMED', 'EC private key out of range', { cause: e });
  }
  const own = ecdh.getPublicKey();
  if (!embeddedPublic) return own;
  let uncompressed: Buffer;
  try {
    uncompressed = ECDH.convertKey(embeddedPublic, curve, undefined, undefined, 'uncompressed') as Buffer;
  } catch (e) {
    throw new HopsafeError('ERR_MALFORMED', 'PKCS#8 public key is not a valid point', { cause: e });
  }
  if (!uncompressed.equals(own)) throw new HopsafeError('ERR_KEY_MISMATCH', 'PKCS#8 public key does not match the private key');
  return own;
}

/** One options object for every AEAD call (node reads it, never keeps it). */
const AEAD_OPTIONS = Object.freeze({ authTagLength: AEAD_TAG_LENGTH });

function checkAead(alg: AeadAlg, key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AEAD_KEY_LENGTH[alg]) throw new HopsafeError('ERR_INPUT', `${alg} key must be ${AEAD_KEY_LENGTH[alg]} bytes`);
  if (nonce.length !== AEAD_NONCE_LENGTH) throw new HopsafeError('ERR_INPUT', 'nonce must be 12 bytes');
}

/**
 * [SPEC 7.1] AEAD seal written into `out` at `off`: ciphertext, then the 16-byte tag. GCM and ChaCha20-Poly1305 are
 * stream modes: `update` returns the whole ciphertext and `final` nothing (node allows no cipher reuse, so the
 * per-record cost is one createCipheriv; every copy but the one into `out` is avoided).
 */
function nodeSealInto(
  alg: AeadAlg,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  out: Uint8Array,
  off: number,
): void {
  checkAead(alg, key, nonce);
  if (out.length - off < plaintext.length + AEAD_TAG_LENGTH) throw new HopsafeError('ERR_INPUT', 'AEAD output too short');
  const c = createCipheriv(alg as 'aes-128-gcm', key, nonce, AEAD_OPTIONS);
  c.setAAD(aad); // (plaintextLength is needed for CCM only)
  const body = c.update(plaintext);
  out.set(body, off);
  const fin = c.final();
  if (fin.length > 0) out.set(fin, off + body.length);
  out.set(c.getAuthTag(), off + plaintext.length);
}

function nodeOpen(alg: AeadAlg, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  checkAead(alg, key, nonce);
  if (sealed.length < AEAD_TAG_LENGTH) return null;
  const ctLen = sealed.length - AEAD_TAG_LENGTH;
  try {
    const d = createDecipheriv(alg as 'aes-128-gcm', key, nonce, AEAD_OPTIONS);
    d.setAuthTag(sealed.subarray(ctLen));
    d.setAAD(aad); // (plaintextLength is needed for CCM only)
    const body = d.update(sealed.subarray(0, ctLen));
    const fin = d.final();
    return fin.length === 0 ? asBytes(body) : concat(body, fin);
  } catch {
    return null;
  }
}

const nodeHmac = (alg: HashAlg, key: Uint8Array, data: Uint8Array): Uint8Array => asBytes(createHmac(alg, key).update(data).digest());

type AeadCalls = Pick<CryptoProvider, 'aeadSealInto' | 'aeadOpen' | 'hmac'> & {
  aeadSealInto: NonNullable<CryptoProvider['aeadSealInto']>;
  /** HMAC under a one-time key (HKDF): nothing of the key is kept. */
  hmacOnce: (alg: HashAlg, key: Uint8Array, data: Uint8Array) => Uint8Array;
};

/**
 * The same calls on the native accelerator, arguments checked here as on node:crypto (same errors). A seal or MAC the
 * binding itself refuses (it never should, after these checks) falls back to node:crypto rather than fail; a refused
 * open is the same null as a tag that does not verify.
 */
function nativeCalls(n: NativeAead): AeadCalls {
  return {
    aeadSealInto(alg, key, nonce, plaintext, aad, out, off) {
      checkAead(alg, key, nonce);
      if (!Number.isSafeInteger(off) || off < 0 || out.length - off < plaintext.length + AEAD_TAG_LENGTH)
        throw new HopsafeError('ERR_INPUT', 'AEAD output too short');
      if (!n.seal(alg, key, nonce, plaintext, aad, out, off)) nodeSealInto(alg, key, nonce, plaintext, aad, out, off);
    },
    aeadOpen(alg, key, nonce, sealed, aad) {
      checkAead(alg, key, nonce);
      if (sealed.length < AEAD_TAG_LENGTH) return null;
      // Plaintext and ciphertext never share memory here (the binding refuses overlap; the output is new).
      return n.open(alg, key, nonce, sealed, aad);
    },
    // Keys the binding does not take (empty, or longer than 64 bytes) go to node:crypto.
    hmac: (alg, key, data) => n.hmac(alg, key, data) ?? nodeHmac(alg, key, data),
    hmacOnce: (alg, key, data) => n.hmacOnce(alg, key, data) ?? nodeHmac(alg, key, data),
  };
}

const NODE_CALLS: AeadCalls = { aeadSealInto: nodeSealInto, aeadOpen: nodeOpen, hmac: nodeHmac, hmacOnce: nodeHmac };

/** Options of {@link createNodeProvider}. */
export interface NodeProviderOptions {
  /**
   * [SPEC 4.4] Run AEAD and HMAC on the optional `@hopsafe/native-aead` (same bytes, a quarter to a half of the CPU per
   * record, BENCHMARKS.md §2). Default: when it is installed and passes its self-test, unless the environment sets
   * `HOPSAFE_NO_NATIVE=1`. `true` requires it (ERR_UNSUPPORTED, with the reason, where it cannot be used); `false`
   * never uses it.
   */
  readonly native?: boolean;
}

/**
 * [SPEC 4.4] The default {@link CryptoProvider}, on node:crypto (OpenSSL); ML-KEM-768 comes from @noble/post-quantum
 * (Node 20's OpenSSL has none). brainpoolP256r1 is supported only where the OpenSSL build offers the curve
 * (`supportsGroup` tells). One instance can serve any number of endpoints.
 */
export function createNodeProvider(opts: NodeProviderOptions = {}): CryptoProvider {
  const name = 'node';
  let calls = NODE_CALLS;
  if (opts.native !== false) {
    const n = nativeAead();
    if (n) calls = nativeCalls(n);
    else if (opts.native === true)
      throw new HopsafeError('ERR_UNSUPPORTED', `native AEAD unavailable: ${nativeAeadStatus().reason ?? 'unknown'}`);
  }
  const provider: CryptoProvider = {
    name,
    randomBytes: csprng,
    hashLength: (alg) => HASH_LENGTH[alg],
    hash: (alg, data) => asBytes(createHash(alg).update(data).digest()),
    hmac: calls.hmac,
    hkdfExtract(alg, salt, ikm) {
      const s = salt.length === 0 ? new Uint8Array(HASH_LENGTH[alg]) : salt;
      return calls.hmacOnce(alg, s, ikm);
    },
    hkdfExpand(alg, prk, info, length) {
      const hl = HASH_LENGTH[alg];
      if (!Number.isSafeInteger(length) || length > 255 * hl || length < 0) throw new HopsafeError('ERR_INPUT', 'HKDF length out of range');
      // RFC 5869 §2.3: PRK is at least HashLen octets (noble enforces the same).
      if (prk.length < hl) throw new HopsafeError('ERR_INPUT', 'HKDF PRK shorter than HashLen');
      // T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i), in one buffer reused across blocks; one block for every handshake key.
      const m = new Uint8Array(hl + info.length + 1);
      m.set(info, hl);
      const out = new Uint8Array(length);
      let off = 0;
      let t: Uint8Array | undefined;
      for (let i = 1; off < length; i++) {
        const start = t ? 0 : hl;
        if (t) m.set(t, 0);
        m[hl + info.length] = i;
        const next = calls.hmacOnce(alg, prk, m.subarray(start));
        if (t) t.fill(0);
        t = next;
        out.set(length - off >= hl ? t : t.subarray(0, length - off), off);
        off += hl;
      }
      t?.fill(0);
      m.fill(0);
      return out;
    },
    aeadSeal(alg, key, nonce, plaintext, aad) {
      const out = new Uint8Array(plaintext.length + AEAD_TAG_LENGTH);
      calls.aeadSealInto(alg, key, nonce, plaintext, aad, out, 0);
      return out;
    },
    aeadSealInto: calls.aeadSealInto,
    aeadOpen: calls.aeadOpen,
    supportsGroup: (g) => g === 'x25519' || g === 'x25519mlkem768' || curves.has(ECDH_CURVE[g]),
    supportsAead: () => true,
    // [SPEC 4.4] Node 20's OpenSSL 3.0 has no ML-KEM: @noble/post-quantum, the same code as the noble provider.
    kemKeyPair: (_alg, seed) => mlKem768KeyPair(seed),
    kemEncapsulate: (_alg, ek, message) => mlKem768Encapsulate(ek, message),
    kemDecapsulate: (_alg, dk, ct) => mlKem768Decapsulate(dk, ct),
    kexKeyPair(group, privateKey): KeyPair {
      if (group === 'x25519') {
        if (privateKey && privateKey.length !== 32) throw new HopsafeError('ERR_INPUT', 'X25519 private key must be 32 bytes');
        // [SPEC 4.4] RFC 7748 §5: any 32 bytes are an X25519 private key (clamped by the scalar multiplication).
        const raw = privateKey ? Uint8Array.from(privateKey) : csprng(32);
        const { key, publicKey } = x25519FromRaw(raw);
        x25519Objects.set(raw, { raw: Uint8Array.from(raw), key });
        return { privateKey: raw, publicKey };
      }
      if (!provider.supportsGroup(group)) throw new HopsafeError('ERR_UNSUPPORTED', `group ${group}`);
      const ecdh = createECDH(ECDH_CURVE[group]);
      const fieldLen = group === 'p384' ? 48 : 32;
      if (privateKey) setEcPrivateKey(ecdh, group, fieldLen, privateKey);
      else ecdh.generateKeys();
      const sk = ecdh.getPrivateKey();
      const padded = new Uint8Array(fieldLen);
      padded.set(sk, fieldLen - sk.length);
      return { privateKey: padded, publicKey: asBytes(ecdh.getPublicKey(null, 'uncompressed')) };
    },
    kexDerive(group, privateKey, peerPublicKey) {
      // [SPEC 4.2] a bad local private key is the caller's error (ERR_INPUT), not the peer's.
      if (group === 'x25519' && privateKey.length !== 32) throw new HopsafeError('ERR_INPUT', 'X25519 private key must be 32 bytes');
      if (!provider.supportsGroup(group)) throw new HopsafeError('ERR_UNSUPPORTED', `group ${group}`);
      let ecdh: ECDH | undefined;
      if (group !== 'x25519') {
        ecdh = createECDH(ECDH_CURVE[group]);
        setEcPrivateKey(ecdh, group, group === 'p384' ? 48 : 32, privateKey);
      }
      try {
        if (!ecdh) {
          // x25519
          if (peerPublicKey.length !== 32) throw new Error('length');
          const sk = x25519Private(privateKey);
          const pk = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(peerPublicKey) }, format: 'jwk' });
          const shared = asBytes(diffieHellman({ privateKey: sk, publicKey: pk }));
          // RFC 7748 §6.1: reject the all-zero output of low-order points.
          if (shared.every((b) => b === 0)) throw new Error('low order');
          return shared;
        }
        const fieldLen = group === 'p384' ? 48 : 32;
        if (peerPublicKey.length !== 1 + 2 * fieldLen || peerPublicKey[0] !== 0x04) throw new Error('point format');
        return asBytes(ecdh.computeSecret(peerPublicKey));
      } catch (e) {
        throw new HopsafeError('ERR_MALFORMED', 'invalid key-exchange value', { cause: e });
      }
    },
    importPrivateKey(pkcs8): PrivateKeyHandle {
      // [SPEC 4.4] screened first: strict DER, and nothing that makes OpenSSL/Node misbehave.
      const parsed = screenPkcs8(pkcs8);
      let publicPoint: Uint8Array | undefined;
      if (parsed.type === 'ec') {
        signatureAlgForKey({ type: 'ec', namedCurve: parsed.curve }); // ERR_UNSUPPORTED before range checks, as in noble
        publicPoint = checkEcPrivate(parsed.curve, parsed.scalar, parsed.publicKey);
      }
      let key: KeyObject;
      try {
        const crv = parsed.type === 'ec' ? JWK_CURVE[parsed.curve] : undefined;
        key =
          parsed.type === 'ec' && crv && publicPoint
            ? createPrivateKey({ key: ecJwk(crv, publicPoint, parsed.scalar), format: 'jwk' })
            : createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
      } catch (e) {
        throw new HopsafeError('ERR_MALFORMED', 'private key is not valid PKCS#8', { cause: e });
      }
      const h: NodePrivate = { kind: 'private', provider: name, signatureAlg: signatureAlgForKey(describe(key)), key };
      return h;
    },
    importPublicKey(spki): PublicKeyHandle {
      // [SPEC 4.4] screened first (Node 20 aborts the process on an EC point at infinity); loaded once per distinct SPKI.
      const { key, description } = spkiKeyObject(spki, curveHasSignatureAlg);
      return new NodePublicKey(name, signatureAlgForKey(description), spki, key);
    },
    sign(handle, data) {
      if (handle.provider !== name) throw new HopsafeError('ERR_INPUT', 'key handle belongs to another provider');
      const o = signOptions(handle.signatureAlg);
      const key = (handle as NodePrivate).key;
      const sig = nodeSign(o.hash, data, {
        key,
        ...(o.dsa ? { dsaEncoding: o.dsa } : {}),
        ...(o.padding !== undefined ? { padding: o.padding } : {}),
        ...(o.saltLength !== undefined ? { saltLength: o.saltLength } : {}),
      });
      return asBytes(sig);
    },
    verify(handle, data, signature) {
      if (handle.provider !== name) throw new HopsafeError('ERR_INPUT', 'key handle belongs to another provider');
      const o = signOptions(handle.signatureAlg);
      try {
        return nodeVerify(
          o.hash,
          data,
          {
            key: (handle as NodePublic).key,
            ...(o.dsa ? { dsaEncoding: o.dsa } : {}),
            ...(o.padding !== undefined ? { padding: o.padding } : {}),
            ...(o.saltLength !== undefined ? { saltLength: o.saltLength } : {}),
          },
          signature,
        );
      } catch {
        return false;
      }
    },
  };
  return provider;
}
