/**
 * ClearToken1 (handshake), ClearToken2 (key update) and Alert: DER encoders and strict
 * decoders. The ASN.1 module is schemas/hopsafe.asn1. [SPEC 5]
 */
import { HopsafeError } from '../errors/index.js';
import { equal } from '../bytes/index.js';
import * as der from './tlv.js';
import { SESSION_ID_LENGTH } from './frame.js';

export const TOKEN_VERSION = 1;
export const RANDOM_LENGTH = 16;

/** [SPEC 5.2] Caps applied while decoding. */
export const TOKEN_LIMITS = {
  maxToken: 64 * 1024,
  maxId: 64,
  maxSuites: 16,
  maxKeyShares: 4,
  /** [SPEC 5.2] The largest share: the hybrid X25519MLKEM768 initiator's, 32 + 1184 bytes (§4.2). */
  maxKeyShareLength: 1216,
  /** [SPEC 5.2, 7.2] A ClearToken2 public value is a DH value (hybrid sessions update with X25519): ≤ 133 bytes (P-384). */
  maxUpdateKeyLength: 133,
  maxCertificates: 8,
  maxCertificateLength: 16 * 1024,
  maxAttributeCertificates: 4,
  maxEarlyData: 32 * 1024,
  maxSignature: 1024,
} as const;

export const Role = { initiator: 0, responder: 1 } as const;
export type Role = keyof typeof Role;
export const Protection = { integrity: 0, confidentiality: 1 } as const;
export type Protection = keyof typeof Protection;

export interface KeyShare {
  readonly group: number;
  readonly publicKey: Uint8Array;
}

/** [SPEC 5.3] */
export interface ClearToken1 {
  readonly version: number;
  readonly role: Role;
  readonly sessionId: Uint8Array;
  readonly senderId: string;
  readonly receiverId: string;
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: number;
  readonly random: Uint8Array;
  readonly protection: Protection;
  /** Initiator: the offer in preference order. Responder: exactly the selected suite. */
  readonly suites: readonly number[];
  /** Initiator: one share per offered group. Responder: exactly one, for the selected suite's group. */
  readonly keyShares: readonly KeyShare[];
  readonly signatureAlgorithm: number;
  /** DER certificates, leaf first. */
  readonly certificates: readonly Uint8Array[];
  readonly attributeCertificates?: readonly Uint8Array[];
  /** Initiator only, integrity mode only: first application payload, covered by the signature. */
  readonly earlyData?: Uint8Array;
}

export interface SignedClearToken1 {
  readonly token: ClearToken1;
  /** Exact DER of `token` as received (what the signature covers). */
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
  /** Exact DER of the whole SignedClearToken1 (what the transcript hashes). */
  readonly encoded: Uint8Array;
}

function roleName(n: number): Role {
  return n === 0 ? 'initiator' : 'responder';
}
function protectionName(n: number): Protection {
  return n === 0 ? 'integrity' : 'confidentiality';
}

function ct1Node(t: ClearToken1): der.Node {
  const fields: (Uint8Array | der.Node)[] = [
    der.int(t.version),
    der.enm(Role[t.role]),
    der.oct(t.sessionId),
    der.str(t.senderId),
    der.str(t.receiverId),
    der.int(t.timestamp),
    der.oct(t.random),
    der.enm(Protection[t.protection]),
    der.seq(t.suites.map(der.int)),
    der.seqNode(t.keyShares.map((k) => der.seqNode([der.int(k.group), der.octNode(k.publicKey)]))),
    der.int(t.signatureAlgorithm),
    der.seqNode(t.certificates.map(der.octNode)),
  ];
  if (t.attributeCertificates && t.attributeCertificates.length > 0) fields.push(der.ctxSeq0Node(t.attributeCertificates.map(der.octNode)));
  if (t.earlyData) fields.push(der.ctxOct1Node(t.earlyData));
  return der.seqNode(fields);
}

/** The DER of `t`, written once into one buffer (key shares, certificates and early data copied once). */
export function encodeClearToken1(t: ClearToken1): Uint8Array {
  return der.encodeNode(ct1Node(t));
}

