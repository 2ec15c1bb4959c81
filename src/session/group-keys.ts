/**
 * Group key schedule and group frame protection. [SPEC 13.5, 13.3]
 *   GIK = HKDF-Expand(GS, "hopsafe group mac" ‖ groupId ‖ uint16be(epoch), HashLen)   integrity mode
 *   GEK = HKDF-Expand(GS, "hopsafe group key" ‖ groupId ‖ uint16be(epoch), Nk)        confidentiality mode
 *   GIV = HKDF-Expand(GS, "hopsafe group iv"  ‖ groupId ‖ uint16be(epoch), 12)        confidentiality mode
 *   integrity:        header ‖ payload ‖ HMAC-H(GIK, header ‖ payload)
 *   confidentiality:  header ‖ AEAD-Seal(GEK, GIV XOR seq, payload, aad = header)
 *   signature:        protected ‖ Sign(sk, "hopsafe/1 group data" ‖ 0x00 ‖ protected) ‖ uint16be(len(signature))
 */
import { HopsafeError } from '../errors/index.js';
import { concat, equal, utf8, wipe } from '../bytes/index.js';
import {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_TAG_LENGTH,
  type CryptoProvider,
  type PrivateKeyHandle,
  type PublicKeyHandle,
} from '../crypto/provider.js';
import type { Suite } from '../crypto/suites.js';
import type { Protection } from '../codec/tokens.js';
import { encodeGroupHeader, GROUP_ID_LENGTH, groupIdInput, MAX_GROUP_SIGNATURE, type GroupHeader } from '../codec/group.js';
import { nonceFor } from './record.js';

export const GROUP_LABEL = {
  mac: utf8('hopsafe group mac'),
  key: utf8('hopsafe group key'),
  iv: utf8('hopsafe group iv'),
  data: utf8('hopsafe/1 group data\u0000'),
} as const;

export interface GroupContext {
  readonly provider: CryptoProvider;
  readonly suite: Suite;
  readonly protection: Protection;
}

/** [SPEC 13.5] The keys of one group epoch. */
export interface GroupTrafficKeys {
  /** HMAC key (integrity) or AEAD key (confidentiality). */
  readonly key: Uint8Array;
  /** AEAD IV (confidentiality only; empty otherwise). */
  readonly iv: Uint8Array;
}

function info(label: Uint8Array, groupId: Uint8Array, epoch: number): Uint8Array {
  return concat(label, groupId, Uint8Array.of(epoch >>> 8, epoch & 0xff));
}

/** [SPEC 13.5] */
export function groupTrafficKeys(ctx: GroupContext, secret: Uint8Array, groupId: Uint8Array, epoch: number): GroupTrafficKeys {
  const { provider: p, suite } = ctx;
  if (ctx.protection === 'integrity')
    return {
      key: p.hkdfExpand(suite.hash, secret, info(GROUP_LABEL.mac, groupId, epoch), p.hashLength(suite.hash)),
      iv: new Uint8Array(0),
    };
  return {
    key: p.hkdfExpand(suite.hash, secret, info(GROUP_LABEL.key, groupId, epoch), AEAD_KEY_LENGTH[suite.aead]),
    iv: p.hkdfExpand(suite.hash, secret, info(GROUP_LABEL.iv, groupId, epoch), AEAD_NONCE_LENGTH),
  };
}

export function wipeGroupKeys(k: GroupTrafficKeys | undefined): void {
  if (k) wipe(k.key, k.iv);
}

function tagLength(ctx: GroupContext): number {
  return ctx.protection === 'integrity' ? ctx.provider.hashLength(ctx.suite.hash) : AEAD_TAG_LENGTH;
}

