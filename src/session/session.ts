/**
 * An established session: record protection, replay windows, key updates and alerts for one
 * peer. Pure state machine: bytes in, bytes and deliveries out; time is passed in. [SPEC 7]
 */
import { HopsafeError, isHopsafeError } from '../errors/index.js';
import { wipe } from '../bytes/index.js';
import type { CryptoProvider, KeyPair } from '../crypto/provider.js';
import type { Suite } from '../crypto/suites.js';
import type { Protection } from '../codec/tokens.js';
import { decodeAlert, encodeAlert } from '../codec/tokens.js';
import { decodeRecordHeader, FrameType, MAX_EPOCH, MAX_SEQ, SESSION_ID_LENGTH, type RecordHeader } from '../codec/frame.js';
import { acceptedMap, decodeAck, encodeAck, type AckRange } from '../codec/ack.js';
import type { VerifiedPeer } from '../pki/types.js';
import { storeRoles, type StoredRole } from '../pki/roles.js';
import { deriveTrafficKeysInto, keyLayout, type ChainSecrets, type KeyLayout } from './key-schedule.js';
import { REPLAY_WINDOW, ReplayWindow } from './replay.js';
import { openRecordIn, sealRecordIn, type RecordContext } from './record.js';
import { applyKeyUpdate, prepareKeyUpdate, type PeerKey } from './key-update.js';
import type { FramePool } from '../bytes/frame-pool.js';

/**
 * Record-layer limits of every session of an endpoint (the `session` option of {@link EndpointOptions}, where each
 * is optional). Defaults: `graceMs` 30 000, `rekeyAfterMessages` 1 000 000, `rekeyAfterMs` 3 600 000,
 * `maxEarlyFrames` 16, `maxEarlyBytes` 65 536, `retainedEphemerals` 4. [SPEC 7.3] [SPEC 7.5]
 */
export interface SessionOptions {
  /** How long frames under the previous receive epoch stay acceptable after a key update. [SPEC 7.3] */
  readonly graceMs: number;
  /** Automatic key update after this many messages in one epoch. [SPEC 7.5] */
  readonly rekeyAfterMessages: number;
  /** Automatic key update after this long in one epoch. [SPEC 7.5] */
  readonly rekeyAfterMs: number;
  /** Frames of the next epoch that arrive before its key update are held, up to this many. [SPEC 7.3] */
  readonly maxEarlyFrames: number;
  /** Own ephemeral private keys retained for the peer's key updates. [SPEC 7.2] */
  readonly retainedEphemerals: number;
  /** [SPEC 7.3] Bytes of held (not yet verifiable) frames per session. */
  readonly maxEarlyBytes: number;
}

/**
 * [SPEC 7.3] Bytes of held frames across all sessions of an endpoint: frames held before their key update cannot be
 * verified yet, so what they may occupy is bounded per session and in total.
 */
export class HoldBudget {
  private used = 0;
  constructor(readonly limit: number) {}
  get bytes(): number {
    return this.used;
  }
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  graceMs: 30_000,
  rekeyAfterMessages: 1_000_000,
  rekeyAfterMs: 3_600_000,
  maxEarlyFrames: 16,
  retainedEphemerals: 4,
  maxEarlyBytes: 64 * 1024,
};

export type Delivery =
  | { readonly type: 'data'; readonly payload: Uint8Array; readonly epoch: number; readonly seq: number; readonly control?: true }
  | { readonly type: 'key-update'; readonly epoch: number; readonly requestUpdate: boolean }
  | { readonly type: 'alert'; readonly code: string; readonly reference?: number; readonly referenceEpoch?: number }
  | { readonly type: 'ack'; readonly ranges: readonly AckRange[] }
  | { readonly type: 'rejected'; readonly error: HopsafeError };

