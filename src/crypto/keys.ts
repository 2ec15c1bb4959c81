/** Maps a key's type to the one signature algorithm hopsafe uses with it. [SPEC 4.3] */
import { HopsafeError } from '../errors/index.js';
import type { SignatureAlg } from './provider.js';

export type KeyDescription =
  | { type: 'ec'; namedCurve: string }
  | { type: 'ed25519' }
  | { type: 'rsa'; modulusLength: number }
  | { type: 'other'; name: string };

/** RSA keys sign with PSS (SHA-256, 32-byte salt); PKCS#1 v1.5 is accepted for certificates, never for tokens. */
export function signatureAlgForKey(k: KeyDescription): SignatureAlg {
  switch (k.type) {
    case 'ec':
      if (k.namedCurve === 'prime256v1' || k.namedCurve === 'P-256') return 'ecdsa-p256-sha256';
      if (k.namedCurve === 'secp384r1' || k.namedCurve === 'P-384') return 'ecdsa-p384-sha384';
      throw new HopsafeError('ERR_UNSUPPORTED', `EC curve ${k.namedCurve} is not supported for signatures`);
    case 'ed25519':
      return 'ed25519';
    case 'rsa':
      if (k.modulusLength < 2048) throw new HopsafeError('ERR_CERT_USAGE', 'RSA keys must be at least 2048 bits');
      return 'rsa-pss-sha256';
    case 'other':
      throw new HopsafeError('ERR_UNSUPPORTED', `key type ${k.name} is not supported`);
  }
}
