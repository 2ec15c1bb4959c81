/**
 * Record protection. [SPEC 7.1]
 *  integrity:        header | payload | HMAC(IK, header | payload)            (tag = HashLen bytes)
 *  confidentiality:  header | AEAD-Seal(EK, nonce, payload, aad = header)     (tag = 16 bytes)
 *  nonce = IV XOR (0^4 | uint64be(seq))
 * The tag is verified before anything is released; every failure is ERR_BAD_MAC (one code, no oracle).
 */
import { HopsafeError } from '../errors/index.js';
import { equal } from '../bytes/index.js';
import { AEAD_TAG_LENGTH, type CryptoProvider } from '../crypto/provider.js';
import type { Suite } from '../crypto/suites.js';
import type { Protection } from '../codec/tokens.js';
import { encodeRecordHeader, type FrameType, type RecordHeader } from '../codec/frame.js';
import type { TrafficKeys } from './key-schedule.js';

export interface RecordContext {
  readonly provider: CryptoProvider;
  readonly suite: Suite;
  readonly protection: Protection;
}

export function tagLength(ctx: RecordContext): number {
  return ctx.protection === 'integrity' ? ctx.provider.hashLength(ctx.suite.hash) : AEAD_TAG_LENGTH;
}

/** [SPEC 7.1] */
export function nonceFor(iv: Uint8Array, seq: number): Uint8Array {
  const n = Uint8Array.from(iv);
  const hi = Math.floor(seq / 2 ** 32);
  const lo = seq >>> 0;
  n[4] = (n[4] as number) ^ (hi >>> 24);
  n[5] = (n[5] as number) ^ ((hi >>> 16) & 0xff);
  n[6] = (n[6] as number) ^ ((hi >>> 8) & 0xff);
  n[7] = (n[7] as number) ^ (hi & 0xff);
  n[8] = (n[8] as number) ^ (lo >>> 24);
  n[9] = (n[9] as number) ^ ((lo >>> 16) & 0xff);
  n[10] = (n[10] as number) ^ ((lo >>> 8) & 0xff);
  n[11] = (n[11] as number) ^ (lo & 0xff);
  return n;
}

export function sealRecord(
  ctx: RecordContext,
  keys: TrafficKeys,
  type: FrameType,
  sessionId: Uint8Array,
  epoch: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  const tl = tagLength(ctx);
  const frame = encodeRecordHeader(type, sessionId, epoch, seq, payload.length + tl);
  const hl = frame.length - payload.length - tl;
  const header = frame.subarray(0, hl);
  if (ctx.protection === 'integrity') {
    frame.set(payload, hl);
    frame.set(ctx.provider.hmac(ctx.suite.hash, keys.ik, frame.subarray(0, hl + payload.length)), hl + payload.length);
  } else {
    const sealed = ctx.provider.aeadSeal(ctx.suite.aead, keys.ek as Uint8Array, nonceFor(keys.iv as Uint8Array, seq), payload, header);
    frame.set(sealed, hl);
  }
  return frame;
}

/** Returns the payload or throws ERR_BAD_MAC. */
export function openRecord(ctx: RecordContext, keys: TrafficKeys, header: RecordHeader, frame: Uint8Array): Uint8Array {
  const tl = tagLength(ctx);
  const body = frame.length - header.length;
  if (body < tl) throw new HopsafeError('ERR_BAD_MAC', 'record authentication failed');
  if (ctx.protection === 'integrity') {
    const end = frame.length - tl;
    const mac = ctx.provider.hmac(ctx.suite.hash, keys.ik, frame.subarray(0, end));
    if (!equal(mac, frame.subarray(end))) throw new HopsafeError('ERR_BAD_MAC', 'record authentication failed');
    return frame.subarray(header.length, end); // a view: no copy of the payload
  }
  const pt = ctx.provider.aeadOpen(
    ctx.suite.aead,
    keys.ek as Uint8Array,
    nonceFor(keys.iv as Uint8Array, header.seq),
    frame.subarray(header.length),
    frame.subarray(0, header.length),
  );
  if (!pt) throw new HopsafeError('ERR_BAD_MAC', 'record authentication failed');
  return pt;
}