/**
 * What a session keeps of its authenticated peer: enough for routing, authorization and revocation. The
 * certificate and its public key are needed only during the handshake and are not retained (≈1.3 KB per
 * session on an endpoint with many peers). Times are milliseconds, not Dates (≈ 110 bytes of heap each, three per
 * peer): the roles are handed out as RoleAssignments by `storedRolesAtMs`. [SPEC 5.10, 10.4]
 */
export interface SessionPeer {
  readonly id: string;
  readonly roles: readonly StoredRole[];
  readonly fingerprint: string;
  /** The earliest notAfter on the validated path (VerifiedPeer.notAfter), ms since the epoch. */
  readonly notAfterMs: number;
}

export interface SessionInit {
  readonly provider: CryptoProvider;
  readonly suite: Suite;
  readonly protection: Protection;
  readonly role: 'initiator' | 'responder';
  readonly sessionId: Uint8Array;
  readonly localId: string;
  readonly peer: VerifiedPeer;
  readonly chainSecrets: ChainSecrets;
  readonly localEphemeral: KeyPair;
  readonly peerEphemeral: Uint8Array;
  readonly now: number;
  readonly options?: Partial<SessionOptions>;
  /** [SPEC 7.3] Shared bound on held frames (default: this session's own bound only). */
  readonly holdBudget?: HoldBudget;
  /**
   * Where large DATA frames are sealed into (issue 19): the endpoint's pool when its transport copies frames in `send`
   * (SPEC 8); whoever passes a pool gives each such frame back once nothing reads it. Default: fresh memory per frame.
   */
  readonly framePool?: FramePool;
}

const optionsCache = new WeakMap<Partial<SessionOptions>, SessionOptions>();

/** The merged options, one object shared by every session created with the same (unchanged) `options`. */
function mergedOptions(o: Partial<SessionOptions> | undefined): SessionOptions {
  if (!o) return DEFAULT_SESSION_OPTIONS;
  const hit = optionsCache.get(o);
  if (hit && (Object.keys(o) as (keyof SessionOptions)[]).every((k) => o[k] === undefined || o[k] === hit[k])) return hit;
  const merged: SessionOptions = Object.freeze({ ...DEFAULT_SESSION_OPTIONS, ...o });
  optionsCache.set(o, merged);
  return merged;
}

/**
 * Where a session keeps its key material and id: ONE buffer (fewer objects per session on an endpoint with many
 * peers; a Uint8Array with its own ArrayBuffer costs ≈ 200 bytes of heap before its first byte)
 *   send: CS | IK | EK | IV   recv: CS | IK | EK | IV   peer's latest ephemeral public key
 *   own epoch-0 ephemeral private key (the handshake's, until pruned)   session id
 * (EK and IV in confidentiality mode only). [SPEC 6.3, 7.2]
 */
interface SessionLayout {
  /** HashLen (chain secret; the traffic keys start at hl within a direction). */
  readonly hl: number;
  /** Bytes of one direction: CS and the traffic keys. */
  readonly dir: number;
  readonly pub: number;
  readonly pubLen: number;
  /** Own epoch-0 ephemeral private key (wiped in place when pruned). */
  readonly eph: number;
  readonly ephLen: number;
  /** Session id (SESSION_ID_LENGTH bytes, public: left in place by destroy). */
  readonly sid: number;
  readonly total: number;
}

const layouts = new Map<string, SessionLayout>();

function sessionLayout(k: KeyLayout, pubLen: number, ephLen: number): SessionLayout {
  const key = `${k.hl}/${k.size}/${pubLen}/${ephLen}`;
  let l = layouts.get(key);
  if (!l) {
    const dir = k.hl + k.size;
    const eph = 2 * dir + pubLen;
    const sid = eph + ephLen;
    l = { hl: k.hl, dir, pub: 2 * dir, pubLen, eph, ephLen, sid, total: sid + SESSION_ID_LENGTH };
    layouts.set(key, l);
  }
  return l;
}

/**
 * [SPEC 7] What all sessions of one handshake context have in common: one frozen object they point at, instead of
 * eight fields in each (64 bytes per session on an endpoint with many peers).
 */