/** SignedClearToken1 ::= SEQUENCE { token ClearToken1, signature OCTET STRING } — `tbs` is the token's DER. */
export function encodeSignedClearToken1(tbs: Uint8Array, signature: Uint8Array): Uint8Array {
  return der.encodeNode(der.seqNode([tbs, der.oct(signature)]));
}

function parseCt1(n: der.Tlv): ClearToken1 {
  const L = TOKEN_LIMITS;
  const f = der.children(n, 'ClearToken1', 12, 14);
  const version = der.integer(f[0], 'version', 0, 255);
  if (version !== TOKEN_VERSION) throw new HopsafeError('ERR_VERSION', `token version ${version}`);
  const role = roleName(der.enumerated(f[1], 'role', 1));
  const sessionId = der.octets(f[2], 'sessionId', SESSION_ID_LENGTH, SESSION_ID_LENGTH);
  const senderId = der.utf8(f[3], 'senderId', L.maxId);
  const receiverId = der.utf8(f[4], 'receiverId', L.maxId);
  const timestamp = der.integer(f[5], 'timestamp', 0, Number.MAX_SAFE_INTEGER);
  const random = der.octets(f[6], 'random', RANDOM_LENGTH, RANDOM_LENGTH);
  const protection = protectionName(der.enumerated(f[7], 'protection', 1));
  const suites = der.children(f[8], 'suites', 1, L.maxSuites).map((s) => der.integer(s, 'suite', 0, 0xffff));
  const keyShares = der.children(f[9], 'keyShares', 1, L.maxKeyShares).map((k) => {
    const kf = der.children(k, 'KeyShare', 2, 2);
    return { group: der.integer(kf[0], 'group', 0, 0xffff), publicKey: der.octets(kf[1], 'publicKey', 1, L.maxKeyShareLength) };
  });
  const signatureAlgorithm = der.integer(f[10], 'signatureAlgorithm', 0, 0xffff);
  const certificates = der
    .children(f[11], 'certificates', 1, L.maxCertificates)
    .map((c) => der.octets(c, 'certificate', 1, L.maxCertificateLength));
  let attributeCertificates: Uint8Array[] | undefined;
  let earlyData: Uint8Array | undefined;
  for (const extra of f.slice(12)) {
    const ac = der.contextChildren(extra, 0);
    if (ac && !attributeCertificates && !earlyData) {
      if (ac.length < 1 || ac.length > L.maxAttributeCertificates) throw new HopsafeError('ERR_MALFORMED', 'attributeCertificates');
      attributeCertificates = ac.map((c) => der.octets(c, 'attributeCertificate', 1, L.maxCertificateLength));
      continue;
    }
    const ed = der.contextOctets(extra, 1);
    if (ed && !earlyData) {
      if (ed.length > L.maxEarlyData) throw new HopsafeError('ERR_TOO_LARGE', 'earlyData');
      earlyData = ed;
      continue;
    }
    throw new HopsafeError('ERR_MALFORMED', 'ClearToken1: unexpected field');
  }
  return {
    version,
    role,
    sessionId,
    senderId,
    receiverId,
    timestamp,
    random,
    protection,
    suites,
    keyShares,
    signatureAlgorithm,
    certificates,
    ...(attributeCertificates ? { attributeCertificates } : {}),
    ...(earlyData ? { earlyData } : {}),
  };
}

/**
 * [SPEC 5.3] Strict decoder: caps every length, refuses unknown fields, and refuses any
 * encoding that is not the canonical DER of the decoded value (no malleability).
 */
export function decodeSignedClearToken1(bytes: Uint8Array): SignedClearToken1 {
  const root = der.decode(bytes, TOKEN_LIMITS.maxToken, 'SignedClearToken1');
  const parts = der.children(root, 'SignedClearToken1', 2, 2);
  const tokenTlv = parts[0] as der.Tlv; // length checked by children()
  const token = parseCt1(tokenTlv);
  const signature = der.octets(parts[1], 'signature', 1, TOKEN_LIMITS.maxSignature);
  const tbs = der.raw(tokenTlv);
  // Defence in depth: the strict reader already admits only canonical DER; re-encoding must agree.
  if (!equal(encodeClearToken1(token), tbs)) throw new HopsafeError('ERR_MALFORMED', 'ClearToken1 is not canonical DER');
  return { token, tbs, signature, encoded: bytes };
}

