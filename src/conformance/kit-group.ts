/**
 * The kit as a group publisher (SPEC 13) towards an IUT that is a group member: the kit holds the epoch secrets
 * itself (src/session/group-keys.ts: the public key schedule and frame sealing), so a case can seal frames of any
 * epoch, sequence number or signer, hand over GroupKeys with any `previousEnd`, and publish on any group address.
 * Keys travel to the IUT as GROUP_CTRL records of the publisher party's pairwise session. [SPEC 13.2–13.7, Annex C.2]
 */
import { toHex, wipe } from '../bytes/index.js';
import type { PrivateKeyHandle } from '../crypto/provider.js';
import type { Suite } from '../crypto/suites.js';
import type { Protection } from '../codec/tokens.js';
import { decodeGroupControl, encodeGroupControl, type GroupControl, type GroupKey, type SourceAuth } from '../codec/group.js';
import { acknowledges } from '../codec/ack.js';
import {
  computeGroupId,
  groupTrafficKeys,
  sealGroupFrame,
  wipeGroupKeys,
  type GroupContext,
  type GroupTrafficKeys,
} from '../session/group-keys.js';
import type { KitParty, Observed } from './party.js';

export interface KitGroupOptions {
  readonly protection?: Protection;
  readonly sourceAuth?: SourceAuth;
}

interface KitEpoch {
  readonly secret: Uint8Array;
  readonly keys: GroupTrafficKeys;
  /** The sequence number the next frame of this epoch gets. */
  next: number;
}

export class KitGroup {
  readonly groupId: Uint8Array;
  /** [SPEC 13.9] `{publisher}/{groupId hex}`. */
  readonly address: string;
  readonly ctx: GroupContext;
  readonly sourceAuth: SourceAuth;
  /** The epoch `send` seals in (the last one `newEpoch` made). */
  epoch = 0;
  private readonly epochs = new Map<number, KitEpoch>();

  constructor(
    /** The publisher: its pairwise session carries the keys, its identity key signs, echoes come back to it. */
    readonly publisher: KitParty,
    readonly name: string,
    o: KitGroupOptions = {},
  ) {
    const s = publisher.session;
    if (!s) throw new Error(`${publisher.id}: a group publisher needs a session with the IUT`);
    const provider = publisher.ctx.provider;
    // [SPEC 13.1] The group uses the publisher's first configured suite: the kit's party offers one.
    const suite: Suite = publisher.ctx.suites[0] ?? s.suite;
    this.ctx = { provider, suite, protection: o.protection ?? 'confidentiality' };
    this.sourceAuth = o.sourceAuth ?? 'signature';
    this.groupId = computeGroupId(provider, publisher.id, name);
    this.address = `${publisher.id}/${toHex(this.groupId)}`;
    this.makeEpoch(0);
  }

  /**
   * Draws a fresh secret for `epoch` (default the next one) and, unless `current` is false (an epoch the kit seals
   * in without distributing it), makes it the epoch `send` seals in.
   */
  newEpoch(epoch = this.epoch + 1, o: { current?: boolean } = {}): number {
    this.makeEpoch(epoch);
    if (o.current !== false) this.epoch = epoch;
    return epoch;
  }

  /** The traffic keys of `epoch` (cases that build a frame by hand). */
  keysOf(epoch = this.epoch): GroupTrafficKeys {
    return this.state(epoch).keys;
  }

  /** Frames sealed so far in `epoch`. */
  sealed(epoch = this.epoch): number {
    return this.state(epoch).next;
  }

  /**
   * [SPEC 13.4] The GroupKey of `epoch` (default the current one); `previousEnd` defaults to the frames sealed in
   * epoch − 1, `signer` to the publisher's leaf certificate (signature mode).
   */
  key(epoch = this.epoch, o: { previousEnd?: number; signer?: Uint8Array; groupId?: Uint8Array } = {}): GroupKey {
    const st = this.state(epoch);
    const k: GroupKey = {
      groupId: o.groupId ?? this.groupId,
      epoch,
      suite: this.ctx.suite.id,
      protection: this.ctx.protection,
      sourceAuth: this.sourceAuth,
      epochSecret: st.secret.slice(),
      previousEnd: o.previousEnd ?? this.epochs.get(epoch - 1)?.next ?? 0,
    };
    return this.sourceAuth === 'signature' ? { ...k, signer: o.signer ?? (this.publisher.ctx.identity.chain[0] as Uint8Array) } : k;
  }