interface SessionShared {
  readonly role: 'initiator' | 'responder';
  readonly provider: CryptoProvider;
  readonly suite: Suite;
  readonly protection: Protection;
  readonly localId: string;
  readonly options: SessionOptions;
  readonly lay: SessionLayout;
  readonly hold: HoldBudget | undefined;
  readonly frames: FramePool | undefined;
}

/** Shared records by their hold budget (one per endpoint) or provider; a few per key, bounded. */
const sharedRecords = new WeakMap<object, SessionShared[]>();
const MAX_SHARED_PER_KEY = 64;

function sharedFor(init: SessionInit, options: SessionOptions, lay: SessionLayout): SessionShared {
  const owner: object = init.holdBudget ?? init.provider;
  let list = sharedRecords.get(owner);
  if (!list) sharedRecords.set(owner, (list = []));
  for (const x of list)
    if (
      x.role === init.role &&
      x.provider === init.provider &&
      x.suite === init.suite &&
      x.protection === init.protection &&
      x.localId === init.localId &&
      x.options === options &&
      x.lay === lay &&
      x.hold === init.holdBudget &&
      x.frames === init.framePool
    )
      return x;
  const made: SessionShared = Object.freeze({
    role: init.role,
    provider: init.provider,
    suite: init.suite,
    protection: init.protection,
    localId: init.localId,
    options,
    lay,
    hold: init.holdBudget,
    frames: init.framePool,
  });
  if (list.length < MAX_SHARED_PER_KEY) list.push(made);
  return made;
}

/** One receive epoch: its replay window (this object) and where its CS and keys are (`block` at `off`). [SPEC 7.3, 7.4] */
class RecvState extends ReplayWindow {
  retireAt: number | undefined = undefined;
  /** [SPEC 7.6, 8.7] Accepted records the application refused (policy): never acknowledged. */
  refusedSeqs: Set<number> | undefined = undefined;
  constructor(
    readonly epoch: number,
    public block: Uint8Array,
    public off: number,
  ) {
    super();
  }
}

export class Session implements RecordContext {
  readonly peer: SessionPeer;
  /** What this session shares with the others of its context (see {@link sharedFor}). */
  private readonly sh: SessionShared;
  private readonly km: Uint8Array;
  private sEpoch = 0;
  private sSeq = 0;
  private sStartedAt: number;
  private recv: RecvState;
  private previous: RecvState | undefined = undefined;
  /**
   * Own ephemeral private keys retained for the peer's key updates: epoch 0's (the handshake's: copied into `km`, the
   * caller's array wiped; `eph0` says it is still held), later ones in `ephemerals` (created on the first key update).
   */
  private eph0: boolean;
  private ephemerals: Map<number, Uint8Array> | undefined = undefined;
  private peerKeyEpoch = 0;
  private early: Uint8Array[] | undefined = undefined;
  private earlyBytes = 0;
  private closed = false;
  private lastUpdate: Uint8Array | undefined = undefined;
  private dataSinceAck = 0;

  constructor(init: SessionInit) {
    this.peer = {
      id: init.peer.id,
      roles: storeRoles(init.peer.roles),
      fingerprint: init.peer.fingerprint,
      notAfterMs: init.peer.notAfter.getTime(),
    };
    const lay = sessionLayout(
      keyLayout(init.provider, init.suite, init.protection),
      init.peerEphemeral.length,
      init.localEphemeral.privateKey.length,
    );
    this.sh = sharedFor(init, mergedOptions(init.options), lay);
    this.km = new Uint8Array(lay.total);
    if (init.sessionId.length !== SESSION_ID_LENGTH) throw new HopsafeError('ERR_INPUT', 'session id length');
    this.km.set(init.sessionId, lay.sid); // compact: never a view of a larger frame
    const [sendCs, recvCs] =
      init.role === 'initiator' ? [init.chainSecrets.a2b, init.chainSecrets.b2a] : [init.chainSecrets.b2a, init.chainSecrets.a2b];
    this.setDirection(0, sendCs);
    this.setDirection(lay.dir, recvCs);
    // In km (one buffer less per session); the session owned the caller's array and wiped it later: now at once.
    this.km.set(init.localEphemeral.privateKey, lay.eph);
    wipe(init.localEphemeral.privateKey);
    this.eph0 = true;
    this.km.set(init.peerEphemeral, lay.pub);
    this.sStartedAt = init.now;
    this.recv = new RecvState(0, this.km, lay.dir);
  }

