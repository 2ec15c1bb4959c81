/**
 * [SPEC 10.6] Keys the page's script cannot read: a non-extractable WebCrypto private key (ECDSA P-256/P-384 or
 * Ed25519) that signs the endpoint's ClearTokens through `identity.signer`, and a small IndexedDB store that keeps
 * such a key across page loads (IndexedDB stores the CryptoKey object itself; it stays non-extractable, and
 * `crypto.subtle.exportKey` on it rejects). Uses only `globalThis.crypto.subtle` and `globalThis.indexedDB`, so
 * the signer also runs in Node ≥ 20 (WebCrypto) — the store needs a browser.
 */
import { HopsafeError } from '../errors/index.js';
import type { AsyncSigner, SignatureAlg } from '../crypto/provider.js';
import type { PemOrDer } from '../pki/types.js';
import { privateKeyPkcs8 } from '../pki/private-key.js';
import { screenPkcs8 } from '../crypto/key-der.js';

/** The key algorithms WebCrypto signs with for hopsafe (SPEC 4.3). */
export type WebCryptoSignatureAlg = Extract<SignatureAlg, 'ecdsa-p256-sha256' | 'ecdsa-p384-sha384' | 'ed25519'>;

/** The part of a WebCrypto `CryptoKey` used here (a DOM or Node CryptoKey is one). */
export interface WebCryptoKey {
  readonly type: string;
  readonly extractable: boolean;
  readonly algorithm: { readonly name: string; readonly namedCurve?: string };
  readonly usages: readonly string[];
}

interface Subtle {
  sign(alg: object, key: WebCryptoKey, data: Uint8Array): Promise<ArrayBuffer>;
  importKey(format: 'pkcs8', data: Uint8Array, alg: object, extractable: boolean, usages: string[]): Promise<WebCryptoKey>;
  generateKey(alg: object, extractable: boolean, usages: string[]): Promise<{ privateKey: WebCryptoKey; publicKey: WebCryptoKey }>;
}

