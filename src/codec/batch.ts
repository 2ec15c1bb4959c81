/**
 * [SPEC 3.7] BATCH frame: several complete record frames to the same peer in one transport message.
 * `byte0 | (varint(len(record)) | record){2..64}`. The container is not protected (each record is); a
 * receiver handles the records as if they had arrived one after the other.
 */
import type { FramePool } from '../bytes/frame-pool.js';
import { HopsafeError } from '../errors/index.js';
import { FrameType, frameByte, isRecordFrame, uninitialized } from './frame.js';
import { readVarint, varintLength, writeVarint } from './varint.js';

/** [SPEC 3.7] Records in one BATCH frame: at least 2 (one record travels alone), at most 64. */
export const BATCH_MIN_RECORDS = 2;
export const BATCH_MAX_RECORDS = 64;
/** No record is shorter than the shortest record header (SPEC 3.3). */
const MIN_RECORD_LENGTH = 12;

/** Bytes a BATCH frame adds for one record of `length` bytes (its length prefix). */
export function batchEntryOverhead(length: number): number {
  return varintLength(length);
}

/** [SPEC 3.7] Encodes 2..64 record frames as one BATCH frame. */
export function encodeBatch(records: readonly Uint8Array[], pool?: FramePool): Uint8Array {
  if (records.length < BATCH_MIN_RECORDS || records.length > BATCH_MAX_RECORDS)
    throw new HopsafeError('ERR_INPUT', `a batch holds ${BATCH_MIN_RECORDS}..${BATCH_MAX_RECORDS} records`);
  let size = 1;
  for (const r of records) {
    if (!isRecordFrame(r) || r.length < MIN_RECORD_LENGTH) throw new HopsafeError('ERR_INPUT', 'a batch holds record frames only');
    size += varintLength(r.length) + r.length;
  }
  // A large batch comes from `pool` when there is one (every byte is written below).
  const out = pool?.take(size) ?? uninitialized(size);
  out[0] = frameByte(FrameType.BATCH);
  let off = 1;
  for (const r of records) {
    off = writeVarint(out, off, r.length);
    out.set(r, off);
    off += r.length;
  }
  return out;
}

/**
 * [SPEC 3.7] Splits a BATCH frame into its records (views into `bytes`, in order). Strict: 2..64 entries,
 * each a complete record frame of this version (no nested batch, no handshake frame), nothing left over;
 * otherwise ERR_MALFORMED and no record at all.
 */
export function decodeBatch(bytes: Uint8Array): Uint8Array[] {
  if (bytes[0] !== frameByte(FrameType.BATCH)) throw new HopsafeError('ERR_MALFORMED', 'not a batch');
  const out: Uint8Array[] = [];
  let off = 1;
  while (off < bytes.length) {
    if (out.length === BATCH_MAX_RECORDS) throw new HopsafeError('ERR_MALFORMED', `batch of more than ${BATCH_MAX_RECORDS} records`);
    const v = readVarint(bytes, off);
    if (!v) throw new HopsafeError('ERR_MALFORMED', 'batch truncated');
    const [len, n] = v;
    const start = off + n;
    if (len < MIN_RECORD_LENGTH || len > bytes.length - start) throw new HopsafeError('ERR_MALFORMED', 'batch entry length out of range');
    const record = bytes.subarray(start, start + len);
    if (!isRecordFrame(record)) throw new HopsafeError('ERR_MALFORMED', 'batch entry is not a record');
    out.push(record);
    off = start + len;
  }
  if (out.length < BATCH_MIN_RECORDS) throw new HopsafeError('ERR_MALFORMED', `batch of fewer than ${BATCH_MIN_RECORDS} records`);
  return out;
}