  get role(): 'initiator' | 'responder' {
    return this.sh.role;
  }
  get provider(): CryptoProvider {
    return this.sh.provider;
  }
  get suite(): Suite {
    return this.sh.suite;
  }
  get protection(): Protection {
    return this.sh.protection;
  }
  get localId(): string {
    return this.sh.localId;
  }
  get options(): SessionOptions {
    return this.sh.options;
  }

  /** The session id: a fresh copy of where it lives in the key buffer (no array kept per session). */
  get id(): Uint8Array {
    // a copy: no caller may write into the key buffer, and ids compare by their bytes (samePublicBytes)
    return this.km.slice(this.sh.lay.sid, this.sh.lay.sid + SESSION_ID_LENGTH);
  }

  /** [SPEC 3.3] Whether `sessionId` (public bytes, e.g. a record header's) is this session's id; no allocation. */
  hasId(sessionId: Uint8Array): boolean {
    if (sessionId.length !== SESSION_ID_LENGTH) return false;
    const km = this.km;
    const off = this.sh.lay.sid;
    for (let i = 0; i < SESSION_ID_LENGTH; i++) if (km[off + i] !== sessionId[i]) return false;
    return true;
  }

  get sendEpoch(): number {
    return this.sEpoch;
  }
  get receiveEpoch(): number {
    return this.recv.epoch;
  }
  get isClosed(): boolean {
    return this.closed;
  }

  /** [SPEC 7.1] Protects one application payload. */
  seal(payload: Uint8Array): Uint8Array {
    return this.sealType(FrameType.DATA, payload, this.sh.frames);
  }

  /** [SPEC 13.4] Protects one GroupControl message (a GROUP_CTRL record: acknowledged like DATA, never given to the application). */
  sealControl(payload: Uint8Array): Uint8Array {
    return this.sealType(FrameType.GROUP_CTRL, payload);
  }

  /**
   * [SPEC 8.7] A protected alert (e.g. ERR_FORBIDDEN for a refused message, with its sequence number and epoch;
   * ERR_CLOSED on close).
   */
  sealAlert(code: string, reference?: number, referenceEpoch?: number): Uint8Array {
    const a = reference === undefined ? { code } : referenceEpoch === undefined ? { code, reference } : { code, reference, referenceEpoch };
    return this.sealType(FrameType.ALERT, encodeAlert(a));
  }

  /**
   * [SPEC 7.6, 8.7] The application refused record (epoch, seq) after it was accepted: it is left out of every ACK,
   * so the sender never sees it confirmed.
   */
  refuseReceived(epoch: number, seq: number): void {
    const w = epoch === this.recv.epoch ? this.recv : this.previous?.epoch === epoch ? this.previous : undefined;
    if (!w) return;
    (w.refusedSeqs ??= new Set()).add(seq);
    for (const s of w.refusedSeqs) if (w.highest - s >= REPLAY_WINDOW) w.refusedSeqs.delete(s); // bounded by the window
    this.dataSinceAck = Math.max(0, this.dataSinceAck - 1);
  }

  /** [SPEC 7.6] DATA records accepted since the last ACK was sealed. */
  get acksDue(): number {
    return this.dataSinceAck;
  }

