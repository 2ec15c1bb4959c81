/**
 * Endpoint-id binding. [SPEC 10.3] A certificate names endpoint `id` when, compared exactly
 * (case-sensitive, no normalisation), `id` equals one of:
 *   - a subject commonName attribute, only when the certificate has no subjectAltName of a type that can
 *     name an endpoint (dNSName, URI, hopsafe otherName) — RFC 6125 §6.4.4 / RFC 9525 §6.3,
 *   - a subjectAltName dNSName,
 *   - a subjectAltName URI `urn:hopsafe:endpoint:<id>`,
 *   - a subjectAltName otherName of type id-on-hopsafe-endpointId (UTF8String).
 */
import { HOPSAFE_URI_PREFIX } from './oids.js';
import type { SubjectNames } from './x509.js';

/** [SPEC 10.3] Whether the subject commonName binds: no endpoint-naming subjectAltName. */
export function cnBinds(cert: Pick<SubjectNames, 'dnsNames' | 'uris' | 'endpointIds'>): boolean {
  return cert.dnsNames.length === 0 && cert.uris.length === 0 && cert.endpointIds.length === 0;
}

/**
 * [SPEC 10.3] Whether a certificate names endpoint `id`: exactly equal (case-sensitive) to a SAN dNSName, a SAN URI
 * `urn:hopsafe:endpoint:<id>`, a hopsafe endpoint-id otherName, or the subject commonName when the certificate has
 * none of those SANs.
 */
export function namesEndpoint(cert: SubjectNames, id: string): boolean {
  if (typeof id !== 'string' || id.length === 0) return false;
  return (
    (cnBinds(cert) && cert.commonNames.includes(id)) ||
    cert.dnsNames.includes(id) ||
    cert.uris.includes(HOPSAFE_URI_PREFIX + id) ||
    cert.endpointIds.includes(id)
  );
}

/** Every endpoint id a certificate could be bound to (for display). */
export function boundIds(cert: SubjectNames): string[] {
  const out = new Set<string>([...(cnBinds(cert) ? cert.commonNames : []), ...cert.dnsNames, ...cert.endpointIds]);
  for (const u of cert.uris) if (u.startsWith(HOPSAFE_URI_PREFIX)) out.add(u.slice(HOPSAFE_URI_PREFIX.length));
  return [...out];
}
