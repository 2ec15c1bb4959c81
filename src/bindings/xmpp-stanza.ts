/**
 * XMPP mapping of hopsafe frames (pure functions, no I/O). [SPEC 8.4]
 *
 * - Endpoint id ↔ JID: by default endpoint `id` is the bare JID `{id}@{domain}` (id = localpart). XMPP
 *   localparts are case-insensitive (the server lowercases them), so with this mapping ids must not contain
 *   upper-case letters; other mappings are given with `jidFor`/`idFor`.
 * - A frame is `<message type="normal" to="{peer bare JID}"><frame xmlns="urn:hopsafe:frame:1">{base64}</frame></message>`,
 *   base64 per RFC 4648 §4 with padding, no line breaks.
 */
import { HopsafeError } from '../errors/index.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { ENDPOINT_ID_PATTERN } from '../transport/transport.js';

/** Namespace of the frame element. [SPEC 8.4] */
export const FRAME_NS = 'urn:hopsafe:frame:1';
/** Element name of the frame. [SPEC 8.4] */
export const FRAME_ELEMENT = 'frame';

/** Prosody's default `c2s_stanza_size_limit` (256 KiB). */
export const PROSODY_DEFAULT_STANZA_LIMIT = 256 * 1024;
/** Room left for the `<message>` envelope (JIDs up to ~1 KiB domain, attributes, the frame element). */
export const XMPP_ENVELOPE_ALLOWANCE = 2048;

/** Largest frame whose base64 text plus the envelope fits in a stanza of `stanzaLimit` bytes. [SPEC 8.4] */
export function maxFrameSizeForStanzaLimit(stanzaLimit: number, envelope = XMPP_ENVELOPE_ALLOWANCE): number {
  return Math.floor((stanzaLimit - envelope) / 4) * 3;
}

/** Default XMPP maxFrameSize: 195,072 bytes, sized for Prosody's default 256 KiB stanza limit. [SPEC 8.4] */
export const XMPP_DEFAULT_MAX_FRAME_SIZE = maxFrameSizeForStanzaLimit(PROSODY_DEFAULT_STANZA_LIMIT);

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function encodeFrameText(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * The number of bytes the base64 text held by `children` (an element's text children, in order) decodes to,
 * computed from the text length without concatenating or decoding it (for invalid text: an upper bound). [SPEC 8.9]
 */
export function decodedLengthOfText(children: ReadonlyArray<unknown>): number {
  let length = 0;
  let tail = ''; // the last two characters of the text (the padding may be split between text nodes)
  for (const c of children) {
    if (typeof c !== 'string') continue;
    length += c.length;
    tail = c.length >= 2 ? c.slice(-2) : (tail + c).slice(-2);
  }
  const padding = tail === '==' ? 2 : tail.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.ceil(length / 4) * 3 - padding);
}

/** Strict base64 decode (canonical, padded, no whitespace); undefined when not valid. [SPEC 8.4] */
export function decodeFrameText(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const buf = Buffer.from(text, 'base64');
  if (buf.toString('base64') !== text) return undefined; // non-zero pad bits
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** [SPEC 8.4] Ids usable with the default JID mapping: endpoint ids without upper-case letters. */
export function assertXmppId(id: unknown, label = 'endpoint id'): string {
  const s = assertEndpointId(id, label);
  if (s !== s.toLowerCase())
    throw new HopsafeError(
      'ERR_INVALID_ID',
      `${label} ${JSON.stringify(s)}: XMPP localparts are case-insensitive; use lower-case ids (or a jidFor/idFor mapping)`,
    );
  return s;
}

/** Default mapping: id → bare JID `{id}@{domain}`. [SPEC 8.4] */
export function defaultJidFor(id: string, domain: string): string {
  return `${assertXmppId(id)}@${domain}`;
}

/** Splits a JID `local@domain/resource` into its parts (no stringprep; the server already normalised it). */
export function splitJid(jid: string): { local: string; domain: string; resource: string } {
  const slash = jid.indexOf('/');
  const bare = slash < 0 ? jid : jid.slice(0, slash);
  const resource = slash < 0 ? '' : jid.slice(slash + 1);
  const at = bare.indexOf('@');
  return at < 0 ? { local: '', domain: bare, resource } : { local: bare.slice(0, at), domain: bare.slice(at + 1), resource };
}

/** Default inverse mapping: sender JID → endpoint id, or undefined when the domain differs or the localpart is no valid id. [SPEC 8.4] */
export function defaultIdFor(jid: string, domain: string): string | undefined {
  const j = splitJid(jid);
  if (j.domain.toLowerCase() !== domain.toLowerCase()) return undefined;
  return ENDPOINT_ID_PATTERN.test(j.local) ? j.local : undefined;
}

/** True for `xmpp://127.x.x.x`, `[::1]` or `localhost` services (PLAIN there exposes the password only to local root). */
export function isLoopbackService(service: string): boolean {
  let host: string;
  try {
    host = new URL(service.includes('://') ? service : `xmpp://${service}`).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
