/**
 * nameConstraints (RFC 5280 §4.2.1.10), critical or not, for the name forms an endpoint id can bind to and
 * the forms a path can carry. [SPEC 10.2]
 *
 * Processed forms: dNSName, uniformResourceIdentifier, iPAddress, directoryName and the hopsafe otherName
 * (id-on-hopsafeEndpointId). Any other form (rfc822Name, other otherName types, x400Address, ediPartyName,
 * registeredID) is not processed: a constraint of such a form refuses the path when a name of that form
 * appears in a certificate it governs (RFC 5280: process the constraint or reject), and is ignored otherwise.
 * A commonName that binds an endpoint id (no endpoint-naming SAN, SPEC 10.3) is checked as the dNSName, the
 * hopsafe otherName and the URI `urn:hopsafe:endpoint:<cn>` it stands for, so CN cannot bypass a constraint.
 */
import { HopsafeError } from '../errors/index.js';
import { children, ctx, explicit, oid, parseDer, raw, stringValue, TAG, type Tlv } from '../codec/der-read.js';
import { HOPSAFE_URI_PREFIX, ID_ON_HOPSAFE_ENDPOINT_ID } from './oids.js';
import { rdnsEqual } from './name-compare.js';

export type Subtree =
  | { readonly form: 'dns'; readonly value: string }
  | { readonly form: 'uri'; readonly value: string }
  | { readonly form: 'ip'; readonly addr: Uint8Array; readonly mask: Uint8Array }
  | { readonly form: 'dn'; readonly rdns: readonly Uint8Array[] }
  | { readonly form: 'endpointId'; readonly value: string }
  /** A form hopsafe does not process; `form` names it (e.g. rfc822Name, otherName:<oid>). */
  | { readonly form: 'unsupported'; readonly kind: string };

export interface NameConstraints {
  readonly permitted: readonly Subtree[];
  readonly excluded: readonly Subtree[];
}

/** Every name of a certificate that name constraints govern. */
export interface ConstrainedNames {
  /** DER RDNs (SETs) of the subject; empty for an empty subject. */
  readonly subjectRdns: readonly Uint8Array[];
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  readonly ips: readonly Uint8Array[];
  readonly endpointIds: readonly string[];
  /** RDN lists of SAN directoryNames. */
  readonly directoryNames: readonly (readonly Uint8Array[])[];
  /** Kinds of names present that hopsafe does not process (rfc822Name — also a subject emailAddress —, otherName:<oid>, …). */
  readonly otherKinds: readonly string[];
  /** commonNames that bind an endpoint id (none when the certificate has an endpoint-naming SAN). */
  readonly bindingCommonNames: readonly string[];
}

const malformed = (m: string): never => {
  throw new HopsafeError('ERR_MALFORMED', `nameConstraints: ${m}`);
};

