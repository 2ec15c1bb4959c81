/**
 * A member's side of one group: the epochs it holds (the current one and, for `graceMs` after a rotation, the
 * previous one up to the frames the publisher sealed in it), a replay window per epoch, the publisher's
 * signature key, and — when `hold` is given — a bounded few frames of the next epoch that arrived before its key.
 * Pure state: time is passed in. [SPEC 13.6]
 */
import { HopsafeError } from '../errors/index.js';
import { equal } from '../bytes/index.js';
import type { CryptoProvider, PublicKeyHandle } from '../crypto/provider.js';
import { suiteById } from '../crypto/suites.js';
import { decodeGroupHeader, type GroupHeader, type GroupKey, type SourceAuth } from '../codec/group.js';
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
import type { HoldBudget } from './session.js';

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

/** [SPEC 13.6] Bounds of the frames of the next epoch held until its key arrives (per group). */
export interface GroupHoldLimits {
  /** Frames held at most (0: none are held; such a frame is ERR_UNKNOWN_EPOCH). */
  readonly frames: number;
  /** Bytes held at most. */
  readonly bytes: number;
  /** A frame is dropped this long after it arrived unless its key came. */
  readonly ms: number;
  /** Shared with the endpoint's sessions (`maxHeldBytes`, SPEC 7.3). */
  readonly budget?: HoldBudget;
}

export interface GroupReceiverInit {
  readonly provider: CryptoProvider;
  readonly key: GroupKey;
  /** The publisher's signature key (from `key.signer`, checked against the pairwise session's certificate). */
  readonly signerKey?: PublicKeyHandle;
  readonly graceMs?: number;
  /** [SPEC 13.6] Hold frames of the next epoch until its key arrives; without it they are ERR_UNKNOWN_EPOCH. */
  readonly hold?: GroupHoldLimits;
}

/** A verified, opened group frame. */
export interface GroupOpened {
  readonly payload: Uint8Array;
  readonly epoch: number;
  readonly seq: number;
}

interface HeldFrame {
  readonly frame: Uint8Array;
  readonly epoch: number;
  readonly at: number;
}

export class GroupReceiver {
  readonly groupId: Uint8Array;
  readonly ctx: GroupContext;
  readonly sourceAuth: SourceAuth;
  private signerKey: PublicKeyHandle | undefined;
  private readonly graceMs: number;
  private current: EpochState;
  private previous: EpochState | undefined;
  private readonly hold: GroupHoldLimits | undefined;
  /** [SPEC 13.6] Frames of epoch current + 1, unverified, in arrival order. */
  private held: HeldFrame[] = [];
  private heldSize = 0;
  /** Held (or not held) frames dropped unverified since `takeDropped` was last called. */
  private dropped = 0;

  constructor(init: GroupReceiverInit) {
    const suite = suiteById(init.key.suite);
    if (!suite || !init.provider.supportsAead(suite.aead)) throw new HopsafeError('ERR_UNSUPPORTED', `group suite ${init.key.suite}`);
    this.ctx = { provider: init.provider, suite, protection: init.key.protection };
    this.groupId = init.key.groupId.slice();
    this.sourceAuth = init.key.sourceAuth;
    if (this.sourceAuth === 'signature' && !init.signerKey) throw new HopsafeError('ERR_INPUT', 'signature mode needs the publisher key');
    this.signerKey = init.signerKey;
    this.graceMs = init.graceMs ?? 30_000;
    this.hold = init.hold && init.hold.frames > 0 ? init.hold : undefined;
    this.current = this.epochOf(init.key);
  }

