/**
 * One error class for the whole library. `code` is stable and documented in SPEC.md §9;
 * messages are for humans and may change. Where telling checks apart would help an attacker
 * (MAC vs. decryption vs. padding), a single code is used for all of them. [SPEC 9]
 */
export const ERROR_CODES = [
  'ERR_MALFORMED',
  'ERR_TOO_LARGE',
  'ERR_VERSION',
  'ERR_BAD_MAC',
  'ERR_REPLAY',
  'ERR_STALE',
  'ERR_BAD_SIGNATURE',
  'ERR_NEGOTIATION',
  'ERR_UNSUPPORTED',
  'ERR_CERT_UNTRUSTED',
  'ERR_CERT_EXPIRED',
  'ERR_CERT_NOT_YET_VALID',
  'ERR_CERT_REVOKED',
  'ERR_CERT_USAGE',
  'ERR_CERT_NAME',
  'ERR_KEY_MISMATCH',
  'ERR_FORBIDDEN',
  'ERR_UNKNOWN_SESSION',
  'ERR_UNKNOWN_EPOCH',
  'ERR_WRONG_PEER',
  'ERR_STATE',
  'ERR_HANDSHAKE_LIMIT',
  'ERR_QUEUE_FULL',
  'ERR_CLOSED',
  'ERR_TRANSPORT',
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_INVALID_ID',
  'ERR_CONFIG',
  'ERR_INPUT',
  'ERR_TIMEOUT',
  'ERR_NOT_CONFIRMED',
  'ERR_PEER_REFUSED',
  'ERR_SESSION_EXPIRED',
] as const;

/**
 * [SPEC 9] The stable code of a {@link HopsafeError}, one of {@link ERROR_CODES}: the value applications branch on.
 */
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * [SPEC 9] The one error class of hopsafe: every failure it throws, rejects with or reports carries a stable
 * `code` (messages are for humans and may change).
 *
 * @example
 * ```ts
 * try {
 *   await endpoint.send('bob', data, { confirm: true });
 * } catch (e) {
 *   if (isHopsafeError(e) && e.code === 'ERR_NOT_CONFIRMED') retryLater(data);
 *   else throw e;
 * }
 * ```
 */
export class HopsafeError extends Error {
  /** The stable code (SPEC 9); `name` is always `HopsafeError`. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? code, options);
    this.name = 'HopsafeError';
    this.code = code;
  }
}

/** Whether `e` is a {@link HopsafeError} (a type guard, so `e.code` can be read after it). */
export function isHopsafeError(e: unknown): e is HopsafeError {
  return e instanceof HopsafeError;
}

/** Throws a HopsafeError with `code` when `cond` is false. */
export function check(cond: unknown, code: ErrorCode, message?: string): asserts cond {
  if (!cond) throw new HopsafeError(code, message);
}
