/**
 * Name comparison (RFC 5280 §7.1, simplified RFC 4518 string preparation). [SPEC 10.2]
 *
 * Two Names match when they have the same RDNs in the same order, each RDN the same set of
 * (type, value) pairs. Values of the DirectoryString types (UTF8String, PrintableString, TeletexString,
 * BMPString, UniversalString) and IA5String compare after preparation: Unicode NFKC, case folded
 * (toLowerCase), leading/trailing whitespace removed and inner runs of whitespace collapsed to one space —
 * so a PrintableString and a UTF8String of the same text match, and so do case variants. Other values
 * compare by their exact encoding. Matching a name never replaces verifying a signature.
 */
import { toHex } from '../bytes/index.js';
import { children, oid, parseDer, raw, stringValue, TAG, type Tlv } from '../codec/der-read.js';

const STRING_TAGS: ReadonlySet<number> = new Set([
  TAG.UTF8,
  TAG.PRINTABLE,
  TAG.TELETEX,
  TAG.BMP,
  TAG.UNIVERSAL_STRING,
  TAG.IA5,
  TAG.VISIBLE,
]);

const PLAIN = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

function prepare(s: string): string {
  // fast path: printable ASCII with single inner spaces is its own NFKC form
  const t = PLAIN.test(s) ? s : s.normalize('NFKC').trim().replace(/\s+/gu, ' ');
  return t.toLowerCase();
}

/** The canonical text of one RDN (a SET of AttributeTypeAndValue). */
export function canonicalRdn(rdn: Tlv, what: string): string {
  const atvs = children(rdn, what, TAG.SET).map((atv) => {
    const f = children(atv, what);
    const [t, v] = f as [Tlv, Tlv];
    const value = STRING_TAGS.has(v.tag) ? stringValue(v) : undefined;
    // U+0000 cannot occur in a prepared value's OID and separates type from value; values are JSON-quoted
    return `${oid(t, what)}\u0000${value === undefined ? `#${toHex(raw(v))}` : JSON.stringify(prepare(value))}`;
  });
  return atvs.length === 1 ? (atvs[0] as string) : atvs.sort().join('\u0001');
}

/** The canonical text of a Name node: equal texts ⇔ the Names match under RFC 5280 §7.1 (as above). */
export function canonicalName(name: Tlv, what: string): string {
  return children(name, what)
    .map((r) => canonicalRdn(r, what))
    .join('\u0002');
}

/** Whether two lists of DER RDNs match, RDN by RDN. */
export function rdnsEqual(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (canonicalRdn(parseDer(a[i] as Uint8Array, 'RDN'), 'RDN') !== canonicalRdn(parseDer(b[i] as Uint8Array, 'RDN'), 'RDN')) return false;
  return true;
}
