/**
 * The publisher's side of one group: the current epoch's secret and keys, its sequence numbers, and rotation.
 * Pure state: time is passed in, randomness comes from the provider. [SPEC 13.5, 13.7, 13.8]
 */
import { HopsafeError } from '../errors/index.js';
import { wipe } from '../bytes/index.js';
import type { PrivateKeyHandle } from '../crypto/provider.js';
import type { Suite } from '../crypto/suites.js';
import type { Protection } from '../codec/tokens.js';
import { MAX_EPOCH, MAX_SEQ } from '../codec/frame.js';
import type { GroupKey, SourceAuth } from '../codec/group.js';
import { groupTrafficKeys, sealGroupFrame, wipeGroupKeys, type GroupContext, type GroupTrafficKeys } from './group-keys.js';

export interface GroupSenderInit {
  readonly ctx: GroupContext;
  readonly groupId: Uint8Array;
  readonly sourceAuth: SourceAuth;
  /** The publisher's identity key and leaf certificate (sourceAuth = signature). */
  readonly signingKey?: PrivateKeyHandle;
  readonly certificate?: Uint8Array;
  readonly now: number;
  /** [SPEC 13.8] Automatic rotation after this many frames or this long in one epoch. */
  readonly rotateAfterMessages?: number;
  readonly rotateAfterMs?: number;
}

export class GroupSender {
  readonly groupId: Uint8Array;
  readonly ctx: GroupContext;
  readonly sourceAuth: SourceAuth;
  private readonly signingKey: PrivateKeyHandle | undefined;
  private readonly certificate: Uint8Array | undefined;
  private readonly rotateAfterMessages: number;
  private readonly rotateAfterMs: number;
  private ep = -1;
  private secret: Uint8Array = new Uint8Array(0);
  private keys: GroupTrafficKeys | undefined;
  private seq = 0;
  private previousEnd = 0;
  private startedAt: number;
  private closed = false;

  constructor(init: GroupSenderInit) {
    this.ctx = init.ctx;
    this.groupId = init.groupId;
    this.sourceAuth = init.sourceAuth;
    if (init.sourceAuth === 'signature' && (!init.signingKey || !init.certificate))
      throw new HopsafeError('ERR_CONFIG', 'signature mode needs the signing key and certificate');
    this.signingKey = init.signingKey;
    this.certificate = init.certificate;
    this.rotateAfterMessages = init.rotateAfterMessages ?? 1_000_000;
    this.rotateAfterMs = init.rotateAfterMs ?? 3_600_000;
    this.startedAt = init.now;
    this.rotate(init.now);
  }

  get suite(): Suite {
    return this.ctx.suite;
  }
  get protection(): Protection {
    return this.ctx.protection;
  }
  get epoch(): number {
    return this.ep;
  }
  /** The sequence number the next frame will carry. */
  get nextSeq(): number {
    return this.seq;
  }

  /** [SPEC 13.7] Starts a new epoch with a fresh random secret; returns its key for distribution. */
  rotate(now: number): GroupKey {
    this.assertOpen();
    if (this.ep >= MAX_EPOCH) throw new HopsafeError('ERR_STATE', 'group epoch space exhausted: create the group again');
    const secret = this.ctx.provider.randomBytes(this.ctx.provider.hashLength(this.ctx.suite.hash));
    this.previousEnd = this.ep < 0 ? 0 : this.seq;
    this.ep++;
    wipe(this.secret);
    wipeGroupKeys(this.keys);
    this.secret = secret;
    this.keys = groupTrafficKeys(this.ctx, secret, this.groupId, this.ep);
    this.seq = 0;
    this.startedAt = now;
    return this.currentKey();
  }

  /** [SPEC 13.4] The current epoch's GroupKey (a copy of the secret: the caller encodes and drops it). */
  currentKey(): GroupKey {
    this.assertOpen();
    const k: GroupKey = {
      groupId: this.groupId,
      epoch: this.ep,
      suite: this.ctx.suite.id,
      protection: this.ctx.protection,
      sourceAuth: this.sourceAuth,
      epochSecret: this.secret.slice(),
      previousEnd: this.previousEnd,
    };
    return this.certificate && this.sourceAuth === 'signature' ? { ...k, signer: this.certificate } : k;
  }

  /** [SPEC 13.8] True when the epoch should be rotated before the next frame. */
  needsRotation(now: number): boolean {
    return this.seq >= this.rotateAfterMessages || now - this.startedAt >= this.rotateAfterMs || this.seq >= MAX_SEQ;
  }

  /** [SPEC 13.3] Seals one group frame under the current epoch. */
  seal(payload: Uint8Array): Uint8Array {
    this.assertOpen();
    if (this.seq > MAX_SEQ) throw new HopsafeError('ERR_STATE', 'group sequence space exhausted: rotate first');
    const f = sealGroupFrame(
      this.ctx,
      this.keys as GroupTrafficKeys,
      this.groupId,
      this.ep,
      this.seq,
      payload,
      this.sourceAuth === 'signature' ? this.signingKey : undefined,
    );
    this.seq++;
    return f;
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    wipe(this.secret);
    wipeGroupKeys(this.keys);
    this.keys = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new HopsafeError('ERR_CLOSED', 'group closed');
  }
}
