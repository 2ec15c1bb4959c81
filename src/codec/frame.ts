/**
 * Frame layout shared by every message on the wire. [SPEC 3]
 * byte 0 = version (high nibble, 1) | frame type (low nibble).
 */
import { HopsafeError } from '../errors/index.js';
import type { FramePool } from '../bytes/frame-pool.js';
import { readVarint, varintLength, writeVarint } from './varint.js';

export const PROTOCOL_VERSION = 1;

/** [SPEC 3.1] */
export const FrameType = {
  HS_INIT: 1,
  HS_RESP: 2,
  DATA: 3,
  KEY_UPDATE: 4,
  ALERT: 5,
  HS_ALERT: 6,
  ACK: 7,
  /** [SPEC 3.7] Several record frames in one transport message (codec/batch.ts). */
  BATCH: 8,
  /** [SPEC 13.3] A group message: sealed once under a group epoch's keys, published on a group address (codec/group.ts). */
  GROUP_DATA: 9,
  /** [SPEC 13.4] Protected record of a pairwise session, payload = DER GroupControl (key distribution, join, leave). */
  GROUP_CTRL: 10,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const SESSION_ID_LENGTH = 8;
/** [SPEC 3.3] Largest sequence number a sender may use in one epoch; it must update keys before. */
export const MAX_SEQ = 2 ** 48 - 1;
export const MAX_EPOCH = 0xffff;

export function frameByte(type: FrameType): number {
  return (PROTOCOL_VERSION << 4) | type;
}

/** [SPEC 3.1] Returns the frame type; throws ERR_VERSION / ERR_MALFORMED. */
export function frameType(bytes: Uint8Array): FrameType {
  const b = bytes[0];
  if (b === undefined) throw new HopsafeError('ERR_MALFORMED', 'empty frame');
  if (b >>> 4 !== PROTOCOL_VERSION) throw new HopsafeError('ERR_VERSION', `unsupported version ${b >>> 4}`);
  const t = b & 0x0f;
  if (t < FrameType.HS_INIT || t > FrameType.GROUP_CTRL) throw new HopsafeError('ERR_MALFORMED', `unknown frame type ${t}`);
  return t as FrameType;
}

export interface RecordHeader {
  readonly type: FrameType;
  readonly sessionId: Uint8Array;
  readonly epoch: number;
  readonly seq: number;
  /** Header length in bytes = offset of the body. */
  readonly length: number;
}

/** [SPEC 3.3] type(1) | session id(8) | epoch(2, big-endian) | seq(varint) */
/** `sessionId` is read at `sidOff` (SESSION_ID_LENGTH bytes): a session passes its key buffer, where its id lives. */
export function encodeRecordHeader(
  type: FrameType,
  sessionId: Uint8Array,
  epoch: number,
  seq: number,
  bodyLength: number,
  sidOff = 0,
  pool?: FramePool,
): Uint8Array {
  const hl = 1 + SESSION_ID_LENGTH + 2 + varintLength(seq);
  // Not zero-filled: the caller writes every body byte (payload and tag); the header is written here. A large frame
  // comes from `pool` when there is one (its memory is reused once the transport copied it).
  const out = pool?.take(hl + bodyLength) ?? uninitialized(hl + bodyLength);
  out[0] = frameByte(type);
  if (sidOff === 0 && sessionId.length === SESSION_ID_LENGTH) out.set(sessionId, 1);
  else if (sessionId.length - sidOff < SESSION_ID_LENGTH) throw new HopsafeError('ERR_INPUT', 'session id length');
  else for (let i = 0; i < SESSION_ID_LENGTH; i++) out[1 + i] = sessionId[sidOff + i] as number;
  out[9] = epoch >>> 8;
  out[10] = epoch & 0xff;
  writeVarint(out, 11, seq);
  return out;
}

/** `n` bytes of fresh memory, not zero-filled (for a frame whose every byte the caller writes). */
export function uninitialized(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function recordHeaderLength(seq: number): number {
  return 1 + SESSION_ID_LENGTH + 2 + varintLength(seq);
}

/** [SPEC 3.1] The frame types carried as protected records (header of SPEC 3.3), one bit per type (no Set lookup per frame). */
const RECORD_TYPES =
  (1 << FrameType.DATA) | (1 << FrameType.KEY_UPDATE) | (1 << FrameType.ALERT) | (1 << FrameType.ACK) | (1 << FrameType.GROUP_CTRL);
const isRecordType = (t: number): boolean => ((RECORD_TYPES >>> t) & 1) === 1;

/** True when byte 0 says this version's protected record (no other check). */
export function isRecordFrame(bytes: Uint8Array): boolean {
  const b = bytes[0];
  return b !== undefined && b >>> 4 === PROTOCOL_VERSION && isRecordType(b & 0x0f);
}

export function decodeRecordHeader(bytes: Uint8Array): RecordHeader {
  const type = frameType(bytes);
  if (!isRecordType(type)) throw new HopsafeError('ERR_MALFORMED', 'not a record');
  if (bytes.length < 12) throw new HopsafeError('ERR_MALFORMED', 'record too short');
  const sessionId = bytes.subarray(1, 9);
  const epoch = ((bytes[9] as number) << 8) | (bytes[10] as number);
  // The sequence number's varint read in place when it has 1, 2 or 4 bytes (readVarint returns a [value, length]
  // array per call); the same checks as readVarint: enough bytes, minimal encoding.
  const first = bytes[11] as number;
  const n = 1 << (first >>> 6);
  let seq: number;
  if (n === 8) {
    const v = readVarint(bytes, 11);
    if (!v) throw new HopsafeError('ERR_MALFORMED', 'record too short');
    seq = v[0];
  } else {
    if (11 + n > bytes.length) throw new HopsafeError('ERR_MALFORMED', 'record too short');
    seq = first & 0x3f;
    for (let i = 12; i < 11 + n; i++) seq = seq * 256 + (bytes[i] as number);
    if (varintLength(seq) !== n) throw new HopsafeError('ERR_MALFORMED', 'non-minimal varint');
  }
  if (seq > MAX_SEQ) throw new HopsafeError('ERR_MALFORMED', 'sequence number out of range');
  return { type, sessionId, epoch, seq, length: 11 + n };
}

/** [SPEC 3.4] HS_RESP = byte0 | varint(len(token)) | token | optional piggybacked record */
export function encodeHandshakeResponse(token: Uint8Array, record?: Uint8Array): Uint8Array {
  const n = varintLength(token.length);
  const out = new Uint8Array(1 + n + token.length + (record?.length ?? 0));
  out[0] = frameByte(FrameType.HS_RESP);
  writeVarint(out, 1, token.length);
  out.set(token, 1 + n);
  if (record) out.set(record, 1 + n + token.length);
  return out;
}

export function decodeHandshakeResponse(bytes: Uint8Array): { token: Uint8Array; record?: Uint8Array } {
  const v = readVarint(bytes, 1);
  if (!v) throw new HopsafeError('ERR_MALFORMED', 'handshake response too short');
  const [len, n] = v;
  const start = 1 + n;
  if (start + len > bytes.length) throw new HopsafeError('ERR_MALFORMED', 'handshake response truncated');
  const token = bytes.subarray(start, start + len);
  const rest = bytes.subarray(start + len);
  return rest.length > 0 ? { token, record: rest } : { token };
}

/** [SPEC 3.5] HS_INIT = byte0 | token */
export function encodeHandshakeInit(token: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + token.length);
  out[0] = frameByte(FrameType.HS_INIT);
  out.set(token, 1);
  return out;
}

/** [SPEC 3.6] HS_ALERT = byte0 | session id(8) | ASCII error code (≤ 32 bytes). Unauthenticated: a hint only. */
export function encodeHandshakeAlert(sessionId: Uint8Array, code: string): Uint8Array {
  const c = new TextEncoder().encode(code.slice(0, 32));
  const out = new Uint8Array(9 + c.length);
  out[0] = frameByte(FrameType.HS_ALERT);
  out.set(sessionId, 1);
  out.set(c, 9);
  return out;
}

export function decodeHandshakeAlert(bytes: Uint8Array): { sessionId: Uint8Array; code: string } {
  if (bytes.length < 10 || bytes.length > 9 + 32) throw new HopsafeError('ERR_MALFORMED', 'bad handshake alert');
  const code = String.fromCharCode(...bytes.subarray(9));
  if (!/^ERR_[A-Z_]+$/.test(code)) throw new HopsafeError('ERR_MALFORMED', 'bad handshake alert');
  return { sessionId: bytes.subarray(1, 9), code };
}
