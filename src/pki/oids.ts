/**
 * Object identifiers used by the PKI layer. [SPEC 10.3, 10.4]
 *
 * hopsafe's private arc is a UUID OID (ITU-T X.667, no registration needed):
 *   id-hopsafe = 2.25.98174301627460281189141854597601405822  (UUID 49dbaec7-3870-4c12-bc5b-6a57fa3dab7e)
 */
export const ID_HOPSAFE = '2.25.98174301627460281189141854597601405822';
/** Extended key usage "hopsafe end-to-end endpoint". */
export const ID_KP_HOPSAFE_ENDPOINT = `${ID_HOPSAFE}.1`;
/** otherName type-id carrying an endpoint id as UTF8String. */
export const ID_ON_HOPSAFE_ENDPOINT_ID = `${ID_HOPSAFE}.2`;
/** URI SAN prefix binding an endpoint id: `urn:hopsafe:endpoint:<id>`. */
export const HOPSAFE_URI_PREFIX = 'urn:hopsafe:endpoint:';

/** IEC 62351-8 RoleInformation (certificate extension and attribute-certificate attribute type). */
export const ID_IEC62351_8_ROLE_INFO = '1.2.840.10070.8.1';

export const ID_KP_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const ID_KP_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const ID_ANY_EKU = '2.5.29.37.0';

export const ID_CE_SUBJECT_KEY_ID = '2.5.29.14';
export const ID_CE_KEY_USAGE = '2.5.29.15';
export const ID_CE_SUBJECT_ALT_NAME = '2.5.29.17';
export const ID_CE_ISSUER_ALT_NAME = '2.5.29.18';
export const ID_CE_BASIC_CONSTRAINTS = '2.5.29.19';
export const ID_CE_CRL_NUMBER = '2.5.29.20';
export const ID_CE_CRL_REASON = '2.5.29.21';
export const ID_CE_CRL_DISTRIBUTION_POINTS = '2.5.29.31';
export const ID_CE_CERTIFICATE_POLICIES = '2.5.29.32';
export const ID_CE_AUTHORITY_KEY_ID = '2.5.29.35';
export const ID_CE_EXT_KEY_USAGE = '2.5.29.37';
export const ID_PE_AUTHORITY_INFO_ACCESS = '1.3.6.1.5.5.7.1.1';
export const ID_CE_NAME_CONSTRAINTS = '2.5.29.30';

export const ID_AT_COMMON_NAME = '2.5.4.3';
export const ID_AT_ORGANIZATION = '2.5.4.10';

export const SIG = {
  rsaPkcs1Sha256: '1.2.840.113549.1.1.11',
  rsaPkcs1Sha384: '1.2.840.113549.1.1.12',
  rsaPkcs1Sha512: '1.2.840.113549.1.1.13',
  rsaPss: '1.2.840.113549.1.1.10',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
  ed25519: '1.3.101.112',
} as const;

export const HASH_OIDS: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
export const ID_MGF1 = '1.2.840.113549.1.1.8';

/** Certificate extensions this implementation understands; any other critical extension is refused. [SPEC 10.2] */
export const KNOWN_EXTENSIONS = new Set([
  ID_CE_SUBJECT_KEY_ID,
  ID_CE_KEY_USAGE,
  ID_CE_SUBJECT_ALT_NAME,
  ID_CE_ISSUER_ALT_NAME,
  ID_CE_BASIC_CONSTRAINTS,
  ID_CE_CRL_DISTRIBUTION_POINTS,
  ID_CE_CERTIFICATE_POLICIES,
  ID_CE_AUTHORITY_KEY_ID,
  ID_CE_EXT_KEY_USAGE,
  ID_PE_AUTHORITY_INFO_ACCESS,
  ID_IEC62351_8_ROLE_INFO,
  ID_CE_NAME_CONSTRAINTS,
]);
