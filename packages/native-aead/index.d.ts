/**
 * The binding. `slot` is a hint naming a key context (any unsigned 32-bit number; 256 sets of two ways per thread):
 * the key bytes decide which context serves, so a wrong or stale hint costs one re-key, never a wrong key.
 */
/** 0 aes-128-gcm, 1 aes-256-gcm, 2 chacha20-poly1305 (seal/open); 3 hmac-sha256, 4 hmac-sha384 (hmac). */
export type Alg = 0 | 1 | 2 | 3 | 4;
/** 0: done; 1 bad argument, 2 bad key length, 3 bad nonce length, 4 out of bounds, 5 OpenSSL failure. */
export type Code = 0 | 1 | 2 | 3 | 4 | 5;
/** ciphertext ‖ 16-byte tag into out[offset ..]; aad may lie in out before offset, plaintext may overlap the destination. */
export function seal(slot: number, alg: Alg, key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, offset: number): Code;
/** Plaintext into out[0 .. sealed.length - 16) (out must not overlap sealed); -1 when the tag does not verify (out zeroed). */
export function open(slot: number, alg: Alg, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array, out: Uint8Array): Code | -1;
/** Full-length HMAC (32 or 48 bytes) into out. */
export function hmac(slot: number, alg: Alg, key: Uint8Array, data: Uint8Array, out: Uint8Array): Code;
/** HMAC under a key that is not kept (context made, used, freed): for one-time secrets (HKDF PRKs). */
export function hmacOnce(alg: Alg, key: Uint8Array, data: Uint8Array, out: Uint8Array): Code;
/** [contexts in use, re-keys so far] in this thread. */
export function stats(): [number, number];
/** Frees the contexts of the sets of hints first..last (at most all) and overwrites their keys. */
export function forget(first: number, last: number): Code;
/** Frees every key context of this thread and overwrites every key it held. */
export function wipe(): void;
/** The OpenSSL the addon runs on (Node's own). */
export function opensslVersion(): string;
