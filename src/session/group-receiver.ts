/**
 * A member's side of one group: the epochs it holds (the current one and, for `graceMs` after a rotation, the
 * previous one up to the frames the publisher sealed in it), a replay window per epoch, and the publisher's
 * signature key. Pure state: time is passed in. [SPEC 13.6]
 */
import { HopsafeError } from '../errors/index.js';
import { equal } from '../bytes/index.js';
import type { CryptoProvider, PublicKeyHandle } from '../crypto/provider.js';
import { suiteById } from '../crypto/suites.js';
import { decodeGroupHeader, type GroupKey, type SourceAuth } from '../codec/group.js';
import {
  groupTrafficKeys,
  openGroupFrame,
  splitSignature,
  verifyGroupSignature,
  wipeGroupKeys,
  type GroupContext,
  type GroupTrafficKeys,
} from './group-keys.js';
import { ReplayWindow } from './replay.js';

class EpochState extends ReplayWindow {
  /** Frames of this epoch are accepted only with seq below this (Infinity for the current epoch). */
  end = Number.POSITIVE_INFINITY;
  retireAt: number | undefined = undefined;
  constructor(
    readonly epoch: number,
    readonly keys: GroupTrafficKeys,
  ) {
    super();
  }
}

export interface GroupReceiverInit {
  readonly provider: CryptoProvider;
  readonly key: GroupKey;
  /** The publisher's signature key (from `key.signer`, checked against the pairwise session's certificate). */
  readonly signerKey?: PublicKeyHandle;
  readonly graceMs?: number;
}

export class GroupReceiver {
  readonly groupId: Uint8Array;
  readonly ctx: GroupContext;
  readonly sourceAuth: SourceAuth;
  private signerKey: PublicKeyHandle | undefined;
  private readonly graceMs: number;
  private current: EpochState;
  private previous: EpochState | undefined;

  constructor(init: GroupReceiverInit) {
    const suite = suiteById(init.key.suite);
    if (!suite || !init.provider.supportsAead(suite.aead)) throw new HopsafeError('ERR_UNSUPPORTED', `group suite ${init.key.suite}`);
    this.ctx = { provider: init.provider, suite, protection: init.key.protection };
    this.groupId = init.key.groupId.slice();
    this.sourceAuth = init.key.sourceAuth;
    if (this.sourceAuth === 'signature' && !init.signerKey) throw new HopsafeError('ERR_INPUT', 'signature mode needs the publisher key');
    this.signerKey = init.signerKey;
    this.graceMs = init.graceMs ?? 30_000;
    this.current = this.epochOf(init.key);
  }

  get epoch(): number {
    return this.current.epoch;
  }
  /** Epochs whose keys are held now, ascending. */
  epochs(now: number): number[] {
    this.expire(now);
    return this.previous ? [this.previous.epoch, this.current.epoch] : [this.current.epoch];
  }

  /**
   * [SPEC 13.7] A GroupKey from the publisher for this group. The next epoch rotates (the current one stays
   * open for `graceMs`, below `previousEnd`); anything else replaces every epoch (the publisher started over).
   * Returns false (nothing changed) for a key of another group or settings, or of an epoch held already.
   */
  install(key: GroupKey, signerKey: PublicKeyHandle | undefined, now: number): boolean {
    if (
      !equal(key.groupId, this.groupId) ||
      key.sourceAuth !== this.sourceAuth ||
      key.protection !== this.ctx.protection ||
      key.suite !== this.ctx.suite.id
    )
      return false;
    if (this.sourceAuth === 'signature') {
      if (!signerKey) return false;
      this.signerKey = signerKey;
    }
    // The epoch held already, handed over again (a repeated join): nothing changes (its window stays).
    if (
      key.epoch === this.current.epoch &&
      equal(groupTrafficKeys(this.ctx, key.epochSecret, key.groupId, key.epoch).key, this.current.keys.key)
    )
      return true;
    const next = this.epochOf(key);
    if (key.epoch === this.current.epoch + 1) {
      if (this.previous) wipeGroupKeys(this.previous.keys);
      this.previous = this.current;
      this.previous.end = key.previousEnd;
      this.previous.retireAt = now + this.graceMs;
    } else {
      wipeGroupKeys(this.current.keys);
      if (this.previous) wipeGroupKeys(this.previous.keys);
      this.previous = undefined;
    }
    this.current = next;
    return true;
  }

  /**
   * [SPEC 13.6] Verifies and opens one group frame; throws ERR_VERSION, ERR_MALFORMED, ERR_WRONG_PEER (another
   * group's frame), ERR_UNKNOWN_EPOCH, ERR_REPLAY, ERR_BAD_MAC, ERR_BAD_SIGNATURE in that order of checks.
   */
  open(frame: Uint8Array, now: number): { payload: Uint8Array; epoch: number; seq: number } {
    const h = decodeGroupHeader(frame);
    if (!equal(h.groupId, this.groupId)) throw new HopsafeError('ERR_WRONG_PEER', 'frame of another group');
    this.expire(now);
    const st = h.epoch === this.current.epoch ? this.current : h.epoch === this.previous?.epoch ? this.previous : undefined;
    if (!st || h.seq >= st.end) throw new HopsafeError('ERR_UNKNOWN_EPOCH', `no keys for group epoch ${h.epoch}`);
    if (!st.check(h.seq)) throw new HopsafeError('ERR_REPLAY', 'duplicate or too old');
    const signed = this.sourceAuth === 'signature';
    const parts = signed ? splitSignature(frame, h) : { protectedPart: frame, signature: undefined };
    const payload = openGroupFrame(this.ctx, st.keys, h, parts.protectedPart);
    if (signed && !verifyGroupSignature(this.ctx, this.signerKey as PublicKeyHandle, parts.protectedPart, parts.signature as Uint8Array))
      throw new HopsafeError('ERR_BAD_SIGNATURE', 'group frame not signed by the publisher');
    st.commit(h.seq);
    return { payload, epoch: h.epoch, seq: h.seq };
  }

  destroy(): void {
    wipeGroupKeys(this.current.keys);
    if (this.previous) wipeGroupKeys(this.previous.keys);
    this.previous = undefined;
  }

  private epochOf(key: GroupKey): EpochState {
    return new EpochState(key.epoch, groupTrafficKeys(this.ctx, key.epochSecret, key.groupId, key.epoch));
  }

  private expire(now: number): void {
    if (this.previous?.retireAt !== undefined && now >= this.previous.retireAt) {
      wipeGroupKeys(this.previous.keys);
      this.previous = undefined;
    }
  }
}