  /**
   * [SPEC 7.6] An ACK record describing the records accepted in the open receive epochs (the current one and,
   * during grace, the previous one); undefined when nothing was received yet.
   */
  sealAck(now: number): Uint8Array | undefined {
    if (this.previous?.retireAt !== undefined && now >= this.previous.retireAt) this.retirePrevious();
    const ranges: AckRange[] = [];
    for (const w of [this.previous, this.recv]) {
      if (!w) continue;
      const ok = (s: number): boolean => w.has(s) && !w.refusedSeqs?.has(s);
      // [SPEC 7.6] `highest` is the highest record accepted and not refused by the application.
      let top = w.highest;
      while (top >= 0 && w.highest - top < REPLAY_WINDOW && !ok(top)) top--;
      if (top < 0 || w.highest - top >= REPLAY_WINDOW) continue;
      ranges.push({ epoch: w.epoch, highest: top, accepted: acceptedMap(top, ok) });
    }
    if (ranges.length === 0) return undefined;
    const frame = this.sealType(FrameType.ACK, encodeAck(ranges));
    this.dataSinceAck = 0;
    return frame;
  }

  /**
   * [SPEC 7.3] The KEY_UPDATE record that opened the current send epoch, kept so it can be sent
   * again (byte for byte) when the peer reports it missing; undefined at epoch 0.
   */
  get lastKeyUpdate(): Uint8Array | undefined {
    return this.lastUpdate;
  }

  /**
   * [SPEC 7.2] The send epochs whose own ephemeral private key is still retained for the peer's key updates,
   * ascending (0 = the handshake's).
   */
  get ephemeralEpochs(): number[] {
    const out = this.eph0 ? [0] : [];
    for (const e of this.ephemerals?.keys() ?? []) out.push(e);
    return out;
  }

  /** The sequence number the next sealed record will carry. */
  get nextSeq(): number {
    return this.sSeq;
  }

  /** [SPEC 7.5] True when the send direction should be rekeyed now. */
  needsKeyUpdate(now: number): boolean {
    return this.sSeq >= this.options.rekeyAfterMessages || now - this.sStartedAt >= this.options.rekeyAfterMs || this.sSeq >= MAX_SEQ - 1;
  }

  /**
   * [SPEC 7.2] Rekeys the send direction: returns the KEY_UPDATE frame (protected under the
   * current keys); everything sealed afterwards uses the new epoch.
   */
  keyUpdate(now: number, requestUpdate = false, keyPair?: KeyPair): Uint8Array {
    this.assertOpen();
    if (this.sEpoch >= MAX_EPOCH) throw new HopsafeError('ERR_STATE', 'epoch space exhausted: open a new session');
    const cs = this.km.subarray(0, this.sh.lay.hl);
    const u = prepareKeyUpdate(this.provider, this.suite, cs, this.sEpoch, this.peerKey(), requestUpdate, keyPair);
    const frame = this.sealType(FrameType.KEY_UPDATE, u.token);
    this.lastUpdate = frame;
    this.setDirection(0, u.nextChainSecret); // overwrites (wipes) the previous epoch's CS and keys
    this.sEpoch = u.newEpoch;
    this.sSeq = 0;
    this.sStartedAt = now;
    (this.ephemerals ??= new Map()).set(u.newEpoch, u.keyPair.privateKey);
    this.pruneEphemerals();
    return frame;
  }

