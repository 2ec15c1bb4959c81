/**
 * The browser bundle's stand-in for src/crypto/node.ts (which needs node:crypto): the default provider is the noble
 * one, and certificate keys are loaded with the noble-based key objects of ./node-crypto.ts. The bundler maps
 * src/crypto/node.ts here (scripts/build-browser.mjs), so node.ts never reaches the bundle; Node never loads this.
 */
import { HopsafeError } from '../../errors/index.js';
import { createNobleProvider } from '../../crypto/noble.js';
import { screenSpki, type ParsedPublicKey } from '../../crypto/key-der.js';
import type { KeyDescription } from '../../crypto/keys.js';
import type { CryptoProvider } from '../../crypto/provider.js';
import { publicKeyFromSpki, type BrowserKeyObject } from './node-crypto.js';

/** In the browser bundle the default provider is noble (the name is node.ts's, so that its importers need no change). */
export function createNodeProvider(): CryptoProvider {
  return createNobleProvider();
}

export interface SpkiKey {
  readonly parsed: Exclude<ParsedPublicKey, { type: 'other' }>;
  readonly key: BrowserKeyObject;
  readonly description: KeyDescription;
}

/** As node.ts's: a screened SubjectPublicKeyInfo, loaded (RSA: ERR_UNSUPPORTED in the browser). */
export function spkiKeyObject(spki: Uint8Array, check?: (parsed: SpkiKey['parsed']) => void): SpkiKey {
  const parsed = screenSpki(spki);
  check?.(parsed);
  if (parsed.type === 'rsa') throw new HopsafeError('ERR_UNSUPPORTED', 'RSA keys are not supported in the browser bundle');
  let key: BrowserKeyObject;
  try {
    key = publicKeyFromSpki(spki);
  } catch (e) {
    throw new HopsafeError('ERR_MALFORMED', 'public key is not a valid SubjectPublicKeyInfo', { cause: e });
  }
  const description: KeyDescription = parsed.type === 'ec' ? { type: 'ec', namedCurve: parsed.curve } : { type: 'ed25519' };
  return { parsed, key, description };
}

/** As node.ts's: what a loaded key is (curve or type), for the key checks of src/pki/signature.ts. */
export function keyDescription(key: BrowserKeyObject): KeyDescription {
  return key.asymmetricKeyType === 'ec' ? { type: 'ec', namedCurve: key.asymmetricKeyDetails.namedCurve ?? '' } : { type: 'ed25519' };
}