/** The RDNs (DER SETs) of a DER Name. */
export function rdnsOf(name: Uint8Array): Uint8Array[] {
  return children(parseDer(name, 'Name'), 'Name').map((r) => {
    if (r.tag !== TAG.SET) malformed('RDN is not a SET');
    return raw(r);
  });
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A DNS name as a list of lower-case labels, or undefined when it is not a plain hostname (wildcards excluded). */
function dnsLabels(name: string): string[] | undefined {
  if (name.length === 0 || name.length > 253) return undefined;
  const labels = name.toLowerCase().split('.');
  return labels.every((l) => LABEL.test(l)) ? labels : undefined;
}

/** [SPEC 10.2] dNSName constraint: a hostname or empty (every name); a leading period or a wildcard is malformed. */
function dnsConstraint(value: string): string {
  if (value === '') return value;
  if (!dnsLabels(value)) malformed(`invalid dNSName constraint ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** `name` is `base` or a subdomain of it (RFC 5280: zero or more labels added on the left). */
function dnsWithin(name: string, base: string): boolean {
  if (base === '') return true;
  const n = name.toLowerCase();
  return n === base || n.endsWith(`.${base}`);
}

function readSubtrees(node: Tlv, what: string): Subtree[] {
  const out: Subtree[] = [];
  const list = children(node, what, node.tag);
  if (list.length === 0) malformed(`${what} is empty`);
  for (const st of list) {
    const f = children(st, `${what} GeneralSubtree`);
    const base = f[0];
    if (!base) malformed('GeneralSubtree without a base');
    // minimum [0] DEFAULT 0 (so absent in DER), maximum [1] absent: RFC 5280 §4.2.1.10
    if (f.length !== 1) malformed('GeneralSubtree minimum/maximum are not allowed');
    out.push(readBase(base as Tlv));
  }
  return out;
}

function ia5(n: Tlv, what: string): string {
  let s = '';
  for (let i = n.start; i < n.end; i++) {
    const c = n.buf[i] as number;
    if (c < 0x20 || c > 0x7e) malformed(`${what}: non-printable IA5String`);
    s += String.fromCharCode(c);
  }
  return s;
}

function readBase(gn: Tlv): Subtree {
  switch (gn.tag) {
    case ctx(0, true): {
      const f = children(gn, 'otherName', gn.tag);
      const typeId = oid(f[0], 'otherName type');
      if (f.length !== 2) malformed('bad otherName');
      if (typeId !== ID_ON_HOPSAFE_ENDPOINT_ID) return { form: 'unsupported', kind: `otherName:${typeId}` };
      const inner = explicit(f[1] as Tlv, 'otherName value');
      if (inner.tag !== TAG.UTF8) malformed('hopsafe endpoint-id constraint is not a UTF8String');
      return { form: 'endpointId', value: stringValue(inner) as string };
    }
    case ctx(1, false):
      return { form: 'unsupported', kind: 'rfc822Name' };
    case ctx(2, false):
      return { form: 'dns', value: dnsConstraint(ia5(gn, 'dNSName')) };
    case ctx(3, true):
      return { form: 'unsupported', kind: 'x400Address' };
    case ctx(4, true):
      return { form: 'dn', rdns: rdnsOf(raw(explicit(gn, 'directoryName'))) };
    case ctx(5, true):
      return { form: 'unsupported', kind: 'ediPartyName' };
    case ctx(6, false): {
      const v = ia5(gn, 'URI').toLowerCase();
      if (v !== '' && !dnsLabels(v.startsWith('.') ? v.slice(1) : v)) malformed(`invalid URI constraint ${JSON.stringify(v)}`);
      return { form: 'uri', value: v };
    }
    case ctx(7, false): {
      const b = gn.buf.subarray(gn.start, gn.end);
      if (b.length !== 8 && b.length !== 32) malformed('iPAddress constraint is not address+mask (8 or 32 octets)');
      const addr = b.subarray(0, b.length / 2);
      const mask = b.subarray(b.length / 2);
      // the mask is a prefix: ones then zeros
      let zero = false;
      for (const m of mask)
        for (let bit = 7; bit >= 0; bit--) {
          const one = ((m >> bit) & 1) === 1;
          if (one && zero) malformed('iPAddress constraint mask is not a prefix');
          if (!one) zero = true;
        }
      return { form: 'ip', addr, mask };
    }
    case ctx(8, false):
      return { form: 'unsupported', kind: 'registeredID' };
    default:
      return malformed(`GeneralName [${gn.tag & 0x1f}] has the wrong form`);
  }
}

/** Parses the extension value. ERR_MALFORMED when neither subtree list is present, a list is empty, or a base is invalid. */
export function parseNameConstraints(value: Uint8Array): NameConstraints {
  const f = children(parseDer(value, 'nameConstraints'), 'nameConstraints');
  let permitted: Subtree[] = [];
  let excluded: Subtree[] = [];
  let i = 0;
  if (f[i]?.tag === ctx(0, true)) permitted = readSubtrees(f[i++] as Tlv, 'permittedSubtrees');
  if (f[i]?.tag === ctx(1, true)) excluded = readSubtrees(f[i++] as Tlv, 'excludedSubtrees');
  if (i !== f.length) malformed('unexpected field');
  if (permitted.length === 0 && excluded.length === 0) malformed('neither permitted nor excluded subtrees');
  return { permitted, excluded };
}

/** Host of a URI with an authority ("scheme://[userinfo@]host[:port]…"), lower-case; undefined for URNs and the like. */
function uriHost(uri: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(uri);
  const host = m?.[1];
  return host && !host.startsWith('[') ? host.toLowerCase() : undefined;
}

/** RFC 5280 URI constraint: ".example.com" = any subdomain; "example.com" = that host only. */
function uriWithin(uri: string, base: string): boolean {
  if (base === '') return true;
  const host = uriHost(uri);
  if (host === undefined) return false;
  return base.startsWith('.') ? host.endsWith(base) : host === base;
}

/** [SPEC 10.2] hopsafe endpoint-id constraint: the exact id, or with a trailing `*` every id starting with what precedes it. */
function idWithin(id: string, base: string): boolean {
  return base.endsWith('*') ? id.startsWith(base.slice(0, -1)) : id === base;
}

function ipWithin(ip: Uint8Array, addr: Uint8Array, mask: Uint8Array): boolean {
  if (ip.length !== addr.length) return false;
  for (let i = 0; i < ip.length; i++) if ((((ip[i] as number) ^ (addr[i] as number)) & (mask[i] as number)) !== 0) return false;
  return true;
}

function dnWithin(rdns: readonly Uint8Array[], base: readonly Uint8Array[]): boolean {
  return base.length <= rdns.length && rdnsEqual(rdns.slice(0, base.length), base);
}

/** A name, as one form, checked against the subtrees of that form. */
type Name =
  | { readonly form: 'dns'; readonly value: string }
  | { readonly form: 'uri'; readonly value: string }
  | { readonly form: 'ip'; readonly value: Uint8Array }
  | { readonly form: 'dn'; readonly value: readonly Uint8Array[] }
  | { readonly form: 'endpointId'; readonly value: string };

/**
 * Whether `name` is inside `st` (st.form === name.form), decided defensively for names that stand for
 * several: a wildcard dNSName `*.rest` is inside a permitted subtree only if every name it matches is,
 * and inside an excluded one if any name it matches is; a dNSName that is not a hostname is never inside
 * a permitted subtree and always inside an excluded one.
 */
function within(name: Name, st: Subtree, side: 'permitted' | 'excluded'): boolean {
  switch (name.form) {
    case 'dns': {
      const base = (st as { value: string }).value;
      const n = name.value.toLowerCase();
      if (n.startsWith('*.') && dnsLabels(n.slice(2))) {
        const rest = n.slice(2);
        // permitted: every x.rest inside; excluded: some x.rest inside
        if (side === 'permitted') return dnsWithin(rest, base);
        return dnsWithin(rest, base) || (base.endsWith(`.${rest}`) && base.split('.').length === rest.split('.').length + 1);
      }
      if (!dnsLabels(n)) return side === 'excluded'; // not a hostname: never provably inside a permitted subtree, always treated as excluded
      return dnsWithin(n, base);
    }
    case 'uri':
      return uriWithin(name.value, (st as { value: string }).value);
    case 'ip': {
      const s = st as { addr: Uint8Array; mask: Uint8Array };
      return ipWithin(name.value, s.addr, s.mask);
    }
    case 'dn':
      return dnWithin(name.value, (st as { rdns: readonly Uint8Array[] }).rdns);
    case 'endpointId':
      return idWithin(name.value, (st as { value: string }).value);
  }
}

/**
 * [SPEC 10.2] Checks the names of one certificate against one CA's constraints; returns why it violates them,
 * or undefined.
 */
export function violation(names: ConstrainedNames, nc: NameConstraints): string | undefined {
  const list: Name[] = [];
  if (names.subjectRdns.length > 0) list.push({ form: 'dn', value: names.subjectRdns });
  for (const d of names.directoryNames) list.push({ form: 'dn', value: d });
  for (const v of names.dnsNames) list.push({ form: 'dns', value: v });
  for (const v of names.uris) list.push({ form: 'uri', value: v });
  for (const v of names.ips) list.push({ form: 'ip', value: v });
  for (const v of names.endpointIds) list.push({ form: 'endpointId', value: v });
  for (const cn of names.bindingCommonNames) {
    list.push({ form: 'dns', value: cn }, { form: 'endpointId', value: cn }, { form: 'uri', value: HOPSAFE_URI_PREFIX + cn });
  }
  for (const name of list) {
    const shown = name.form === 'dn' ? 'directoryName' : name.form === 'ip' ? 'iPAddress' : JSON.stringify(name.value);
    const permitted = nc.permitted.filter((s) => s.form === name.form);
    if (permitted.length > 0 && !permitted.some((s) => within(name, s, 'permitted'))) return `${shown} is outside the permitted subtrees`;
    if (nc.excluded.some((s) => s.form === name.form && within(name, s, 'excluded'))) return `${shown} is inside an excluded subtree`;
  }
  for (const st of [...nc.permitted, ...nc.excluded])
    if (st.form === 'unsupported' && names.otherKinds.includes(st.kind))
      return `a ${st.kind} constraint governs a ${st.kind} name (form not supported)`;
  return undefined;
}
