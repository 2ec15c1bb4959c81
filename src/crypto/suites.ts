/**
 * Registry of cipher suites, key-exchange groups and signature algorithms with the stable
 * numeric ids that appear on the wire. [SPEC 4.1–4.3]
 */
import { HopsafeError } from '../errors/index.js';
import type { AeadAlg, GroupName, HashAlg, SignatureAlg } from './provider.js';

/**
 * [SPEC 4.1] A cipher suite: the key-exchange group, the hash of the transcript, HKDF and HMAC (integrity mode),
 * and the AEAD (confidentiality mode). The shipped suites are {@link SUITES}; endpoints name them in `suites`.
 */
export interface Suite {
  /** Wire id (uint16), e.g. 0x0101. */
  readonly id: number;
  /** Name used in options and events, e.g. `X25519_AES128GCM_SHA256`. */
  readonly name: string;
  readonly group: GroupName;
  readonly hash: HashAlg;
  readonly aead: AeadAlg;
}

/** [SPEC 4.2] Key-exchange group ids. */
export const GROUP_IDS: Readonly<Record<GroupName, number>> = {
  x25519: 1,
  p256: 2,
  p384: 3,
  brainpoolP256r1: 4,
  /** Hybrid X25519 + ML-KEM-768 (§4.2). */
  x25519mlkem768: 5,
};

/** [SPEC 4.3] Signature algorithm ids. */
export const SIGNATURE_IDS: Readonly<Record<SignatureAlg, number>> = {
  'ecdsa-p256-sha256': 1,
  'ecdsa-p384-sha384': 2,
  ed25519: 3,
  'rsa-pss-sha256': 4,
  'rsa-pkcs1-sha256': 5,
};

/** [SPEC 4.1] Suites. Integrity-only mode uses HMAC with the suite hash; confidentiality mode uses the AEAD. */
export const SUITES: readonly Suite[] = [
  { id: 0x0101, name: 'X25519_AES128GCM_SHA256', group: 'x25519', hash: 'sha256', aead: 'aes-128-gcm' },
  { id: 0x0102, name: 'X25519_CHACHA20POLY1305_SHA256', group: 'x25519', hash: 'sha256', aead: 'chacha20-poly1305' },
  { id: 0x0103, name: 'X25519_AES256GCM_SHA384', group: 'x25519', hash: 'sha384', aead: 'aes-256-gcm' },
  { id: 0x0201, name: 'P256_AES128GCM_SHA256', group: 'p256', hash: 'sha256', aead: 'aes-128-gcm' },
  { id: 0x0202, name: 'P256_CHACHA20POLY1305_SHA256', group: 'p256', hash: 'sha256', aead: 'chacha20-poly1305' },
  { id: 0x0303, name: 'P384_AES256GCM_SHA384', group: 'p384', hash: 'sha384', aead: 'aes-256-gcm' },
  { id: 0x0401, name: 'BP256_AES128GCM_SHA256', group: 'brainpoolP256r1', hash: 'sha256', aead: 'aes-128-gcm' },
  // [SPEC 4.1] Hybrid post-quantum suites (group 5, X25519 + ML-KEM-768); not in the default offer.
  { id: 0x0502, name: 'X25519MLKEM768_CHACHA20POLY1305_SHA256', group: 'x25519mlkem768', hash: 'sha256', aead: 'chacha20-poly1305' },
  { id: 0x0503, name: 'X25519MLKEM768_AES256GCM_SHA384', group: 'x25519mlkem768', hash: 'sha384', aead: 'aes-256-gcm' },
];

const byId = new Map(SUITES.map((s) => [s.id, s]));
const byName = new Map(SUITES.map((s) => [s.name, s]));
const groupById = new Map(Object.entries(GROUP_IDS).map(([k, v]) => [v, k as GroupName]));
const sigById = new Map(Object.entries(SIGNATURE_IDS).map(([k, v]) => [v, k as SignatureAlg]));

/** Default offer, in preference order (all share X25519, so one key share suffices). */
export const DEFAULT_SUITES: readonly string[] = ['X25519_AES128GCM_SHA256', 'X25519_CHACHA20POLY1305_SHA256', 'X25519_AES256GCM_SHA384'];

/** [SPEC 4.1] The suite with wire id `id` (e.g. 0x0101), or undefined for an id hopsafe does not know. */
export function suiteById(id: number): Suite | undefined {
  return byId.get(id);
}

/** [SPEC 4.1] The suite called `name` (e.g. `X25519_AES128GCM_SHA256`); ERR_UNSUPPORTED for an unknown name. */
export function suiteByName(name: string): Suite {
  const s = byName.get(name);
  if (!s) throw new HopsafeError('ERR_UNSUPPORTED', `unknown suite ${name}`);
  return s;
}

export function groupFromId(id: number): GroupName | undefined {
  return groupById.get(id);
}

export function signatureFromId(id: number): SignatureAlg | undefined {
  return sigById.get(id);
}
