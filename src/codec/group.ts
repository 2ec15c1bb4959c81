/**
 * Group messages: the GROUP_DATA frame header and the GroupControl messages carried inside GROUP_CTRL records of a
 * pairwise session (key distribution, join, leave, refusal). The ASN.1 module is schemas/hopsafe.asn1. [SPEC 13]
 */
import { HopsafeError } from '../errors/index.js';
import { equal, utf8 } from '../bytes/index.js';
import * as der from './tlv.js';
import { FrameType, frameByte, MAX_SEQ, PROTOCOL_VERSION } from './frame.js';
import { readVarint, varintLength, writeVarint } from './varint.js';
import { TOKEN_VERSION, type Protection } from './tokens.js';

/** [SPEC 13.2] Group ids are the first 16 bytes of a SHA-256. */
export const GROUP_ID_LENGTH = 16;
/** [SPEC 13.3] byte 0, group id, epoch, a 1-byte sequence number. */
export const MIN_GROUP_HEADER = 1 + GROUP_ID_LENGTH + 2 + 1;
/** [SPEC 13.1] Group names: 1–128 characters, no control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the pattern excludes exactly the control characters
export const GROUP_NAME_PATTERN = /^[^\u0000-\u001f\u007f]{1,128}$/;
/** [SPEC 13.4] Largest GroupControl (a GroupKey with a 16 KiB certificate). */
export const MAX_GROUP_CONTROL = 20 * 1024;
/** [SPEC 13.3] Largest publisher signature carried (ECDSA P-384 DER is ≤ 104 bytes; Ed25519 64). */
export const MAX_GROUP_SIGNATURE = 1024;

export type SourceAuth = 'signature' | 'none';

/** [SPEC 13.1] */
export function assertGroupName(name: unknown): string {
  if (typeof name !== 'string' || !GROUP_NAME_PATTERN.test(name))
    throw new HopsafeError('ERR_INPUT', 'group name must be 1-128 characters without control characters');
  return name;
}

/** [SPEC 13.2] The group id input: "hopsafe/1 group id" ‖ 0x00 ‖ publisher id ‖ 0x00 ‖ name (hashed with SHA-256 by the caller). */
export function groupIdInput(publisherId: string, name: string): Uint8Array {
  const a = utf8('hopsafe/1 group id');
  const b = utf8(publisherId);
  const c = utf8(name);
  const out = new Uint8Array(a.length + 1 + b.length + 1 + c.length);
  out.set(a, 0);
  out.set(b, a.length + 1);
  out.set(c, a.length + 2 + b.length);
  return out;
}

export interface GroupHeader {
  readonly groupId: Uint8Array;
  readonly epoch: number;
  readonly seq: number;
  /** Header length = offset of the protected body. */
  readonly length: number;
}

/** [SPEC 13.3] byte0 | group id (16) | epoch (uint16 BE) | seq (varint); `bodyLength` bytes follow, not zero-filled. */
export function encodeGroupHeader(groupId: Uint8Array, epoch: number, seq: number, bodyLength: number): Uint8Array {
  if (groupId.length !== GROUP_ID_LENGTH) throw new HopsafeError('ERR_INPUT', 'group id length');
  const hl = 1 + GROUP_ID_LENGTH + 2 + varintLength(seq);
  const out = new Uint8Array(hl + bodyLength);
  out[0] = frameByte(FrameType.GROUP_DATA);
  out.set(groupId, 1);
  out[17] = epoch >>> 8;
  out[18] = epoch & 0xff;
  writeVarint(out, 19, seq);
  return out;
}

/** True when byte 0 says GROUP_DATA of this version (no other check). */
export function isGroupFrame(bytes: Uint8Array): boolean {
  return bytes[0] === frameByte(FrameType.GROUP_DATA);
}

/** [SPEC 13.3, 13.6 step 1] Throws ERR_VERSION / ERR_MALFORMED. */
export function decodeGroupHeader(bytes: Uint8Array): GroupHeader {
  const b = bytes[0];
  if (b === undefined) throw new HopsafeError('ERR_MALFORMED', 'empty frame');
  if (b >>> 4 !== PROTOCOL_VERSION) throw new HopsafeError('ERR_VERSION', `unsupported version ${b >>> 4}`);
  if ((b & 0x0f) !== FrameType.GROUP_DATA) throw new HopsafeError('ERR_MALFORMED', 'not a group frame');
  if (bytes.length < MIN_GROUP_HEADER) throw new HopsafeError('ERR_MALFORMED', 'group frame too short');
  const v = readVarint(bytes, 19);
  if (!v) throw new HopsafeError('ERR_MALFORMED', 'group frame too short');
  const [seq, n] = v;
  if (seq > MAX_SEQ) throw new HopsafeError('ERR_MALFORMED', 'sequence number out of range');
  return { groupId: bytes.subarray(1, 17), epoch: ((bytes[17] as number) << 8) | (bytes[18] as number), seq, length: 19 + n };
}

// ------------------------------------------------------------------ GroupControl (DER)

