/**
 * Endpoint-id binding. [SPEC 10.3] A certificate names endpoint `id` when, compared exactly
 * (case-sensitive, no normalisation), `id` equals one of:
 *   - a subject commonName attribute,
 *   - a subjectAltName dNSName,
 *   - a subjectAltName URI `urn:hopsafe:endpoint:<id>`,
 *   - a subjectAltName otherName of type id-on-hopsafe-endpointId (UTF8String).
 */
import { HOPSAFE_URI_PREFIX } from './oids.js';
import type { SubjectNames } from './x509.js';

export function namesEndpoint(cert: SubjectNames, id: string): boolean {
  if (typeof id !== 'string' || id.length === 0) return false;
  return (
    cert.commonNames.includes(id) ||
    cert.dnsNames.includes(id) ||
    cert.uris.includes(HOPSAFE_URI_PREFIX + id) ||
    cert.endpointIds.includes(id)
  );
}

/** Every endpoint id a certificate could be bound to (for display). */
export function boundIds(cert: SubjectNames): string[] {
  const out = new Set<string>([...cert.commonNames, ...cert.dnsNames, ...cert.endpointIds]);
  for (const u of cert.uris) if (u.startsWith(HOPSAFE_URI_PREFIX)) out.add(u.slice(HOPSAFE_URI_PREFIX.length));
  return [...out];
}