  /**
   * [SPEC 7.1, 7.3, 7.4] Verifies and opens one record. Throws HopsafeError for the frame itself
   * (ERR_MALFORMED, ERR_UNKNOWN_SESSION, ERR_UNKNOWN_EPOCH, ERR_REPLAY, ERR_BAD_MAC, …); returns
   * what it delivers, which after a key update may include held frames of the new epoch. `header` is
   * `decodeRecordHeader(frame)` when the caller decoded it already.
   */
  open(frame: Uint8Array, now: number, header: RecordHeader = decodeRecordHeader(frame)): Delivery[] {
    this.assertOpen();
    if (!this.hasId(header.sessionId)) throw new HopsafeError('ERR_UNKNOWN_SESSION', 'record for another session');
    if (this.previous?.retireAt !== undefined && now >= this.previous.retireAt) this.retirePrevious();
    let state: RecvState;
    if (header.epoch === this.recv.epoch) state = this.recv;
    else if (this.previous && header.epoch === this.previous.epoch) state = this.previous;
    else if (header.epoch === this.recv.epoch + 1 && header.type !== FrameType.KEY_UPDATE) {
      // [SPEC 7.3] Arrived before the key update that introduces its epoch: hold a bounded few.
      // Bounded in count and bytes, per session and across the endpoint: these frames cannot be verified yet.
      const early = (this.early ??= []);
      if (
        early.length >= this.options.maxEarlyFrames ||
        this.earlyBytes + frame.length > this.options.maxEarlyBytes ||
        (this.sh.hold && !this.sh.hold.take(frame.length))
      )
        throw new HopsafeError('ERR_UNKNOWN_EPOCH', 'key update missing: too many frames ahead of it');
      early.push(frame.slice());
      this.earlyBytes += frame.length;
      return [];
    } else throw new HopsafeError('ERR_UNKNOWN_EPOCH', `no keys for epoch ${header.epoch}`);

    if (!state.check(header.seq)) throw new HopsafeError('ERR_REPLAY', 'duplicate or too old');
    const payload = openRecordIn(this, state.block, state.off + this.sh.lay.hl, header, frame);
    state.commit(header.seq);

    switch (header.type) {
      case FrameType.DATA:
        this.dataSinceAck++;
        return [{ type: 'data', payload, epoch: header.epoch, seq: header.seq }];
      case FrameType.GROUP_CTRL:
        this.dataSinceAck++;
        return [{ type: 'data', payload, epoch: header.epoch, seq: header.seq, control: true }];
      case FrameType.ACK:
        return [{ type: 'ack', ranges: decodeAck(payload) }];
      case FrameType.ALERT: {
        const a = decodeAlert(payload);
        return [{ type: 'alert', ...a }];
      }
      default: {
        if (state !== this.recv) throw new HopsafeError('ERR_STATE', 'key update under a retired epoch');
        return this.applyUpdate(payload, now);
      }
    }
  }

  /** Wipes key material; the session refuses all further use. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    wipe(this.km.subarray(0, this.sh.lay.sid)); // every secret; the (public) id stays readable
    wipe(this.previous?.block);
    this.previous = undefined;
    this.eph0 = false;
    for (const k of this.ephemerals?.values() ?? []) wipe(k);
    this.ephemerals = undefined;
    this.releaseHeld();
    this.lastUpdate = undefined;
  }

  /** Writes chain secret `cs` and the traffic keys derived from it at `off` in `km`; wipes `cs`. [SPEC 6.3] */
  private setDirection(off: number, cs: Uint8Array): void {
    // The keys this place held (a key update's previous epoch) are wiped first: copies kept elsewhere go too.
    wipe(this.km.subarray(off, off + this.sh.lay.dir));
    this.km.set(cs, off);
    wipe(cs);
    const own = this.km.subarray(off, off + this.sh.lay.hl);
    deriveTrafficKeysInto(this.provider, this.suite, this.protection, own, this.km, off + this.sh.lay.hl);
  }

  private peerKey(): PeerKey {
    const { pub, pubLen } = this.sh.lay;
    return { epoch: this.peerKeyEpoch, publicKey: this.km.subarray(pub, pub + pubLen) };
  }

  /** [SPEC 7.2] Our retained ephemeral private key of send epoch `epoch`. */
  private ownEphemeral(epoch: number): Uint8Array | undefined {
    if (epoch === 0) return this.eph0 ? this.km.subarray(this.sh.lay.eph, this.sh.lay.eph + this.sh.lay.ephLen) : undefined;
    return this.ephemerals?.get(epoch);
  }

