/**
 * An established session: record protection, replay windows, key updates and alerts for one
 * peer. Pure state machine: bytes in, bytes and deliveries out; time is passed in. [SPEC 7]
 */
import { HopsafeError, isHopsafeError } from '../errors/index.js';
import { equal, wipe } from '../bytes/index.js';
import type { CryptoProvider, KeyPair } from '../crypto/provider.js';
import type { Suite } from '../crypto/suites.js';
import type { Protection } from '../codec/tokens.js';
import { decodeAlert, encodeAlert } from '../codec/tokens.js';
import { decodeRecordHeader, FrameType, MAX_EPOCH, MAX_SEQ } from '../codec/frame.js';
import { acceptedMap, decodeAck, encodeAck, type AckRange } from '../codec/ack.js';
import type { VerifiedPeer } from '../pki/types.js';
import { trafficKeys, wipeKeys, type ChainSecrets, type TrafficKeys } from './key-schedule.js';
import { ReplayWindow } from './replay.js';
import { openRecord, sealRecord, type RecordContext } from './record.js';
import { applyKeyUpdate, prepareKeyUpdate, type PeerKey } from './key-update.js';

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
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  graceMs: 30_000,
  rekeyAfterMessages: 1_000_000,
  rekeyAfterMs: 3_600_000,
  maxEarlyFrames: 16,
  retainedEphemerals: 4,
};

export type Delivery =
  | { readonly type: 'data'; readonly payload: Uint8Array; readonly epoch: number; readonly seq: number }
  | { readonly type: 'key-update'; readonly epoch: number; readonly requestUpdate: boolean }
  | { readonly type: 'alert'; readonly code: string; readonly reference?: number }
  | { readonly type: 'ack'; readonly ranges: readonly AckRange[] }
  | { readonly type: 'rejected'; readonly error: HopsafeError };

/**
 * What a session keeps of its authenticated peer: enough for routing, authorization and revocation. The
 * certificate and its public key are needed only during the handshake and are not retained (≈1.3 KB per
 * session on an endpoint with many peers).
 */
export type SessionPeer = Pick<VerifiedPeer, 'id' | 'roles' | 'fingerprint' | 'notAfter'>;

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
}

interface SendState {
  epoch: number;
  cs: Uint8Array;
  keys: TrafficKeys;
  seq: number;
  startedAt: number;
}

interface RecvState {
  epoch: number;
  cs: Uint8Array;
  keys: TrafficKeys;
  window: ReplayWindow;
  retireAt?: number;
}

export class Session {
  readonly id: Uint8Array;
  readonly role: 'initiator' | 'responder';
  readonly suite: Suite;
  readonly protection: Protection;
  readonly localId: string;
  readonly peer: SessionPeer;
  readonly options: SessionOptions;
  private readonly ctx: RecordContext;
  private send: SendState;
  private recv: RecvState;
  private previous: RecvState | undefined;
  private readonly ephemerals = new Map<number, Uint8Array>();
  private peerKey: PeerKey;
  private early: Uint8Array[] = [];
  private closed = false;
  private lastUpdate: Uint8Array | undefined;
  private dataSinceAck = 0;

  constructor(init: SessionInit) {
    this.id = init.sessionId;
    this.role = init.role;
    this.suite = init.suite;
    this.protection = init.protection;
    this.localId = init.localId;
    this.peer = { id: init.peer.id, roles: init.peer.roles, fingerprint: init.peer.fingerprint, notAfter: init.peer.notAfter };
    this.options = { ...DEFAULT_SESSION_OPTIONS, ...init.options };
    this.ctx = { provider: init.provider, suite: init.suite, protection: init.protection };
    const [sendCs, recvCs] =
      init.role === 'initiator' ? [init.chainSecrets.a2b, init.chainSecrets.b2a] : [init.chainSecrets.b2a, init.chainSecrets.a2b];
    this.send = { epoch: 0, cs: sendCs, keys: this.keysFor(sendCs), seq: 0, startedAt: init.now };
    this.recv = { epoch: 0, cs: recvCs, keys: this.keysFor(recvCs), window: new ReplayWindow() };
    this.ephemerals.set(0, init.localEphemeral.privateKey);
    this.peerKey = { epoch: 0, publicKey: init.peerEphemeral };
  }

  get sendEpoch(): number {
    return this.send.epoch;
  }
  get receiveEpoch(): number {
    return this.recv.epoch;
  }
  get isClosed(): boolean {
    return this.closed;
  }

  /** [SPEC 7.1] Protects one application payload. */
  seal(payload: Uint8Array): Uint8Array {
    return this.sealType(FrameType.DATA, payload);
  }

