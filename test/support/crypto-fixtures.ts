/** Shared fixtures for the crypto tests: both providers, DER wrappers, node-made keys. */
import { generateKeyPairSync } from 'node:crypto';
import assert from 'node:assert/strict';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { concat, fromHex } from '../../src/bytes/index.js';
import { isHopsafeError, type ErrorCode } from '../../src/errors/index.js';

export const node = createNodeProvider();
/** The node provider on node:crypto alone (never the optional native AEAD accelerator, SPEC 4.4). */
export const nodeCrypto = createNodeProvider({ native: false });
export const noble = createNobleProvider();
export const providers: readonly CryptoProvider[] = [node, noble];
/** Every way the shipped providers run, labelled: the node provider with and without the accelerator, and noble. */
export const providerVariants: readonly (readonly [string, CryptoProvider])[] = [
  ['node', node],
  ['node (node:crypto only)', nodeCrypto],
  ['noble', noble],
];
/** Both orders, for "made in one, checked in the other" properties. */
export const pairs: readonly (readonly [CryptoProvider, CryptoProvider])[] = [
  [node, noble],
  [noble, node],
];

// RFC 8410 §7 / §4: fixed prefixes for raw Ed25519 keys.
const ED25519_PKCS8_PREFIX = fromHex('302e020100300506032b657004220420');
const ED25519_SPKI_PREFIX = fromHex('302a300506032b6570032100');
export const ed25519Pkcs8 = (seed: Uint8Array): Uint8Array => concat(ED25519_PKCS8_PREFIX, seed);
export const ed25519Spki = (pub: Uint8Array): Uint8Array => concat(ED25519_SPKI_PREFIX, pub);

export interface DerKeyPair {
  readonly pkcs8: Uint8Array;
  readonly spki: Uint8Array;
}

/** A key pair made by node:crypto, exported as PKCS#8 / SPKI DER. */
export function nodeKeyPair(type: 'ec' | 'ed25519' | 'x25519' | 'rsa' | 'rsa-pss', namedCurve = 'P-256', modulusLength = 2048): DerKeyPair {
  const kp =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve })
      : type === 'rsa' || type === 'rsa-pss'
        ? generateKeyPairSync(type as 'rsa', { modulusLength })
        : generateKeyPairSync(type as 'ed25519');
  return {
    pkcs8: new Uint8Array(kp.privateKey.export({ format: 'der', type: 'pkcs8' })),
    spki: new Uint8Array(kp.publicKey.export({ format: 'der', type: 'spki' })),
  };
}

/** Asserts `fn` throws a HopsafeError with `code`. */
export function throwsCode(fn: () => unknown, code: ErrorCode, label = ''): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isHopsafeError(e), `${label}: expected HopsafeError, got ${String(e)}`);
    assert.equal(e.code, code, `${label}: ${e.message}`);
    return true;
  });
}

/** The outcome of a call as a comparable value: bytes as hex, or the error code. */
export function outcome(fn: () => Uint8Array | null | boolean): string {
  try {
    const r = fn();
    return r instanceof Uint8Array ? `ok:${Buffer.from(r).toString('hex')}` : `ok:${String(r)}`;
  } catch (e) {
    return isHopsafeError(e) ? `err:${e.code}` : `raw-error:${String(e)}`;
  }
}