  /** Frames held now (of the next epoch, waiting for its key). */
  get heldFrames(): number {
    return this.held.length;
  }
  /** Bytes held now. */
  get heldBytes(): number {
    return this.heldSize;
  }
  /** When the oldest held frame is due to be dropped (undefined: none held). */
  get heldDeadline(): number | undefined {
    const first = this.held[0];
    return first && this.hold ? first.at + this.hold.ms : undefined;
  }
  /** Frames dropped unverified since the last call (hold full, deadline passed, key superseded): for the counters. */
  takeDropped(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
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
   * [SPEC 13.6] One group frame as it arrives: opened like `open`, except that a frame of the next epoch (current
   * + 1) is held, unverified, when the hold has room ('held'), or dropped without an error ('dropped', counted by
   * `takeDropped`). Held frames are opened by `drainHeld` once their key is installed.
   */
  receive(frame: Uint8Array, now: number): GroupOpened | 'held' | 'dropped' {
    const h = decodeGroupHeader(frame);
    if (!equal(h.groupId, this.groupId)) throw new HopsafeError('ERR_WRONG_PEER', 'frame of another group');
    // the header decoded once per frame (open's checks after the header's, in the same order)
    if (!this.hold || h.epoch !== this.current.epoch + 1) return this.openDecoded(frame, h, now);
    this.expireHeld(now);
    const hold = this.hold;
    // First come, first kept: a frame never displaces one held before it, so frames nobody can verify yet (forged
    // ones included) occupy at most `frames` / `bytes` for at most `ms`. An exact copy of a held frame adds nothing.
    if (
      this.held.length >= hold.frames ||
      this.heldSize + frame.length > hold.bytes ||
      this.held.some((x) => equal(x.frame, frame)) ||
      (hold.budget && !hold.budget.take(frame.length))
    ) {
      this.dropped++;
      return 'dropped';
    }
    this.held.push({ frame: frame.slice(), epoch: h.epoch, at: now });
    this.heldSize += frame.length;
    return 'held';
  }

  /**
   * [SPEC 13.6] After `install`: the held frames of the epoch now current, opened in arrival order (each one an
   * opened frame or the error `open` gives it); those of the next epoch stay held; any other is dropped.
   */
  drainHeld(now: number): (GroupOpened | HopsafeError)[] {
    this.expireHeld(now);
    const out: (GroupOpened | HopsafeError)[] = [];
    const keep: HeldFrame[] = [];
    for (const x of this.held) {
      if (x.epoch === this.current.epoch + 1) {
        keep.push(x);
        continue;
      }
      this.release(x);
      if (x.epoch !== this.current.epoch) {
        this.dropped++;
        continue;
      }
      try {
        out.push(this.open(x.frame, now));
      } catch (e) {
        out.push(e instanceof HopsafeError ? e : new HopsafeError('ERR_MALFORMED', 'held group frame'));
      }
    }
    this.held = keep;
    return out;
  }

  /** [SPEC 13.6] Drops the held frames whose deadline passed. */
  expireHeld(now: number): void {
    const ms = this.hold?.ms ?? 0;
    while (this.held.length > 0 && now >= (this.held[0] as HeldFrame).at + ms) {
      this.release(this.held.shift() as HeldFrame);
      this.dropped++;
    }
  }

  /**
   * [SPEC 13.6] Verifies and opens one group frame; throws ERR_VERSION, ERR_MALFORMED, ERR_WRONG_PEER (another
   * group's frame), ERR_UNKNOWN_EPOCH, ERR_REPLAY, ERR_BAD_MAC, ERR_BAD_SIGNATURE in that order of checks.
   */
  open(frame: Uint8Array, now: number): GroupOpened {
    const h = decodeGroupHeader(frame);
    if (!equal(h.groupId, this.groupId)) throw new HopsafeError('ERR_WRONG_PEER', 'frame of another group');
    return this.openDecoded(frame, h, now);
  }

  /** `open` after the header was decoded and its group checked. */
  private openDecoded(frame: Uint8Array, h: GroupHeader, now: number): GroupOpened {
    this.expire(now);
    const st = h.epoch === this.current.epoch ? this.current : h.epoch === this.previous?.epoch ? this.previous : undefined;
    if (!st || h.seq >= st.end) throw new HopsafeError('ERR_UNKNOWN_EPOCH', `no keys for group epoch ${h.epoch}`);
    if (!st.check(h.seq)) throw new HopsafeError('ERR_REPLAY', 'duplicate or too old');
    let payload: Uint8Array;
    if (this.sourceAuth === 'signature') {
      const parts = splitSignature(frame, h);
      payload = openGroupFrame(this.ctx, st.keys, h, parts.protectedPart);
      if (!verifyGroupSignature(this.ctx, this.signerKey as PublicKeyHandle, parts.protectedPart, parts.signature))
        throw new HopsafeError('ERR_BAD_SIGNATURE', 'group frame not signed by the publisher');
    } else payload = openGroupFrame(this.ctx, st.keys, h, frame);
    st.commit(h.seq);
    return { payload, epoch: h.epoch, seq: h.seq };
  }

  destroy(): void {
    wipeGroupKeys(this.current.keys);
    if (this.previous) wipeGroupKeys(this.previous.keys);
    this.previous = undefined;
    for (const x of this.held) this.release(x);
    this.dropped += this.held.length;
    this.held = [];
  }

  private release(x: HeldFrame): void {
    this.heldSize -= x.frame.length;
    this.hold?.budget?.give(x.frame.length);
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
