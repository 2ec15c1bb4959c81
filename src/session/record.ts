/**
 * Record protection. [SPEC 7.1]
 *  integrity:        header | payload | HMAC(IK, header | payload)            (tag = HashLen bytes)
 *  confidentiality:  header | AEAD-Seal(EK, nonce, payload, aad = header)     (tag = 16 bytes)
 *  nonce = IV XOR (0^4 | uint64be(seq))
 * The tag is verified before anything is released; every failure is ERR_BAD_MAC (one code, no oracle).
 */
import { HopsafeError } from '../errors/index.js';
import { equal } from '../bytes/index.js';
import { AEAD_KEY_LENGTH, AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH, type CryptoProvider } from '../crypto/provider.js';
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

/** [SPEC 7.1] The nonce of record `seq`: a fresh array (the IV, read from `iv` at `off`, is not modified). */
export function nonceFor(iv: Uint8Array, seq: number, off = 0): Uint8Array {
  // Uint8Array's slice (a copy) even when `iv` is a Buffer, whose slice is a view: the IV must never be written.
  const n = Uint8Array.prototype.slice.call(iv, off, off + AEAD_NONCE_LENGTH);
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

/**
 * Where one direction's keys are: `key` is IK (integrity) or EK (confidentiality); the IV (confidentiality) is
 * read from `iv` at `ivOff`.
 */
interface KeyRef {
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
  readonly ivOff: number;
}

const NO_IV = new Uint8Array(0);

function refOf(ctx: RecordContext, keys: TrafficKeys): KeyRef {
  return ctx.protection === 'integrity'
    ? { key: keys.ik, iv: NO_IV, ivOff: 0 }
    : { key: keys.ek as Uint8Array, iv: keys.iv as Uint8Array, ivOff: 0 };
}

/** The keys stored in `block` at `off` with the layout of `keyLayout` (IK | EK | IV). */
function refIn(ctx: RecordContext, block: Uint8Array, off: number): KeyRef {
  const hl = ctx.provider.hashLength(ctx.suite.hash);
  if (ctx.protection === 'integrity') return { key: block.subarray(off, off + hl), iv: NO_IV, ivOff: 0 };
  const nk = AEAD_KEY_LENGTH[ctx.suite.aead];
  return { key: block.subarray(off + hl, off + hl + nk), iv: block, ivOff: off + hl + nk };
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
  return seal(ctx, refOf(ctx, keys), type, sessionId, epoch, seq, payload);
}

/** `sealRecord` with the keys read from `block` at `off` (layout of `keyLayout`). */
export function sealRecordIn(
  ctx: RecordContext,
  block: Uint8Array,
  off: number,
  type: FrameType,
  sessionId: Uint8Array,
  epoch: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  return seal(ctx, refIn(ctx, block, off), type, sessionId, epoch, seq, payload);
}

function seal(
  ctx: RecordContext,
  k: KeyRef,
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
    frame.set(ctx.provider.hmac(ctx.suite.hash, k.key, frame.subarray(0, hl + payload.length)), hl + payload.length);
  } else {
    const nonce = nonceFor(k.iv, seq, k.ivOff);
    const p = ctx.provider;
    // Sealed in place in the frame when the provider can (no intermediate ciphertext array).
    if (p.aeadSealInto) p.aeadSealInto(ctx.suite.aead, k.key, nonce, payload, header, frame, hl);
    else frame.set(p.aeadSeal(ctx.suite.aead, k.key, nonce, payload, header), hl);
  }
  return frame;
}

/** Returns the payload or throws ERR_BAD_MAC. */
export function openRecord(ctx: RecordContext, keys: TrafficKeys, header: RecordHeader, frame: Uint8Array): Uint8Array {
  return open(ctx, refOf(ctx, keys), header, frame);
}

/** `openRecord` with the keys read from `block` at `off` (layout of `keyLayout`). */
export function openRecordIn(ctx: RecordContext, block: Uint8Array, off: number, header: RecordHeader, frame: Uint8Array): Uint8Array {
  return open(ctx, refIn(ctx, block, off), header, frame);
}

function open(ctx: RecordContext, k: KeyRef, header: RecordHeader, frame: Uint8Array): Uint8Array {
  const tl = tagLength(ctx);
  const body = frame.length - header.length;
  if (body < tl) throw new HopsafeError('ERR_BAD_MAC', 'record authentication failed');
  if (ctx.protection === 'integrity') {
    const end = frame.length - tl;
    const mac = ctx.provider.hmac(ctx.suite.hash, k.key, frame.subarray(0, end));
    if (!equal(mac, frame.subarray(end))) throw new HopsafeError('ERR_BAD_MAC', 'record authentication failed');
    return frame.subarray(header.length, end); // a view: no copy of the payload
  }
  const pt = ctx.provider.aeadOpen(
    ctx.suite.aead,
    k.key,
    nonceFor(k.iv, header.seq, k.ivOff),
    frame.subarray(header.length),
    frame.subarray(0, header.length),
  );
  if (!pt) throw new HopsafeError('ERR_BAD_MAC', 'record authentication failed');
  return pt;
}
