/**
 * The browser bundle's stand-in for the few `node:crypto` functions src/pki and src/bytes use (certificate hashes and
 * signatures, constant-time compare, random bytes), on @noble — the same libraries as the noble provider. The bundler
 * maps `node:crypto` here (scripts/build-browser.mjs); Node never loads this module. RSA is not available here
 * (as in the noble provider): an RSA key is "not supported" and an RSA signature does not verify. SEC1 private keys
 * must be given as PKCS#8 in the browser.
 */
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { screenPkcs8, screenSpki } from '../../crypto/key-der.js';

type HashName = 'sha256' | 'sha384' | 'sha512';
const HASHES: Readonly<Record<HashName, (d: Uint8Array) => Uint8Array>> = { sha256, sha384, sha512 };
const CURVES: Readonly<Record<string, typeof p256>> = { prime256v1: p256, secp384r1: p384 };

function hashFn(name: string): (d: Uint8Array) => Uint8Array {
  const h = HASHES[name as HashName];
  if (!h) throw new Error(`hash ${name} is not available in the browser bundle`);
  return h;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** `createHash(alg).update(data).digest('hex' | undefined)`. */
export function createHash(alg: string): { update(d: Uint8Array): unknown; digest(enc?: 'hex'): unknown } {
  const h = hashFn(alg);
  const parts: Uint8Array[] = [];
  const self = {
    update(d: Uint8Array) {
      parts.push(d);
      return self;
    },
    digest(enc?: 'hex') {
      let n = 0;
      for (const p of parts) n += p.length;
      const all = new Uint8Array(n);
      let o = 0;
      for (const p of parts) {
        all.set(p, o);
        o += p.length;
      }
      const out = h(all);
      return enc === 'hex' ? hex(out) : out;
    },
  };
  return self;
}

/** Constant-time comparison of two arrays of the same length. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) throw new RangeError('Input buffers must have the same byte length');
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

export function randomBytes(n: number): Uint8Array {
  return nobleRandomBytes(n);
}

export const constants = { RSA_PKCS1_PADDING: 1, RSA_PKCS1_PSS_PADDING: 6 } as const;

/** What src/pki reads of a node:crypto KeyObject (type, curve), plus the raw key for sign/verify. */
export class BrowserKeyObject {
  readonly asymmetricKeyDetails: { readonly namedCurve?: string };
  constructor(
    readonly type: 'public' | 'private',
    readonly asymmetricKeyType: 'ed25519' | 'ec',
    namedCurve: string | undefined,
    /** Ed25519: 32-byte public key or seed; EC: SEC1 point or scalar. Module-internal. */
    readonly raw: Uint8Array,
  ) {
    this.asymmetricKeyDetails = namedCurve ? { namedCurve } : {};
  }
  toJSON(): object {
    return { type: this.type, asymmetricKeyType: this.asymmetricKeyType };
  }
}

/** A public key from a screened SubjectPublicKeyInfo (throws for key types the browser bundle cannot use). */
export function publicKeyFromSpki(spki: Uint8Array): BrowserKeyObject {
  const k = screenSpki(spki);
  if (k.type === 'ed25519') return new BrowserKeyObject('public', 'ed25519', undefined, k.key);
  if (k.type === 'ec') {
    const curve = CURVES[k.curve];
    if (!curve) throw new Error(`EC curve ${k.curve} is not supported in the browser bundle`);
    curve.Point.fromBytes(k.point); // on the curve
    return new BrowserKeyObject('public', 'ec', k.curve, k.point);
  }
  throw new Error('RSA keys are not supported in the browser bundle');
}

/** `createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })`; SEC1 is refused (give PKCS#8). */
export function createPrivateKey(o: { key: Uint8Array; format: 'der'; type: 'pkcs8' | 'sec1' }): BrowserKeyObject {
  if (o.type !== 'pkcs8') throw new Error('only PKCS#8 private keys are supported in the browser bundle');
  const k = screenPkcs8(o.key);
  if (k.type === 'ed25519') return new BrowserKeyObject('private', 'ed25519', undefined, k.seed);
  if (k.type === 'ec' && CURVES[k.curve]) return new BrowserKeyObject('private', 'ec', k.curve, k.scalar);
  throw new Error('only Ed25519, P-256 and P-384 private keys are supported in the browser bundle');
}

type KeyArg = BrowserKeyObject | { key: BrowserKeyObject; dsaEncoding?: 'der' | 'ieee-p1363' };

function unwrap(k: KeyArg): { key: BrowserKeyObject; format: 'der' | 'compact' } {
  if (k instanceof BrowserKeyObject) return { key: k, format: 'der' };
  return { key: k.key, format: k.dsaEncoding === 'ieee-p1363' ? 'compact' : 'der' };
}

/** `sign(hash | null, data, key)`: Ed25519 (hash null) and ECDSA (DER or P1363). */
export function sign(hash: string | null, data: Uint8Array, k: KeyArg): Uint8Array {
  const { key, format } = unwrap(k);
  if (key.type !== 'private') throw new Error('sign needs a private key');
  if (key.asymmetricKeyType === 'ed25519') return ed25519.sign(data, key.raw);
  const curve = CURVES[key.asymmetricKeyDetails.namedCurve ?? ''];
  if (!curve || hash === null) throw new Error('unsupported key for sign');
  return curve.sign(hashFn(hash)(data), key.raw, { prehash: false, lowS: true, format });
}

/** `verify(hash | null, data, key, signature)`; false on any failure. */
export function verify(hash: string | null, data: Uint8Array, k: KeyArg, signature: Uint8Array): boolean {
  const { key, format } = unwrap(k);
  try {
    if (key.asymmetricKeyType === 'ed25519') return hash === null && ed25519.verify(signature, data, key.raw, { zip215: false });
    const curve = CURVES[key.asymmetricKeyDetails.namedCurve ?? ''];
    if (!curve || hash === null) return false;
    return curve.verify(signature, hashFn(hash)(data), key.raw, { prehash: false, lowS: false, format });
  } catch {
    return false;
  }
}