/** [SPEC 13.4] The key of one epoch, as the publisher hands it to one member. */
export interface GroupKey {
  readonly groupId: Uint8Array;
  readonly epoch: number;
  /** Suite id (SPEC 4.1): its hash and AEAD protect the group's frames. */
  readonly suite: number;
  readonly protection: Protection;
  readonly sourceAuth: SourceAuth;
  /** HashLen random bytes, fresh per epoch. */
  readonly epochSecret: Uint8Array;
  /** Frames the publisher sealed under epoch − 1: members accept that epoch only below this (0 when none). */
  readonly previousEnd: number;
  /** The publisher's identity certificate (DER leaf), present iff sourceAuth = signature. */
  readonly signer?: Uint8Array;
}

export type GroupControl =
  | { readonly kind: 'key'; readonly name: string; readonly key: GroupKey }
  | { readonly kind: 'join'; readonly name: string }
  | { readonly kind: 'leave'; readonly name: string }
  | { readonly kind: 'removed'; readonly name: string }
  | { readonly kind: 'refused'; readonly name: string; readonly code: string };

const KINDS = ['key', 'join', 'leave', 'refused', 'removed'] as const;
const PROTECTIONS = ['integrity', 'confidentiality'] as const;
const SOURCE_AUTHS = ['none', 'signature'] as const;

function keyNode(k: GroupKey): Uint8Array {
  const f = [
    der.oct(k.groupId),
    der.int(k.epoch),
    der.int(k.suite),
    der.enm(PROTECTIONS.indexOf(k.protection)),
    der.enm(SOURCE_AUTHS.indexOf(k.sourceAuth)),
    der.oct(k.epochSecret),
    der.int(k.previousEnd),
  ];
  if (k.signer) f.push(der.oct(k.signer));
  return der.seq(f);
}

/** [SPEC 13.4] Canonical DER of a GroupControl. */
export function encodeGroupControl(c: GroupControl): Uint8Array {
  const f = [der.int(TOKEN_VERSION), der.enm(KINDS.indexOf(c.kind)), der.str(assertGroupName(c.name))];
  if (c.kind === 'key') f.push(keyNode(c.key));
  if (c.kind === 'refused') f.push(der.str(c.code));
  return der.seq(f);
}

function parseKey(t: der.Tlv | undefined): GroupKey {
  const f = der.children(t, 'GroupKey', 7, 8);
  const sourceAuth = SOURCE_AUTHS[der.enumerated(f[4], 'sourceAuth', 1)] as SourceAuth;
  const k = {
    groupId: der.octets(f[0], 'groupId', GROUP_ID_LENGTH, GROUP_ID_LENGTH),
    epoch: der.integer(f[1], 'epoch', 0, 0xffff),
    suite: der.integer(f[2], 'suite', 0, 0xffff),
    protection: PROTECTIONS[der.enumerated(f[3], 'protection', 1)] as Protection,
    sourceAuth,
    epochSecret: der.octets(f[5], 'epochSecret', 32, 64),
    previousEnd: der.integer(f[6], 'previousEnd', 0, MAX_SEQ + 1),
  };
  const signer = f[7] ? der.octets(f[7], 'signer', 1, 16 * 1024) : undefined;
  if ((sourceAuth === 'signature') !== (signer !== undefined))
    throw new HopsafeError('ERR_MALFORMED', 'GroupKey signer present iff sourceAuth = signature');
  return signer ? { ...k, signer } : k;
}

/** [SPEC 13.4] Strict decoder: anything but the canonical DER of a GroupControl is ERR_MALFORMED (ERR_VERSION, ERR_TOO_LARGE). */
export function decodeGroupControl(bytes: Uint8Array): GroupControl {
  const f = der.children(der.decode(bytes, MAX_GROUP_CONTROL, 'GroupControl'), 'GroupControl', 3, 4);
  const version = der.integer(f[0], 'version', 0, 255);
  if (version !== TOKEN_VERSION) throw new HopsafeError('ERR_VERSION', `GroupControl version ${version}`);
  const kind = KINDS[der.enumerated(f[1], 'kind', 4)] as GroupControl['kind'];
  const name = der.utf8(f[2], 'name', 512);
  if (!GROUP_NAME_PATTERN.test(name)) throw new HopsafeError('ERR_MALFORMED', 'group name');
  let c: GroupControl;
  if (kind === 'key') c = { kind, name, key: parseKey(f[3]) };
  else if (kind === 'refused') {
    const code = der.utf8(f[3], 'code', 32);
    if (!/^ERR_[A-Z_]+$/.test(code)) throw new HopsafeError('ERR_MALFORMED', 'refusal code');
    c = { kind, name, code };
  } else {
    if (f.length !== 3) throw new HopsafeError('ERR_MALFORMED', `GroupControl ${kind} has no fourth field`);
    c = { kind, name };
  }
  if (!equal(encodeGroupControl(c), bytes)) throw new HopsafeError('ERR_MALFORMED', 'GroupControl is not canonical DER');
  return c;
}
