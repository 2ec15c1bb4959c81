/**
 * The one place where validation failures become error codes. Validation code reports a
 * `Refusal` reason; callers only ever see the HopsafeError made here. [SPEC 10.7]
 */
import { HopsafeError, type ErrorCode } from '../errors/index.js';

/**
 * [SPEC 10.7] Every reason certificate validation can refuse for, and the error code it is reported with. The
 * reason starts the HopsafeError's message (`no-path: …`), so logs tell apart causes that share a code.
 */
export const REFUSAL_CODES = {
  /** Bytes that are not a certificate/CRL/AC, or a chain too long. */
  malformed: 'ERR_MALFORMED',
  /** No path from the leaf to a configured root (unknown issuer, bad signature, refused algorithm). */
  'no-path': 'ERR_CERT_UNTRUSTED',
  /** [SPEC 10.2] Path building ran out of its work budget (signature checks) before a path passed. */
  'path-budget': 'ERR_CERT_UNTRUSTED',
  /** The peer presented a certificate that is not on the validated path. */
  'extra-certificate': 'ERR_CERT_UNTRUSTED',
  /** A CA on the path is not a CA (basicConstraints cA false/absent, keyUsage without keyCertSign). */
  'issuer-not-ca': 'ERR_CERT_USAGE',
  expired: 'ERR_CERT_EXPIRED',
  'not-yet-valid': 'ERR_CERT_NOT_YET_VALID',
  /** The endpoint certificate is a CA certificate. */
  'ca-as-leaf': 'ERR_CERT_USAGE',
  'path-length': 'ERR_CERT_USAGE',
  /** [SPEC 10.2] A name outside a CA's permitted subtrees or inside its excluded ones, an unsupported constrained form, or nameConstraints in an end-entity certificate. */
  'name-constraints': 'ERR_CERT_USAGE',
  'key-usage': 'ERR_CERT_USAGE',
  'extended-key-usage': 'ERR_CERT_USAGE',
  'unknown-critical-extension': 'ERR_CERT_USAGE',
  'key-type': 'ERR_CERT_USAGE',
  revoked: 'ERR_CERT_REVOKED',
  /** crlMode 'require' and no current CRL from the issuer. */
  'revocation-unknown': 'ERR_CERT_REVOKED',
  name: 'ERR_CERT_NAME',
  'key-mismatch': 'ERR_KEY_MISMATCH',
} as const satisfies Record<string, ErrorCode>;

export type Refusal = keyof typeof REFUSAL_CODES;

/** How many reasons share each code: the message names the reason only when the code alone does not. */
const REASONS_PER_CODE = new Map<ErrorCode, number>();
for (const code of Object.values(REFUSAL_CODES)) REASONS_PER_CODE.set(code, (REASONS_PER_CODE.get(code) ?? 0) + 1);

/**
 * The error for a refusal. Its message starts with the reason when several reasons share the code
 * (`ERR_CERT_USAGE: key-usage: …`); a code of one reason is not repeated in words (`ERR_CERT_NAME: certificate … does
 * not name endpoint …`, not `ERR_CERT_NAME: name: …`).
 */
export function refuse(reason: Refusal, detail: string, cause?: unknown): HopsafeError {
  const code = REFUSAL_CODES[reason];
  const message = (REASONS_PER_CODE.get(code) ?? 0) > 1 ? `${reason}: ${detail}` : detail;
  return new HopsafeError(code, message, cause === undefined ? undefined : { cause });
}
