/**
 * What the session needs from the PKI layer. The handshake calls `verify` after its cheap
 * checks (size, version, freshness) and before it checks the token signature. [SPEC 10]
 */
import type { PrivateKeyHandle, PublicKeyHandle } from '../crypto/provider.js';

/** PEM text (one or more blocks) or DER bytes. */
export type PemOrDer = string | Uint8Array;

export interface TrustConfig {
  /** Trust anchors. */
  readonly roots: readonly PemOrDer[];
  /** Extra intermediates used for chain building in addition to those the peer presents. */
  readonly intermediates?: readonly PemOrDer[];
  /** CRLs (PEM or DER). */
  readonly crls?: readonly PemOrDer[];
}

/** One IEC 62351-8 role assignment. [SPEC 10.4] */
export interface RoleAssignment {
  /** Role name: a predefined one (VIEWER, OPERATOR, …) or a custom one. */
  readonly role: string;
  /** Numeric role id (IEC 62351-8 roleId): 0–6 predefined, −32768…−1 custom (SPEC 10.4). */
  readonly roleId: number;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
}

export interface VerifiedPeer {
  readonly id: string;
  /** Leaf certificate, DER. */
  readonly certificate: Uint8Array;
  readonly publicKey: PublicKeyHandle;
  /** Roles valid at verification time. */
  readonly roles: readonly RoleAssignment[];
  /** Hex SHA-256 of the leaf certificate DER. */
  readonly fingerprint: string;
  /** The earliest notAfter on the validated path (leaf and issuers): the session ends then. [SPEC 5.10] */
  readonly notAfter: Date;
}

export interface VerifyRequest {
  /** Certificates as presented by the peer, leaf first, DER. */
  readonly chain: readonly Uint8Array[];
  /** RFC 5755 attribute certificates carried in the ClearToken, DER. */
  readonly attributeCertificates?: readonly Uint8Array[];
  /** The endpoint id the peer claims in its token and the transport routed it under (already checked equal). */
  readonly claimedId: string;
  readonly now: Date;
}

export interface PeerVerifier {
  /** Resolves with the verified peer or rejects with a HopsafeError (ERR_CERT_*, ERR_MALFORMED). */
  verify(req: VerifyRequest): Promise<VerifiedPeer>;
}

export interface LocalIdentity {
  readonly id: string;
  /** Own chain, leaf first, DER. */
  readonly chain: readonly Uint8Array[];
  readonly privateKey: PrivateKeyHandle;
  readonly attributeCertificates: readonly Uint8Array[];
  readonly roles: readonly RoleAssignment[];
}