  /** [SPEC 13.4] The DER GroupControl of kind `key` handing over `key`. */
  control(key: GroupKey = this.key()): Uint8Array {
    return encodeGroupControl({ kind: 'key', name: this.name, key });
  }

  /**
   * Sends GroupControl DER `bytes` as a GROUP_CTRL record on `via`'s session (default the publisher's) and waits
   * (bounded) for the IUT's ACK of it, so the IUT has processed it before the next group frame. Returns whether the
   * ACK came (an ACK only says the record was accepted, not that the GroupKey was).
   */
  async sendControl(bytes: Uint8Array, via: KitParty = this.publisher, ms = via.env.timeoutMs + 1000): Promise<boolean> {
    const s = via.session;
    if (!s) throw new Error(`${via.id}: no session`);
    const epoch = s.sendEpoch;
    const seq = s.nextSeq;
    const since = via.events.length;
    await via.sendFrame(s.sealControl(bytes));
    const ack = await via.waitFor((e) => e.kind === 'ack' && e.ranges.some((r) => r.epoch === epoch && acknowledges(r, seq)), ms, since);
    return ack !== undefined;
  }

  /**
   * Seals one frame: in `epoch` (default the current one) at `seq` (default the epoch's next; a higher one moves
   * it on), signed in signature mode with `signWith` (default the publisher's identity key; `null`: no signature).
   */
  seal(payload: Uint8Array, o: { epoch?: number; seq?: number; signWith?: PrivateKeyHandle | null } = {}): Uint8Array {
    const epoch = o.epoch ?? this.epoch;
    const st = this.state(epoch);
    const seq = o.seq ?? st.next;
    if (seq >= st.next) st.next = seq + 1;
    const signer =
      this.sourceAuth === 'signature' && o.signWith !== null ? (o.signWith ?? this.publisher.ctx.identity.privateKey) : undefined;
    return sealGroupFrame(this.ctx, st.keys, this.groupId, epoch, seq, payload, signer);
  }

  /** Publishes `frame` on the group address (default this group's). */
  publish(frame: Uint8Array, address = this.address): Promise<void> {
    return this.publisher.env.wire.publishGroup(address, frame);
  }

  /** Seals, publishes and intends (its echo at the publisher) one genuine group message; returns the frame. */
  async send(payload: Uint8Array): Promise<Uint8Array> {
    const f = this.seal(payload);
    this.publisher.intend(payload);
    await this.publish(f);
    return f;
  }

  destroy(): void {
    for (const e of this.epochs.values()) {
      wipe(e.secret);
      wipeGroupKeys(e.keys);
    }
    this.epochs.clear();
  }

  private makeEpoch(epoch: number): void {
    const old = this.epochs.get(epoch);
    if (old) {
      wipe(old.secret);
      wipeGroupKeys(old.keys);
    }
    const p = this.ctx.provider;
    const secret = p.randomBytes(p.hashLength(this.ctx.suite.hash));
    this.epochs.set(epoch, { secret, keys: groupTrafficKeys(this.ctx, secret, this.groupId, epoch), next: 0 });
  }

  private state(epoch: number): KitEpoch {
    const st = this.epochs.get(epoch);
    if (!st) throw new Error(`group ${this.name}: no epoch ${epoch}`);
    return st;
  }
}

/** The GroupControl of an IUT's GROUP_CTRL record, or undefined when it is none the kit can read. */
export function groupControlOf(o: Observed): GroupControl | undefined {
  if (o.kind !== 'group-ctrl') return undefined;
  try {
    return decodeGroupControl(o.payload);
  } catch {
    return undefined;
  }
}

/** True when `o` is the IUT's GROUP_CTRL `join` of group `name`. */
export function isJoin(o: Observed, name: string): boolean {
  const c = groupControlOf(o);
  return c?.kind === 'join' && c.name === name;
}