  /** [SPEC 5.5] A protected alert (e.g. ERR_FORBIDDEN for a refused message, ERR_CLOSED on close). */
  sealAlert(code: string, reference?: number): Uint8Array {
    return this.sealType(FrameType.ALERT, encodeAlert(reference === undefined ? { code } : { code, reference }));
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
    for (const st of [this.previous, this.recv]) {
      if (!st || st.window.highest < 0) continue;
      const w = st.window;
      ranges.push({ epoch: st.epoch, highest: w.highest, accepted: acceptedMap(w.highest, (s) => w.has(s)) });
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

  /** The sequence number the next sealed record will carry. */
  get nextSeq(): number {
    return this.send.seq;
  }

  /** [SPEC 7.5] True when the send direction should be rekeyed now. */
  needsKeyUpdate(now: number): boolean {
    return (
      this.send.seq >= this.options.rekeyAfterMessages ||
      now - this.send.startedAt >= this.options.rekeyAfterMs ||
      this.send.seq >= MAX_SEQ - 1
    );
  }

  /**
   * [SPEC 7.2] Rekeys the send direction: returns the KEY_UPDATE frame (protected under the
   * current keys); everything sealed afterwards uses the new epoch.
   */
  keyUpdate(now: number, requestUpdate = false, keyPair?: KeyPair): Uint8Array {
    this.assertOpen();
    if (this.send.epoch >= MAX_EPOCH) throw new HopsafeError('ERR_STATE', 'epoch space exhausted: open a new session');
    const u = prepareKeyUpdate(this.ctx.provider, this.suite, this.send.cs, this.send.epoch, this.peerKey, requestUpdate, keyPair);
    const frame = this.sealType(FrameType.KEY_UPDATE, u.token);
    this.lastUpdate = frame;
    wipe(this.send.cs);
    wipeKeys(this.send.keys);
    this.send = { epoch: u.newEpoch, cs: u.nextChainSecret, keys: this.keysFor(u.nextChainSecret), seq: 0, startedAt: now };
    this.ephemerals.set(u.newEpoch, u.keyPair.privateKey);
    this.pruneEphemerals();
    return frame;
  }

  /**
   * [SPEC 7.1, 7.3, 7.4] Verifies and opens one record. Throws HopsafeError for the frame itself
   * (ERR_MALFORMED, ERR_UNKNOWN_SESSION, ERR_UNKNOWN_EPOCH, ERR_REPLAY, ERR_BAD_MAC, …); returns
   * what it delivers, which after a key update may include held frames of the new epoch.
   */
  open(frame: Uint8Array, now: number): Delivery[] {
    this.assertOpen();
    const header = decodeRecordHeader(frame);
    if (!equal(header.sessionId, this.id)) throw new HopsafeError('ERR_UNKNOWN_SESSION', 'record for another session');
    if (this.previous?.retireAt !== undefined && now >= this.previous.retireAt) this.retirePrevious();
    let state: RecvState;
    if (header.epoch === this.recv.epoch) state = this.recv;
    else if (this.previous && header.epoch === this.previous.epoch) state = this.previous;
    else if (header.epoch === this.recv.epoch + 1 && header.type !== FrameType.KEY_UPDATE) {
      // [SPEC 7.3] Arrived before the key update that introduces its epoch: hold a bounded few.
      if (this.early.length >= this.options.maxEarlyFrames) throw new HopsafeError('ERR_UNKNOWN_EPOCH', 'key update missing: too many frames ahead of it');
      this.early.push(frame.slice());
      return [];
    } else throw new HopsafeError('ERR_UNKNOWN_EPOCH', `no keys for epoch ${header.epoch}`);

    if (!state.window.check(header.seq)) throw new HopsafeError('ERR_REPLAY', 'duplicate or too old');
    const payload = openRecord(this.ctx, state.keys, header, frame);
    state.window.commit(header.seq);

    switch (header.type) {
      case FrameType.DATA:
        this.dataSinceAck++;
        return [{ type: 'data', payload, epoch: header.epoch, seq: header.seq }];
      case FrameType.ACK:
        return [{ type: 'ack', ranges: decodeAck(payload) }];
      case FrameType.ALERT: {
        const a = decodeAlert(payload);
        return [a.reference === undefined ? { type: 'alert', code: a.code } : { type: 'alert', code: a.code, reference: a.reference }];
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
    wipe(this.send.cs, this.recv.cs, this.previous?.cs);
    wipeKeys(this.send.keys);
    wipeKeys(this.recv.keys);
    wipeKeys(this.previous?.keys);
    for (const k of this.ephemerals.values()) wipe(k);
    this.ephemerals.clear();
    this.early = [];
    this.lastUpdate = undefined;
  }

  private applyUpdate(token: Uint8Array, now: number): Delivery[] {
    const u = applyKeyUpdate(this.ctx.provider, this.suite, this.recv.cs, this.recv.epoch, token, (e) => this.ephemerals.get(e));
    if (this.previous) this.retirePrevious();
    this.previous = { ...this.recv, retireAt: now + this.options.graceMs };
    this.recv = { epoch: u.token.newEpoch, cs: u.nextChainSecret, keys: this.keysFor(u.nextChainSecret), window: new ReplayWindow() };
    this.peerKey = { epoch: u.token.newEpoch, publicKey: u.token.publicKey };
    const out: Delivery[] = [{ type: 'key-update', epoch: u.token.newEpoch, requestUpdate: u.token.requestUpdate }];
    const held = this.early;
    this.early = [];
    for (const f of held) {
      try {
        out.push(...this.open(f, now));
      } catch (e) {
        out.push({ type: 'rejected', error: isHopsafeError(e) ? e : new HopsafeError('ERR_MALFORMED', 'held frame') });
      }
    }
    return out;
  }

  private retirePrevious(): void {
    if (!this.previous) return;
    wipe(this.previous.cs);
    wipeKeys(this.previous.keys);
    this.previous = undefined;
  }

  private pruneEphemerals(): void {
    while (this.ephemerals.size > this.options.retainedEphemerals) {
      const oldest = this.ephemerals.keys().next().value as number;
      wipe(this.ephemerals.get(oldest));
      this.ephemerals.delete(oldest);
    }
  }

  private keysFor(cs: Uint8Array): TrafficKeys {
    return trafficKeys(this.ctx.provider, this.suite, this.protection, cs);
  }

  private sealType(type: FrameType, payload: Uint8Array): Uint8Array {
    this.assertOpen();
    if (this.send.seq > MAX_SEQ) throw new HopsafeError('ERR_STATE', 'sequence space exhausted: key update required');
    const f = sealRecord(this.ctx, this.send.keys, type, this.id, this.send.epoch, this.send.seq, payload);
    this.send.seq++;
    return f;
  }

  private assertOpen(): void {
    if (this.closed) throw new HopsafeError('ERR_CLOSED', 'session closed');
  }
}
