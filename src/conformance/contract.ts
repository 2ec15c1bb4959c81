/**
 * The contract between the conformance kit and an implementation under test (IUT): control messages, ids and the
 * files the kit writes. [SPEC Annex C]
 */
import { fromUtf8, utf8 } from '../bytes/index.js';

/** [Annex C.2] The 22 ASCII bytes that make an application payload a control message. */
export const CONTROL_PREFIX = 'hopsafe-conformance/1:';
const PREFIX_BYTES = utf8(CONTROL_PREFIX);

/** [Annex C.1] Every id the kit talks from begins with this. */
export const KIT_ID_PREFIX = 'conf-';
export const DEFAULT_BROKER_PORT = 18830;
export const TOPIC_PREFIX = 'hopsafe';
/** [Annex C.2] X25519_AES128GCM_SHA256: every IUT accepts and offers it; the other suites are optional (SPEC 4.1). */
export const MANDATORY_SUITE = 0x0101;

export type ControlMessage =
  | { readonly op: 'rekey' }
  | { readonly op: 'open'; readonly peer: string; readonly data: string }
  /** [Annex C.2] Join group `name` of the sender (SPEC 13.7). */
  | { readonly op: 'join'; readonly name: string };

export function encodeControl(c: ControlMessage): Uint8Array {
  return utf8(CONTROL_PREFIX + JSON.stringify(c));
}

/** The control message in `payload`, or undefined when it is none (or not one this version knows: echoed only). */
export function decodeControl(payload: Uint8Array): ControlMessage | undefined {
  if (payload.length < PREFIX_BYTES.length) return undefined;
  for (let i = 0; i < PREFIX_BYTES.length; i++) if (payload[i] !== PREFIX_BYTES[i]) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(fromUtf8(payload.subarray(PREFIX_BYTES.length)));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.op === 'rekey') return { op: 'rekey' };
  if (o.op === 'open' && typeof o.peer === 'string' && typeof o.data === 'string') return { op: 'open', peer: o.peer, data: o.data };
  if (o.op === 'join' && typeof o.name === 'string') return { op: 'join', name: o.name };
  return undefined;
}

/** [Annex C.1] File names inside the PKI directory. */
export const PKI_FILES = {
  root: 'ca.pem',
  /** A vendor's CA key (read, never written): with it the kit issues under the vendor's `ca.pem`. */
  caKey: 'ca.key',
  crl: 'crl.pem',
  chain: (iut: string): string => `${iut}.pem`,
  key: (iut: string): string => `${iut}.key`,
  info: 'kit.json',
} as const;
