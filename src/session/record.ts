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
import type { FramePool } from '../bytes/frame-pool.js';

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
 * The nonce of the record being sealed or opened, written in place: one shared array instead of one per record.
 * Providers are synchronous and use the nonce only during the call (node copies it into the cipher), and nothing
 * else runs in between. Never handed out beyond the provider call.
 */
const scratchNonce = new Uint8Array(AEAD_NONCE_LENGTH);

function nonceInto(iv: Uint8Array, seq: number, off: number): Uint8Array {
  const n = scratchNonce;
  const hi = Math.floor(seq / 2 ** 32);
  const lo = seq >>> 0;
  for (let i = 0; i < 4; i++) n[i] = iv[off + i] as number;
  n[4] = (iv[off + 4] as number) ^ (hi >>> 24);
  n[5] = (iv[off + 5] as number) ^ ((hi >>> 16) & 0xff);
  n[6] = (iv[off + 6] as number) ^ ((hi >>> 8) & 0xff);
  n[7] = (iv[off + 7] as number) ^ (hi & 0xff);
  n[8] = (iv[off + 8] as number) ^ (lo >>> 24);
  n[9] = (iv[off + 9] as number) ^ ((lo >>> 16) & 0xff);
  n[10] = (iv[off + 10] as number) ^ ((lo >>> 8) & 0xff);
  n[11] = (iv[off + 11] as number) ^ (lo & 0xff);
  return n;
}

const NO_IV = new Uint8Array(0);

/**
 * The key of the last record sealed and of the last opened, as a view of `in` at `off` for `len` bytes, kept so
 * the next record under the same keys makes no view of its own (one typed array per record each way). A view of the
 * same bytes as a fresh subarray would be, read only during the provider call; it keeps at most one key buffer
 * reachable per direction (a destroyed session's is wiped).
 */
class KeyView {
  private in: Uint8Array = NO_IV;
  private off = 0;
  private view: Uint8Array = NO_IV;
  of(keyIn: Uint8Array, off: number, len: number): Uint8Array {
    if (keyIn !== this.in || off !== this.off || this.view.length !== len) {
      this.view = keyIn.subarray(off, off + len);
      this.in = keyIn;
      this.off = off;
    }
    return this.view;
  }
}
const sealKey = new KeyView();
const openKey = new KeyView();

/**
 * Where one direction's keys are is passed as plain arguments (no object per record): IK (integrity) or EK
 * (confidentiality) in `keyIn` at `keyOff` for `keyLen` bytes; the IV (confidentiality) in `ivIn` at `ivOff`.
 */
const keyLength = (ctx: RecordContext): number =>
  ctx.protection === 'integrity' ? ctx.provider.hashLength(ctx.suite.hash) : AEAD_KEY_LENGTH[ctx.suite.aead];

export function sealRecord(
  ctx: RecordContext,
  keys: TrafficKeys,
  type: FrameType,
  sessionId: Uint8Array,
  epoch: number,
  seq: number,
  payload: Uint8Array,
): Uint8Array {
  if (ctx.protection === 'integrity') return seal(ctx, keys.ik, 0, keys.ik.length, NO_IV, 0, type, sessionId, epoch, seq, payload);
  const ek = keys.ek as Uint8Array;
  return seal(ctx, ek, 0, ek.length, keys.iv as Uint8Array, 0, type, sessionId, epoch, seq, payload);
}

/**
 * `sealRecord` with the keys read from `block` at `off` (layout of `keyLayout`: IK | EK | IV) and the session id from
 * `sessionId` at `sidOff`.
 */
export function sealRecordIn(
  ctx: RecordContext,
  block: Uint8Array,
  off: number,
  type: FrameType,
  sessionId: Uint8Array,
  epoch: number,
  seq: number,
  payload: Uint8Array,
  sidOff = 0,
  pool?: FramePool,
): Uint8Array {
  const hl = ctx.provider.hashLength(ctx.suite.hash);
  const kl = keyLength(ctx);
  return ctx.protection === 'integrity'
    ? seal(ctx, block, off, kl, NO_IV, 0, type, sessionId, epoch, seq, payload, sidOff, pool)
    : seal(ctx, block, off + hl, kl, block, off + hl + kl, type, sessionId, epoch, seq, payload, sidOff, pool);
}

