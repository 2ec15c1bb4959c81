/**
 * What the session needs from the PKI layer. The handshake calls `verify` after its cheap
 * checks (size, version, freshness) and before it checks the token signature. [SPEC 10]
 */
import type { AsyncSigner, PrivateKeyHandle, PublicKeyHandle } from '../crypto/provider.js';

/** PEM text (one or more blocks) or DER bytes. */
export type PemOrDer = string | Uint8Array;

/**
 * [SPEC 10.2] What a peer's certificate chain is validated against: trust anchors, intermediates that peers need not
 * present, and CRLs (SPEC 10.5). Each entry is PEM (one or more blocks) or DER. Replaceable at run time with
 * `endpoint.updateTrust`.
 */
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
  /** Start of the role's own validity, when it has one (else its container's validity applies). */
  readonly notBefore?: Date;
  /** End of the role's own validity, when it has one. */
  readonly notAfter?: Date;
}

/**
 * [SPEC 10] A peer whose certificate chain validated and which its leaf certificate names: the result of
 * `TrustStore.verify`, and what a session authorizes against.
 */
export interface VerifiedPeer {
  /** The endpoint id the certificate was checked to name (SPEC 10.3). */
  readonly id: string;
  /** Leaf certificate, DER. */
  readonly certificate: Uint8Array;
  /** The leaf's public key, imported into the provider (verifies the peer's token signatures). */
  readonly publicKey: PublicKeyHandle;
  /** Roles valid at verification time. */
  readonly roles: readonly RoleAssignment[];
  /** Hex SHA-256 of the leaf certificate DER. */
  readonly fingerprint: string;
  /** The earliest notAfter on the validated path (leaf and issuers): the session ends then. [SPEC 5.10] */
  readonly notAfter: Date;
}

/**
 * What {@link PeerVerifier.verify} validates: the chain and attribute certificates a peer presented in its
 * ClearToken1, the id it claims, and the time to validate at (SPEC 10.2).
 */
export interface VerifyRequest {
  /** Certificates as presented by the peer, leaf first, DER. */
  readonly chain: readonly Uint8Array[];
  /** RFC 5755 attribute certificates carried in the ClearToken, DER. */
  readonly attributeCertificates?: readonly Uint8Array[];
  /** The endpoint id the peer claims in its token and the transport routed it under (already checked equal). */
  readonly claimedId: string;
  /** The time the certificates' (and roles') validity is checked at. */
  readonly now: Date;
}

/**
 * [SPEC 10] Validates a peer's credentials for the handshake. {@link createTrustStore} is the shipped
 * implementation; an endpoint builds its own from `trust` and `crlMode`.
 */
export interface PeerVerifier {
  /** Resolves with the verified peer or rejects with a HopsafeError (ERR_CERT_*, ERR_MALFORMED). */
  verify(req: VerifyRequest): Promise<VerifiedPeer>;
}

/**
 * [SPEC 10.6] An endpoint's own credentials, checked for consistency, as `loadIdentity` returns them: the chain it
 * presents, its signing key (imported into the provider) and the roles its certificates carry.
 */
export interface LocalIdentity {
  /** The endpoint id the leaf certificate was checked to name. */
  readonly id: string;
  /** Own chain, leaf first, DER. */
  readonly chain: readonly Uint8Array[];
  /**
   * The provider's handle of our key. With `signer` (SPEC 10.6) it is a stand-in of no provider (`provider:
   * 'signer'`) that carries only the algorithm: synchronous signing with it fails (ERR_INPUT).
   */
  readonly privateKey: PrivateKeyHandle;
  /** [SPEC 10.6] Set when the key is held outside (non-extractable WebCrypto key, HSM): ClearTokens are signed by it. */
  readonly signer?: AsyncSigner;
  /** RFC 5755 attribute certificates presented in the ClearToken1 (DER); may be empty. */
  readonly attributeCertificates: readonly Uint8Array[];
  /** Every role assignment of the leaf and the attribute certificates, with its validity (not filtered by time). */
  readonly roles: readonly RoleAssignment[];
}