/** [SPEC 13.3] Seals one group frame; signs it with `signer` when given. */
export function sealGroupFrame(
  ctx: GroupContext,
  keys: GroupTrafficKeys,
  groupId: Uint8Array,
  epoch: number,
  seq: number,
  payload: Uint8Array,
  signer?: PrivateKeyHandle,
): Uint8Array {
  const p = ctx.provider;
  const tl = tagLength(ctx);
  const frame = encodeGroupHeader(groupId, epoch, seq, payload.length + tl);
  const hl = frame.length - payload.length - tl;
  if (ctx.protection === 'integrity') {
    frame.set(payload, hl);
    frame.set(p.hmac(ctx.suite.hash, keys.key, frame.subarray(0, hl + payload.length)), hl + payload.length);
  } else {
    const header = frame.subarray(0, hl);
    const nonce = nonceFor(keys.iv, seq);
    if (p.aeadSealInto) p.aeadSealInto(ctx.suite.aead, keys.key, nonce, payload, header, frame, hl);
    else frame.set(p.aeadSeal(ctx.suite.aead, keys.key, nonce, payload, header), hl);
  }
  if (!signer) return frame;
  const sig = p.sign(signer, concat(GROUP_LABEL.data, frame));
  if (sig.length > MAX_GROUP_SIGNATURE) throw new HopsafeError('ERR_UNSUPPORTED', 'signature too long for a group frame');
  return concat(frame, sig, Uint8Array.of(sig.length >>> 8, sig.length & 0xff));
}

/** [SPEC 13.3] Splits `protected ‖ signature ‖ uint16be(len)`; ERR_MALFORMED when the trailer does not fit. */
export function splitSignature(frame: Uint8Array, header: GroupHeader): { protectedPart: Uint8Array; signature: Uint8Array } {
  if (frame.length < header.length + 2) throw new HopsafeError('ERR_MALFORMED', 'group frame signature missing');
  const n = ((frame[frame.length - 2] as number) << 8) | (frame[frame.length - 1] as number);
  const end = frame.length - 2 - n;
  if (n === 0 || n > MAX_GROUP_SIGNATURE || end < header.length) throw new HopsafeError('ERR_MALFORMED', 'group frame signature length');
  return { protectedPart: frame.subarray(0, end), signature: frame.subarray(end, frame.length - 2) };
}

/** [SPEC 13.3] Verifies the tag of `protectedPart` and returns the payload; ERR_BAD_MAC for every cause. */
export function openGroupFrame(ctx: GroupContext, keys: GroupTrafficKeys, header: GroupHeader, protectedPart: Uint8Array): Uint8Array {
  const tl = tagLength(ctx);
  if (protectedPart.length - header.length < tl) throw new HopsafeError('ERR_BAD_MAC', 'group frame authentication failed');
  if (ctx.protection === 'integrity') {
    const end = protectedPart.length - tl;
    const mac = ctx.provider.hmac(ctx.suite.hash, keys.key, protectedPart.subarray(0, end));
    if (!equal(mac, protectedPart.subarray(end))) throw new HopsafeError('ERR_BAD_MAC', 'group frame authentication failed');
    return protectedPart.slice(header.length, end);
  }
  const pt = ctx.provider.aeadOpen(
    ctx.suite.aead,
    keys.key,
    nonceFor(keys.iv, header.seq),
    protectedPart.subarray(header.length),
    protectedPart.subarray(0, header.length),
  );
  if (!pt) throw new HopsafeError('ERR_BAD_MAC', 'group frame authentication failed');
  return pt;
}

/** [SPEC 13.3] The publisher's signature over the protected part. */
export function verifyGroupSignature(ctx: GroupContext, key: PublicKeyHandle, protectedPart: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ctx.provider.verify(key, concat(GROUP_LABEL.data, protectedPart), signature);
  } catch {
    return false;
  }
}

/** [SPEC 13.2] groupId = SHA-256("hopsafe/1 group id" ‖ 0x00 ‖ publisherId ‖ 0x00 ‖ name)[0..16]. */
export function computeGroupId(provider: CryptoProvider, publisherId: string, name: string): Uint8Array {
  return provider.hash('sha256', groupIdInput(publisherId, name)).slice(0, GROUP_ID_LENGTH);
}