const ALGS: Readonly<Record<WebCryptoSignatureAlg, { key: object; sign: object }>> = {
  'ecdsa-p256-sha256': { key: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  'ecdsa-p384-sha384': { key: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } },
  ed25519: { key: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
};

function subtle(): Subtle {
  const s = (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle;
  if (!s)
    throw new HopsafeError(
      'ERR_UNSUPPORTED',
      'WebCrypto (crypto.subtle) is not available here (it needs a secure context: https or localhost)',
    );
  return s;
}

function algOf(key: WebCryptoKey): WebCryptoSignatureAlg {
  const a = key.algorithm;
  if (a.name === 'Ed25519') return 'ed25519';
  if (a.name === 'ECDSA' && a.namedCurve === 'P-256') return 'ecdsa-p256-sha256';
  if (a.name === 'ECDSA' && a.namedCurve === 'P-384') return 'ecdsa-p384-sha384';
  throw new HopsafeError('ERR_UNSUPPORTED', `WebCrypto key ${a.name} ${a.namedCurve ?? ''}: ECDSA P-256/P-384 or Ed25519 only`);
}

/**
 * [SPEC 10.6] An `identity.signer` for a WebCrypto private key (ECDSA P-256/P-384 signs IEEE P1363 r‖s, the SPEC 4.3
 * encoding; Ed25519 raw). The key should be non-extractable; `createEndpoint` checks it is the leaf certificate's.
 */
export function webCryptoSigner(key: WebCryptoKey): AsyncSigner {
  if (key?.type !== 'private' || !key.usages.includes('sign'))
    throw new HopsafeError('ERR_CONFIG', 'webCryptoSigner needs a private CryptoKey with the "sign" usage');
  const signatureAlg = algOf(key);
  const params = ALGS[signatureAlg].sign;
  return {
    signatureAlg,
    sign: async (data) => new Uint8Array(await subtle().sign(params, key, data)),
  };
}

/**
 * [SPEC 10.6] Imports a PKCS#8 private key (PEM or DER; ECDSA P-256/P-384 or Ed25519) into WebCrypto as a
 * non-extractable signing key. The bytes pass through script once; after this only the CryptoKey is needed (store
 * it with {@link webCryptoKeyStore} and drop the bytes). Prefer {@link generateNonExtractableKey}, where they never do.
 */
export async function importNonExtractableKey(pkcs8: PemOrDer): Promise<WebCryptoKey> {
  const der = privateKeyPkcs8(pkcs8);
  const k = screenPkcs8(der);
  const alg: WebCryptoSignatureAlg | undefined =
    k.type === 'ed25519'
      ? 'ed25519'
      : k.type === 'ec' && k.curve === 'prime256v1'
        ? 'ecdsa-p256-sha256'
        : k.type === 'ec' && k.curve === 'secp384r1'
          ? 'ecdsa-p384-sha384'
          : undefined;
  if (!alg) throw new HopsafeError('ERR_UNSUPPORTED', 'WebCrypto keys: ECDSA P-256/P-384 or Ed25519 only');
  try {
    return await subtle().importKey('pkcs8', der, ALGS[alg].key, false, ['sign']);
  } catch (e) {
    if (e instanceof HopsafeError) throw e;
    throw new HopsafeError('ERR_UNSUPPORTED', `WebCrypto refused the key: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/**
 * [SPEC 10.6] A new key pair made inside WebCrypto with a non-extractable private key: the private key never exists
 * as bytes in script. The public key is extractable (`crypto.subtle.exportKey('spki', publicKey)`) for the
 * certificate request.
 */
export async function generateNonExtractableKey(
  alg: WebCryptoSignatureAlg = 'ecdsa-p256-sha256',
): Promise<{ privateKey: WebCryptoKey; publicKey: WebCryptoKey }> {
  const params = ALGS[alg];
  if (!params) throw new HopsafeError('ERR_CONFIG', `generateNonExtractableKey: ${String(alg)}`);
  try {
    return await subtle().generateKey(params.key, false, ['sign', 'verify']);
  } catch (e) {
    if (e instanceof HopsafeError) throw e;
    throw new HopsafeError('ERR_UNSUPPORTED', `WebCrypto cannot generate ${alg}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/** [SPEC 10.6] CryptoKeys kept by name in IndexedDB (from {@link webCryptoKeyStore}). */
export interface WebCryptoKeyStore {
  /** The key stored under `name`, or undefined. */
  get(name: string): Promise<WebCryptoKey | undefined>;
  /** Stores `key` under `name` (replacing one stored before). */
  put(name: string, key: WebCryptoKey): Promise<void>;
  /** Removes the key stored under `name`. */
  delete(name: string): Promise<void>;
}

interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpen extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbDatabase {
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: 'readonly' | 'readwrite'): { objectStore(name: string): IdbStore };
  close(): void;
}
interface IdbStore {
  get(key: string): IdbRequest<unknown>;
  put(value: unknown, key: string): IdbRequest<unknown>;
  delete(key: string): IdbRequest<unknown>;
}

const STORE = 'keys';

function request<T>(r: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new HopsafeError('ERR_TRANSPORT', `IndexedDB: ${String((r.error as Error)?.message ?? r.error)}`));
  });
}

/**
 * [SPEC 10.6] A key store on the page origin's IndexedDB (database `dbName`, default `hopsafe-keys`). A stored
 * CryptoKey comes back as the same non-extractable key on the next page load; clearing the site's data removes it.
 */
export function webCryptoKeyStore(dbName = 'hopsafe-keys'): WebCryptoKeyStore {
  const idb = (globalThis as { indexedDB?: { open(name: string, version: number): IdbOpen } }).indexedDB;
  const open = async (): Promise<IdbDatabase> => {
    if (!idb) throw new HopsafeError('ERR_UNSUPPORTED', 'IndexedDB is not available here');
    const r = idb.open(dbName, 1);
    r.onupgradeneeded = () => {
      if (!r.result.objectStoreNames.contains(STORE)) r.result.createObjectStore(STORE);
    };
    return request(r);
  };
  const run = async <T>(mode: 'readonly' | 'readwrite', op: (s: IdbStore) => IdbRequest<T>): Promise<T> => {
    const db = await open();
    try {
      return await request(op(db.transaction(STORE, mode).objectStore(STORE)));
    } finally {
      db.close();
    }
  };
  return {
    get: async (name) => {
      const v = await run('readonly', (s) => s.get(name));
      return v === undefined ? undefined : (v as WebCryptoKey);
    },
    put: async (name, key) => {
      await run('readwrite', (s) => s.put(key, name));
    },
    delete: async (name) => {
      await run('readwrite', (s) => s.delete(name));
    },
  };
}
