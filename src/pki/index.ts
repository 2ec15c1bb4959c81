/**
 * `hopsafe/pki`: certificate validation, identities, IEC 62351-8 roles and RBAC policy. [SPEC 10]
 *
 * @module hopsafe/pki
 */
export type { PemOrDer, TrustConfig, RoleAssignment, VerifiedPeer, VerifyRequest, PeerVerifier, LocalIdentity } from './types.js';
export {
  createTrustStore,
  DEFAULT_ACCEPTED_EKUS,
  type TrustStore,
  type TrustStoreOptions,
  type TrustUpdate,
  type TrustWarning,
} from './trust-store.js';
export { loadIdentity, loadSignerIdentity, validateOwn, loadPrivateKey, type LoadIdentityOptions } from './identity.js';
export {
  PREDEFINED_ROLES,
  parseRoleSpec,
  encodeRoleInformation,
  decodeRoleInformation,
  rolesAt,
  roleNameForId,
  type RoleSpec,
  type PredefinedRole,
} from './roles.js';
export {
  createAuthorizer,
  loadPolicy,
  parsePolicy,
  POLICY_MAX_VALUE_LENGTH,
  POLICY_MAX_GLOB_LENGTH,
  type Authorizer,
  type AuthorizationContext,
  type Policy,
  type PolicyInput,
} from './policy.js';
export { parseCertificate, type ParsedCert } from './x509.js';
export { parseCrl, type ParsedCrl } from './crl.js';
export { parseAttributeCertificate, type ParsedAttributeCert } from './attribute-cert.js';
export { namesEndpoint } from './names.js';
export { REFUSAL_CODES } from './refusal.js';
/** OIDs a certificate for hopsafe carries (SPEC 10.2–10.4): the endpoint EKU, the SAN URI prefix, the IEC 62351-8 role extension. */
export { ID_KP_HOPSAFE_ENDPOINT, HOPSAFE_URI_PREFIX, ID_IEC62351_8_ROLE_INFO, ID_ON_HOPSAFE_ENDPOINT_ID } from './oids.js';
