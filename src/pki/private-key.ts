/**
 * [SPEC 4.4, 10.6] Private keys as people have them: PKCS#8 (`PRIVATE KEY`, or DER bytes) and SEC1 EC keys
 * (`EC PRIVATE KEY`, what `openssl ecparam -genkey` writes, with or without its `EC PARAMETERS` block) with a named
 * curve. SEC1 is converted to PKCS#8 here, once, so every provider sees one key form. A key in any other form is
 * refused with the command that converts it; no key bytes ever appear in a message.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { HopsafeError } from '../errors/index.js';
import { decodePem, PEM_MAX_LENGTH } from '../codec/pem.js';
import type { PemOrDer } from './types.js';

export const CONVERT_HINT = 'convert it with: openssl pkcs8 -topk8 -nocrypt -in key.pem -out key.pk8.pem';

/** The PKCS#8 DER of `input`. */
export function privateKeyPkcs8(input: PemOrDer): Uint8Array {
  if (input instanceof Uint8Array) {
    if (input.length === 0 || input.length > PEM_MAX_LENGTH) throw new HopsafeError('ERR_MALFORMED', 'private key: empty or oversized DER');
    return input;
  }
  if (typeof input !== 'string') throw new HopsafeError('ERR_MALFORMED', 'private key must be PEM text or DER bytes');
  const blocks = decodePem(input).filter((b) => b.label !== 'EC PARAMETERS');
  const [block, extra] = blocks;
  if (!block) throw new HopsafeError('ERR_MALFORMED', 'private key: no PEM block');
  if (extra) throw new HopsafeError('ERR_MALFORMED', 'private key: more than one key in the PEM text');
  switch (block.label) {
    case 'PRIVATE KEY':
      return block.der;
    case 'EC PRIVATE KEY':
      return sec1ToPkcs8(block.der);
    case 'ENCRYPTED PRIVATE KEY':
      throw new HopsafeError(
        'ERR_UNSUPPORTED',
        `private key is encrypted: decrypt it first (openssl pkcs8 -in key.pem -out key.pk8.pem), or ${CONVERT_HINT}`,
      );
    default:
      if (!block.label.endsWith('PRIVATE KEY'))
        throw new HopsafeError(
          'ERR_MALFORMED',
          `private key: unexpected PEM label ${block.label} (expected PRIVATE KEY or EC PRIVATE KEY)`,
        );
      throw new HopsafeError(
        'ERR_UNSUPPORTED',
        `private key: PEM label ${block.label} is not supported (PKCS#8 "PRIVATE KEY" or SEC1 "EC PRIVATE KEY"); ${CONVERT_HINT}`,
      );
  }
}

/** SEC1 ECPrivateKey (RFC 5915) with a named curve → PKCS#8, through OpenSSL's own decoder. */
function sec1ToPkcs8(der: Uint8Array): Uint8Array {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'sec1' });
  } catch (e) {
    throw new HopsafeError('ERR_MALFORMED', `private key: not a valid SEC1 EC key (a named curve is required); ${CONVERT_HINT}`, {
      cause: e,
    });
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== 'prime256v1' && curve !== 'secp384r1')
    throw new HopsafeError('ERR_UNSUPPORTED', `private key: EC curve ${curve ?? '(explicit parameters)'} is not supported (P-256, P-384)`);
  return new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
}