/** [SPEC 5.4] ClearToken2: the key-update token, carried inside a protected KEY_UPDATE record. */
export interface ClearToken2 {
  readonly version: number;
  /** The sender's new send epoch. */
  readonly newEpoch: number;
  readonly group: number;
  /** The sender's fresh ephemeral public value. */
  readonly publicKey: Uint8Array;
  /** Epoch id of the receiver's ephemeral value that was used. */
  readonly peerKeyEpoch: number;
  /** Asks the receiver to update its own send direction too. */
  readonly requestUpdate: boolean;
}

export function encodeClearToken2(t: ClearToken2): Uint8Array {
  return der.seq([
    der.int(t.version),
    der.int(t.newEpoch),
    der.int(t.group),
    der.oct(t.publicKey),
    der.int(t.peerKeyEpoch),
    der.bool(t.requestUpdate),
  ]);
}

export function decodeClearToken2(bytes: Uint8Array): ClearToken2 {
  const f = der.children(der.decode(bytes, 1024, 'ClearToken2'), 'ClearToken2', 6, 6);
  const version = der.integer(f[0], 'version', 0, 255);
  if (version !== TOKEN_VERSION) throw new HopsafeError('ERR_VERSION', `token version ${version}`);
  const t: ClearToken2 = {
    version,
    newEpoch: der.integer(f[1], 'newEpoch', 1, 0xffff),
    group: der.integer(f[2], 'group', 0, 0xffff),
    publicKey: der.octets(f[3], 'publicKey', 1, TOKEN_LIMITS.maxUpdateKeyLength),
    peerKeyEpoch: der.integer(f[4], 'peerKeyEpoch', 0, 0xffff),
    requestUpdate: der.boolean(f[5], 'requestUpdate'),
  };
  if (!equal(encodeClearToken2(t), bytes)) throw new HopsafeError('ERR_MALFORMED', 'ClearToken2 is not canonical DER');
  return t;
}

/**
 * [SPEC 8.7] Alert ::= SEQUENCE { code UTF8String, reference INTEGER OPTIONAL, referenceEpoch INTEGER (0..65535) OPTIONAL }
 * — inside a protected ALERT record; `referenceEpoch` only together with `reference`.
 */
export interface Alert {
  readonly code: string;
  /** Optional reference, e.g. the sequence number of the refused message. */
  readonly reference?: number;
  /** The epoch of the record `reference` names (ERR_FORBIDDEN). */
  readonly referenceEpoch?: number;
}

export function encodeAlert(a: Alert): Uint8Array {
  const f = [der.str(a.code)];
  if (a.reference !== undefined) f.push(der.int(a.reference));
  if (a.reference !== undefined && a.referenceEpoch !== undefined) f.push(der.int(a.referenceEpoch));
  return der.seq(f);
}

export function decodeAlert(bytes: Uint8Array): Alert {
  const f = der.children(der.decode(bytes, 256, 'Alert'), 'Alert', 1, 3);
  const code = der.utf8(f[0], 'code', 32);
  if (!/^ERR_[A-Z_]+$/.test(code)) throw new HopsafeError('ERR_MALFORMED', 'alert code');
  const reference = f[1] ? der.integer(f[1], 'reference', 0, Number.MAX_SAFE_INTEGER) : undefined;
  const referenceEpoch = f[2] ? der.integer(f[2], 'referenceEpoch', 0, 0xffff) : undefined;
  const a: Alert =
    reference === undefined ? { code } : referenceEpoch === undefined ? { code, reference } : { code, reference, referenceEpoch };
  if (!equal(encodeAlert(a), bytes)) throw new HopsafeError('ERR_MALFORMED', 'Alert is not canonical DER');
  return a;
}