  private applyUpdate(token: Uint8Array, now: number): Delivery[] {
    const st = this.recv;
    const { hl, dir } = this.sh.lay;
    const u = applyKeyUpdate(this.provider, this.suite, st.block.subarray(st.off, st.off + hl), st.epoch, token, (e) =>
      this.ownEphemeral(e),
    );
    if (u.token.publicKey.length !== this.sh.lay.pubLen) {
      wipe(u.nextChainSecret);
      throw new HopsafeError('ERR_MALFORMED', 'key update changes the key share length');
    }
    this.forgetEphemeralsBefore(u.token.peerKeyEpoch);
    if (this.previous) this.retirePrevious();
    // The current epoch stays open for graceMs under its own copy of its keys; its place in km takes the new epoch.
    st.block = new Uint8Array(st.block.subarray(st.off, st.off + dir));
    st.off = 0;
    st.retireAt = now + this.options.graceMs;
    this.previous = st;
    this.setDirection(dir, u.nextChainSecret);
    this.recv = new RecvState(u.token.newEpoch, this.km, dir);
    this.km.set(u.token.publicKey, this.sh.lay.pub);
    this.peerKeyEpoch = u.token.newEpoch;
    const out: Delivery[] = [{ type: 'key-update', epoch: u.token.newEpoch, requestUpdate: u.token.requestUpdate }];
    const held = this.releaseHeld();
    for (const f of held) {
      try {
        out.push(...this.open(f, now));
      } catch (e) {
        out.push({ type: 'rejected', error: isHopsafeError(e) ? e : new HopsafeError('ERR_MALFORMED', 'held frame') });
      }
    }
    return out;
  }

  /** [SPEC 7.3] The held frames, handed back with their share of the hold budget. */
  private releaseHeld(): Uint8Array[] {
    const held = this.early ?? [];
    this.early = undefined;
    this.sh.hold?.give(this.earlyBytes);
    this.earlyBytes = 0;
    return held;
  }

  /** [SPEC 7.3] Bytes held for this session (frames ahead of their key update). */
  get heldBytes(): number {
    return this.earlyBytes;
  }

  /**
   * [SPEC 7.2] The peer's ClearToken2 named our ephemeral of send epoch `k`. The peer only ever combines with our
   * latest value it has received and receives our updates in order, so it never names an older one again: wipe
   * and drop ours below `k` (forward secrecy inside the session).
   */
  private forgetEphemeralsBefore(k: number): void {
    if (k > 0 && this.eph0) this.wipeEph0();
    const m = this.ephemerals;
    if (!m) return;
    for (const [e, key] of m)
      if (e < k) {
        wipe(key);
        m.delete(e);
      }
  }

  private wipeEph0(): void {
    this.km.fill(0, this.sh.lay.eph, this.sh.lay.eph + this.sh.lay.ephLen);
    this.eph0 = false;
  }

  private retirePrevious(): void {
    if (!this.previous) return;
    wipe(this.previous.block);
    this.previous = undefined;
  }

  private pruneEphemerals(): void {
    const max = this.options.retainedEphemerals;
    while ((this.eph0 ? 1 : 0) + (this.ephemerals?.size ?? 0) > max) {
      if (this.eph0) {
        this.wipeEph0();
        continue;
      }
      const m = this.ephemerals as Map<number, Uint8Array>;
      const oldest = m.keys().next().value as number;
      wipe(m.get(oldest));
      m.delete(oldest);
    }
  }

  /** `pool`: DATA only — a KEY_UPDATE frame is kept for resending (SPEC 7.3) and the others are small. */
  private sealType(type: FrameType, payload: Uint8Array, pool?: FramePool): Uint8Array {
    this.assertOpen();
    if (this.sSeq > MAX_SEQ) throw new HopsafeError('ERR_STATE', 'sequence space exhausted: key update required');
    const f = sealRecordIn(this, this.km, this.sh.lay.hl, type, this.km, this.sEpoch, this.sSeq, payload, this.sh.lay.sid, pool);
    this.sSeq++;
    return f;
  }

  private assertOpen(): void {
    if (this.closed) throw new HopsafeError('ERR_CLOSED', 'session closed');
  }
}