function seal(
  ctx: RecordContext,
  keyIn: Uint8Array,
  keyOff: number,
  keyLen: number,
  ivIn: Uint8Array,
  ivOff: number,
  type: FrameType,
  sessionId: Uint8Array,
  epoch: number,
  seq: number,
  payload: Uint8Array,
  sidOff = 0,
  pool?: FramePool,
): Uint8Array {
  const tl = tagLength(ctx);
  const frame = encodeRecordHeader(type, sessionId, epoch, seq, payload.length + tl, sidOff, pool);
  const hl = frame.length - payload.length - tl;
  const p = ctx.provider;
  const key = sealKey.of(keyIn, keyOff, keyLen);
  if (ctx.protection === 'integrity') {
    frame.set(payload, hl);
    frame.set(p.hmac(ctx.suite.hash, key, frame.subarray(0, hl + payload.length)), hl + payload.length);
  } else {
    const nonce = nonceInto(ivIn, seq, ivOff);
    const header = frame.subarray(0, hl);
    // Sealed in place in the frame when the provider can (no intermediate ciphertext array).
    if (p.aeadSealInto) p.aeadSealInto(ctx.suite.aead, key, nonce, payload, header, frame, hl);
    else frame.set(p.aeadSeal(ctx.suite.aead, key, nonce, payload, header), hl);
  }
  return frame;
}

/** Returns the payload or throws ERR_BAD_MAC. */
export function openRecord(ctx: RecordContext, keys: TrafficKeys, header: RecordHeader, frame: Uint8Array): Uint8Array {
  if (ctx.protection === 'integrity') return open(ctx, keys.ik, 0, keys.ik.length, NO_IV, 0, header, frame);
  const ek = keys.ek as Uint8Array;
  return open(ctx, ek, 0, ek.length, keys.iv as Uint8Array, 0, header, frame);
}

/** `openRecord` with the keys read from `block` at `off` (layout of `keyLayout`: IK | EK | IV). */
export function openRecordIn(ctx: RecordContext, block: Uint8Array, off: number, header: RecordHeader, frame: Uint8Array): Uint8Array {
  const hl = ctx.provider.hashLength(ctx.suite.hash);
  const kl = keyLength(ctx);
  return ctx.protection === 'integrity'
    ? open(ctx, block, off, kl, NO_IV, 0, header, frame)
    : open(ctx, block, off + hl, kl, block, off + hl + kl, header, frame);
}

function open(
  ctx: RecordContext,
  keyIn: Uint8Array,
  keyOff: number,
  keyLen: number,
  ivIn: Uint8Array,
  ivOff: number,
  header: RecordHeader,
  frame: Uint8Array,
): Uint8Array {
  const tl = tagLength(ctx);
  const body = frame.length - header.length;
  if (body < tl) throw new HopsafeError('ERR_BAD_MAC', 'record authentication failed');
  const key = openKey.of(keyIn, keyOff, keyLen);
  if (ctx.protection === 'integrity') {
    const end = frame.length - tl;
    const mac = ctx.provider.hmac(ctx.suite.hash, key, frame.subarray(0, end));
    if (!equal(mac, frame.subarray(end))) throw new HopsafeError('ERR_BAD_MAC', 'record authentication failed');
    return frame.subarray(header.length, end); // a view: no copy of the payload
  }
  const pt = ctx.provider.aeadOpen(
    ctx.suite.aead,
    key,
    nonceInto(ivIn, header.seq, ivOff),
    frame.subarray(header.length),
    frame.subarray(0, header.length),
  );
  if (!pt) throw new HopsafeError('ERR_BAD_MAC', 'record authentication failed');
  return pt;
}
