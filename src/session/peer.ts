/**
 * The per-peer protocol, sans-I/O: one peer's sessions (current, previous in grace, a candidate awaiting key
 * confirmation), its pending handshake, the messages waiting for a session, acknowledgements and recovery.
 * Frames, sends and time go in (`receive`, `send`, `tick`, each with `now`); what to transmit, deliver, report
 * and when to be called again come out as actions. No timers, sockets or events. [SPEC 3.6, 5.3, 5.7–5.10, 7.3,
 * 7.6, 8.1, 8.7, 8.8]
 */
import { HopsafeError, isHopsafeError, ERROR_CODES, type ErrorCode } from '../errors/index.js';
import { concat, equal, toHex, wipe } from '../bytes/index.js';
import {
  decodeHandshakeAlert,
  decodeRecordHeader,
  encodeHandshakeAlert,
  frameByte,
  frameType,
  FrameType,
  isRecordFrame,
} from '../codec/frame.js';
import { decodeBatch } from '../codec/batch.js';
import { decodeSignedClearToken1, TOKEN_LIMITS } from '../codec/tokens.js';
import { signWith } from '../crypto/signer.js';
import { storedRolesAtMs } from '../pki/roles.js';
import type { RoleAssignment } from '../pki/types.js';
import {
  complete,
  initiate,
  precheckInit,
  prepareInit,
  signedInit,
  respondPrechecked,
  responseFrame,
  SIGN_CONTEXT,
  type HandshakeContext,
  type PendingHandshake,
  type Prechecked,
} from './handshake.js';
import type { Delivery, Session } from './session.js';
import { Confirmations, type Outcome, type Outgoing } from './confirmations.js';
import type { AlertLimiter, HandshakeAdmission } from './admission.js';
import type { Authorize, PeerAction, PeerCounters, PeerLimits, SessionIndex, Settle } from './peer-types.js';

export interface PeerEnv {
  readonly ctx: HandshakeContext;
  readonly limits: PeerLimits;
  readonly admission: HandshakeAdmission;
  readonly alerts: AlertLimiter;
  readonly counters: PeerCounters;
  readonly index: SessionIndex;
  readonly authorize: Authorize | undefined;
  /** Lets other work run before a verification (the endpoint: one event-loop turn). [SPEC 5.7] */
  readonly pause: () => Promise<void>;
}

interface Queued extends Settle {
  readonly data: Uint8Array;
  /** [SPEC 7.6] resolve/reject settle the end-to-end acknowledgement, not the hand-over. */
  readonly confirm: boolean;
  /** Sent as early data inside our ClearToken1 (integrity mode). */
  early: boolean;
  /** [SPEC 13.4] A GroupControl message: sealed as a GROUP_CTRL record, never early data, not subject to `authorize`. */
  readonly control?: true;
}

interface Pending {
  /** Until an asynchronous signer (SPEC 10.6) has signed our ClearToken1: its m1 is empty and `frame` undefined. */
  hs: PendingHandshake;
  frame: Uint8Array | undefined;
  expiresAt: number;
  retryAt: number;
  /** [SPEC 3.6] An HS_ALERT named this handshake. */
  hinted: boolean;
  /** [SPEC 5.11] Offline start: the time the first token of this queue's handshake was sent + offlineStartMs (undefined: off). */
  readonly offlineUntil: number | undefined;
  /** [SPEC 5.11] The interval of the next re-send (backs off once the token is older than handshakeTimeoutMs). */
  retryEveryMs: number;
  /** [SPEC 5.11] The token this one replaced (same session id): its HS_RESP, if it was accepted after all, still completes. */
  readonly prior: PendingHandshake | undefined;
}

/** [SPEC 5.11] What a fresh token that replaces a stale one keeps of it. */
interface Restart {
  readonly sessionId: Uint8Array;
  readonly offlineUntil: number;
  /** The replaced token's handshake: its HS_RESP still completes. */
  readonly prior: PendingHandshake;
}

/** An HS_INIT that passed the cheap checks at arrival. [SPEC 5.7] */
export interface ScreenedInit {
  readonly checked: Prechecked;
  /** Its signature already verified against the key this sender authenticated with before. */
  readonly authenticated: boolean;
}

/** [SPEC 5.9] A responder session that would replace an established one, until the initiator proves its keys. */
interface Candidate {
  readonly session: Session;
  readonly early: Uint8Array | undefined;
  readonly expiresAt: number;
}

/** [SPEC 3.6] A protected probe of the current session, after an unauthenticated hint that the peer lost it. */
interface Probe {
  readonly session: Session;
  readonly deadline: number;
}

const NO_ACTIONS: readonly PeerAction[] = Object.freeze([]);
/**
 * What an idle machine holds instead of its own empty arrays (≈ 32 bytes each per peer on an endpoint with many):
 * frozen, so a push that bypassed `act`/`enqueue` would throw instead of sharing state between peers.
 */
const NO_OUT = Object.freeze([]) as unknown as PeerAction[];
const NO_QUEUE = Object.freeze([]) as unknown as Queued[];
/** Where `Confirmations.track` reports what it gave up on (emptied right after each call: nothing runs in between). */
const trackOut: Outcome[] = [];

export class PeerMachine {
  private session: Session | undefined;
  private expiresAt = Infinity;
  private previous: { session: Session; retireAt: number } | undefined;
  private candidate: Candidate | undefined;
  private pending: Pending | undefined;
  private queue: Queued[] = NO_QUEUE;
  private epochAlerted: number | undefined;
  private probe: Probe | undefined;
  private lastProbeAt: number | undefined;
  private confirm: Confirmations | undefined;
  private ackDueAt: number | undefined;
  private initsInFlight = 0;
  private closed = false;
  private out: PeerAction[] = NO_OUT;
  private armedAt: number | undefined;
  private armedKeep = false;

  constructor(
    readonly id: string,
    private readonly env: PeerEnv,
  ) {}

  // ------------------------------------------------------------ state the shell reads

  /** Nothing here worth keeping: the shell may forget this peer. [SPEC 5.7] */
  get idle(): boolean {
    return (
      !this.session &&
      !this.previous &&
      !this.candidate &&
      !this.pending &&
      this.queue.length === 0 &&
      (this.confirm?.size ?? 0) === 0 &&
      this.initsInFlight === 0
    );
  }

  get current(): Session | undefined {
    return this.session;
  }

  /** When the last `timer` action asked to be called (undefined: never). */
  get deadline(): number | undefined {
    return this.armedAt;
  }

  /** A handshake we started is waiting for its response. */
  get handshaking(): boolean {
    return this.pending !== undefined;
  }

  /**
   * `send` at `now` would seal and transmit at once (an established, unexpired session with no handshake or queue
   * ahead), never queue: what it is given to settle is then used only for the transmit action's outcome.
   */
  canSendNow(now: number): boolean {
    return !this.closed && this.session !== undefined && now < this.expiresAt && !this.pending && this.queue.length === 0;
  }

  /** HS_INIT frames of this sender queued or being verified. [SPEC 5.7] */
  get initsQueued(): number {
    return this.initsInFlight;
  }

  unconfirmed(): Uint8Array[] {
    return this.confirm?.pending() ?? [];
  }

  /** Messages waiting for a session (bounded by maxQueued). */
  get waiting(): number {
    return this.queue.length;
  }

  /** [SPEC 7.6] Sent messages tracked until the peer acknowledges them. */
  get tracked(): number {
    return this.confirm?.size ?? 0;
  }

  // ------------------------------------------------------------ inputs

  /**
   * [SPEC 8] Sends `data`: at once on an established session, else queued behind a handshake this starts.
   * Throws (synchronously) what the caller should reject with.
   */
  send(data: Uint8Array, confirm: boolean, settle: Settle, now: number, control = false): PeerAction[] {
    if (this.closed) throw new HopsafeError('ERR_CLOSED', 'endpoint closed');
    this.expireIfDue(now);
    // While a new session is being opened (e.g. the peer lost its state, SPEC 8.8), messages wait for it rather than
    // go out on a session the peer may no longer have.
    if (this.session && !this.pending && this.queue.length === 0) {
      this.sendOn(this.session, data, confirm, settle, now, control);
      return this.drain(now);
    }
    if (this.queue.length >= this.env.limits.maxQueued)
      throw new HopsafeError('ERR_QUEUE_FULL', `more than ${this.env.limits.maxQueued} messages waiting for ${this.id}`);
    this.enqueue({
      data,
      confirm,
      early: false,
      resolve: settle.resolve,
      reject: settle.reject,
      ...(control ? { control: true as const } : {}),
    });
    if (!this.pending && !this.candidate) this.startHandshake(now);
    return this.drain(now);
  }

  /** [SPEC 7.2] Updates our keys in one message and asks the peer to update its own. */
  rekey(now: number): PeerAction[] {
    if (!this.session) {
      // [SPEC 7.2] While the first handshake is under way there is no session to update yet: the update is made as
      // soon as the session is installed (as a send waits for it), never silently dropped.
      if (this.pending) {
        this.rekeyOnSession = true;
        return [];
      }
      throw new HopsafeError('ERR_UNKNOWN_SESSION', `no session with ${this.id}`);
    }
    this.keyUpdate(this.session, true, now);
    return this.drain(now);
  }

  /**
   * [SPEC 5.4 steps 1–5, 5.7] The cheap checks of an HS_INIT, at arrival: stateless, no token spent. A sender that
   * authenticated before and presents the same certificate has the signature checked now against the key it
   * used then, so a flood of unsigned HS_INITs under its id cannot crowd out its genuine one.
   */
  screenInit(bytes: Uint8Array, now: number): ScreenedInit | undefined {
    // [SPEC 5.8] Simultaneous open: the endpoint with the smaller id ignores the peer's HS_INIT and keeps its own.
    if (this.pending && this.env.ctx.identity.id < this.id) return undefined;
    const checked = precheckInit(this.env.ctx, bytes, this.id, now);
    const key = this.env.admission.knownKey(this.id, checked.st.token.certificates[0], now);
    if (!key) return { checked, authenticated: false };
    const ok = this.env.ctx.provider.verify(key, concat(SIGN_CONTEXT.initiator, checked.st.tbs), checked.st.signature);
    if (!ok) throw new HopsafeError('ERR_BAD_SIGNATURE', 'token signature invalid');
    return { checked, authenticated: true };
  }

  /** [SPEC 3.6] An HS_INIT refused at arrival: the hint owed for it, if any (no state is created). */
  screenFailed(bytes: Uint8Array, e: unknown, now: number): PeerAction[] {
    const sid = peekInitSessionId(bytes);
    if (sid) this.hintRefusal(sid, e, now);
    return this.drain(now);
  }

  /** The shell queued a screened HS_INIT behind this sender's earlier frames. */
  initQueued(): void {
    this.initsInFlight++;
  }

  /**
   * One frame from this sender (not a BATCH: see `receiveBatch`). Records settle synchronously; an HS_INIT
   * (already screened and queued with `initQueued`) or HS_RESP resolves once verified.
   */
  receive(bytes: Uint8Array, now: number, init?: ScreenedInit): PeerAction[] | Promise<PeerAction[]> {
    if (this.closed) return [];
    try {
      switch (frameType(bytes)) {
        case FrameType.HS_INIT:
          return this.onInit(
            init ?? { checked: precheckInit(this.env.ctx, bytes, this.id, now), authenticated: false },
            now,
            init !== undefined,
          );
        case FrameType.HS_RESP:
          return this.onResponse(bytes, now);
        case FrameType.HS_ALERT:
          this.onHandshakeAlert(bytes, now);
          return this.drain(now);
        case FrameType.BATCH:
          return this.receiveBatch(bytes, now);
        default:
          this.onRecord(bytes, now);
          return this.drain(now);
      }
    } catch (e) {
      this.rejected(e);
      return this.drain(now);
    }
  }

  /** [SPEC 3.7] A BATCH frame: its records, in order, each as if it had arrived alone. */
  receiveBatch(bytes: Uint8Array, now: number): PeerAction[] {
    let records: Uint8Array[];
    try {
      records = decodeBatch(bytes);
    } catch (e) {
      this.rejected(e);
      return this.drain(now);
    }
    for (const r of records) {
      try {
        this.onRecord(r, now);
      } catch (e) {
        this.rejected(e);
      }
    }
    return this.drain(now);
  }

  /** Called at the time the last `timer` action named. */
  tick(now: number): PeerAction[] {
    this.armedAt = undefined;
    if (this.closed) return [];
    if (this.pending && now >= this.pending.expiresAt) {
      const hinted = this.pending.hinted;
      this.abandonPending();
      this.env.counters.handshakes.failed++;
      this.failQueue(
        hinted
          ? new HopsafeError('ERR_PEER_REFUSED', `${this.id} (or an intermediary) refused the handshake`)
          : new HopsafeError('ERR_TIMEOUT', `no handshake response from ${this.id} within ${this.env.limits.handshakeTimeoutMs} ms`),
      );
    } else if (this.pending?.frame && now >= this.pending.retryAt) {
      // [SPEC 5.7] Sent again unchanged: a responder verifies it once (same random) and ignores the copies.
      this.pending.retryAt = now + this.retryInterval(this.pending, now);
      this.act({ type: 'transmit', frame: this.pending.frame, record: false, onFailed: () => undefined });
    }
    if (this.candidate && now >= this.candidate.expiresAt) {
      // [SPEC 5.9] The initiator never proved its keys: the candidate and its early data go; the session stays.
      this.env.index.remove(toHex(this.candidate.session.id), this.id);
      this.candidate.session.destroy();
      this.candidate = undefined;
      if (this.queue.length > 0) this.failQueue(new HopsafeError('ERR_TIMEOUT', `no session with ${this.id}`));
    }
    if (this.previous && now >= this.previous.retireAt) this.retire();
    if (this.probe && now >= this.probe.deadline) {
      // [SPEC 3.6, 8.8] No authenticated answer: the peer did lose the session. Tell the application, open a new one.
      this.probe = undefined;
      this.rejected(new HopsafeError('ERR_UNKNOWN_SESSION', `${this.id} does not know our session: recent messages may be lost`));
      if (!this.pending) this.startHandshake(now);
    }
    this.expireIfDue(now);
    if (this.ackDueAt !== undefined && now >= this.ackDueAt) {
      this.ackDueAt = undefined;
      this.sealOwedAcks(now);
    }
    if (this.confirm) this.outcomes((o) => this.confirm?.expire(now, o));
    return this.drain(now);
  }

  /** The HS_INIT of the pending handshake could not be handed to the transport. */
  initFailed(hs: PendingHandshake | undefined, e: unknown, now: number): PeerAction[] {
    if (!hs || this.pending?.hs === hs) {
      this.abandonPending();
      this.failQueue(e);
    }
    return this.drain(now);
  }

  /** [SPEC 10.5] Ends the session when its peer's certificate is among `fingerprints`. */
  revoke(fingerprints: ReadonlySet<string>, now: number): PeerAction[] {
    if (this.session && fingerprints.has(this.session.peer.fingerprint)) {
      this.dropSession('ERR_CERT_REVOKED');
      this.rejected(new HopsafeError('ERR_CERT_REVOKED', `certificate of ${this.id} was revoked`));
    }
    return this.drain(now);
  }

  /** [SPEC 7.6, 8.8] Owed ACKs, then a protected ERR_CLOSED; everything else ends with ERR_CLOSED. */
  close(now: number): PeerAction[] {
    if (this.closed) return [];
    const s = this.session;
    if (s && !s.isClosed) {
      try {
        this.sealOwedAcks(now);
        this.record(s.sealAlert('ERR_CLOSED'));
      } catch {
        /* session unusable: nothing to say */
      }
    }
    this.abandonPending();
    this.dropSession('ERR_CLOSED');
    if (this.candidate) {
      this.env.index.remove(toHex(this.candidate.session.id), this.id);
      this.candidate.session.destroy();
      this.candidate = undefined;
    }
    this.outcomes((o) => this.confirm?.close('ERR_CLOSED', o));
    this.failQueue(new HopsafeError('ERR_CLOSED', 'endpoint closed'));
    this.ackDueAt = undefined;
    this.probe = undefined;
    this.closed = true;
    if (this.armedAt !== undefined) this.act({ type: 'timer', at: undefined, keepAlive: false });
    const out = this.out;
    this.out = NO_OUT;
    return out;
  }

  // ------------------------------------------------------------ outbound

  private sendOn(session: Session, data: Uint8Array, confirm: boolean, settle: Settle, now: number, control = false): void {
    if (!control && !this.allowed(session, 'send', data, now))
      throw new HopsafeError('ERR_FORBIDDEN', `policy forbids sending to ${this.id}`);
    // [SPEC 7.5, 7.2] Automatic key update before the limits are reached; the peer is asked to update too.
    if (session.needsKeyUpdate(now)) this.keyUpdate(session, true, now);
    const frame = this.sealData(session, data, confirm, settle, now, control);
    this.act({ type: 'transmit', frame, record: true, onSent: this.onSentOf(confirm, settle), onFailed: settle.reject });
  }

  /** What settles a sent message when its frame is handed over: nothing when it waits for the peer's ACK (SPEC 7.6). */
  private onSentOf(confirm: boolean, settle: Settle): () => void {
    return confirm && this.env.limits.acks.track > 0 ? noop : settle.resolve;
  }

  /** Seals one DATA (or GROUP_CTRL) record and tracks it for the peer's acknowledgement (SPEC 7.6). */
  private sealData(session: Session, data: Uint8Array, confirm: boolean, settle: Settle, now: number, control = false): Uint8Array {
    const epoch = session.sendEpoch;
    const seq = session.nextSeq;
    const frame = control ? session.sealControl(data) : session.seal(data);
    if (!control) this.env.counters.sent++;
    if (this.env.limits.acks.track > 0) {
      // Plain object literals (no spreads): one allocation per message.
      const item: Outgoing = control
        ? confirm
          ? { data, settle, control: true }
          : { data, control: true }
        : confirm
          ? { data, settle }
          : { data };
      const given = trackOut;
      this.confirmations().track(session, epoch, seq, now, item, given);
      if (given.length > 0) {
        for (const o of given) this.act({ type: 'outcome', code: o.code, items: o.items });
        given.length = 0;
      }
    }
    return frame;
  }

  private keyUpdate(session: Session, requestUpdate: boolean, now: number): void {
    const frame = session.keyUpdate(now, requestUpdate);
    this.env.counters.keyUpdates.sent++;
    this.act({ type: 'key-update', direction: 'send', epoch: session.sendEpoch });
    this.record(frame);
  }

  private record(frame: Uint8Array): void {
    this.act({ type: 'transmit', frame, record: true, onFailed: noop });
  }

  /**
   * [SPEC 5.7, 5.11] The re-send interval: handshakeRetryMs; for an offline-tolerant handshake whose token is older
   * than handshakeTimeoutMs, doubling up to half the freshness window (the copies wait in a storing broker).
   */
  private retryInterval(p: Pending, now: number): number {
    const base = this.env.limits.handshakeRetryMs;
    if (p.offlineUntil === undefined || now - p.hs.createdAt < this.env.limits.handshakeTimeoutMs) return base;
    p.retryEveryMs = Math.min(Math.max(base, this.env.ctx.replayCache.windowMs / 2), p.retryEveryMs * 2);
    return p.retryEveryMs;
  }

  /**
   * [SPEC 5.11] Offline start: an ERR_STALE hint names our pending handshake. If its token is older than the freshness
   * window (so the hint is plausible: no responder accepts it any more), a fresh token replaces it — new timestamp,
   * random and key shares, the same session id (so a responder that did accept the old token refuses the new one as
   * ERR_REPLAY, §5.9, and early data is never delivered twice), the same queue. Otherwise the hint is ignored.
   */
  private restartStale(p: Pending, now: number): void {
    if (p.offlineUntil === undefined || now - p.hs.createdAt <= this.env.ctx.replayCache.windowMs) return;
    // The old token's ephemerals stay (its HS_RESP may be late, not lost); the one before it goes.
    if (p.prior) wipeEphemerals(p.prior);
    this.pending = undefined;
    for (const m of this.queue) m.early = false; // the stale token's early data was never delivered: it rides again
    this.startHandshake(now, { sessionId: p.hs.sessionId, offlineUntil: p.offlineUntil, prior: p.hs });
  }

  /** [SPEC 5.11] An offline-tolerant handshake lives until offlineUntil (a restart: at least one more handshakeTimeoutMs). */
  private lifetime(
    now: number,
    restart: Restart | undefined,
  ): Pick<Pending, 'expiresAt' | 'hinted' | 'offlineUntil' | 'retryEveryMs' | 'prior'> {
    const { handshakeTimeoutMs, handshakeRetryMs, offlineStartMs } = this.env.limits;
    const offlineUntil = restart?.offlineUntil ?? (offlineStartMs > 0 ? now + offlineStartMs : undefined);
    return {
      expiresAt: Math.max(now + handshakeTimeoutMs, offlineUntil ?? 0),
      hinted: false,
      offlineUntil,
      retryEveryMs: handshakeRetryMs,
      prior: restart?.prior,
    };
  }

  private startHandshake(now: number, restart?: Restart): void {
    // [SPEC 5.3] In integrity mode the first payload rides, signed and readable, inside ClearToken1.
    const first = this.queue[0];
    const early =
      this.env.ctx.protection === 'integrity' && first && !first.early && !first.control && first.data.length <= TOKEN_LIMITS.maxEarlyData
        ? first
        : undefined;
    if (this.env.ctx.identity.signer) {
      this.startSignedHandshake(now, early, restart);
      return;
    }
    let r: ReturnType<typeof initiate>;
    try {
      r = initiate(this.env.ctx, this.id, now, early?.data, restart?.sessionId);
    } catch (e) {
      this.failQueue(e);
      return;
    }
    if (early) early.early = true;
    this.pending = { hs: r.pending, frame: r.frame, retryAt: now + this.env.limits.handshakeRetryMs, ...this.lifetime(now, restart) };
    this.env.counters.handshakes.initiated++;
    // Sent inside the handshake: done from the application's point of view (without `confirm`; with it, the signed
    // response confirms it, SPEC 7.6). It stays queued until the handshake completes, in case a simultaneous open
    // makes us send it again (SPEC 5.8).
    const onSent = early && !early.confirm ? early.resolve : noop;
    this.act({ type: 'transmit', frame: r.frame, record: false, onSent, handshake: true });
  }

  /**
   * [SPEC 10.6] `startHandshake` with an identity whose key signs asynchronously: the handshake is pending (not
   * re-sent, but bounded by the handshake timeout) while the signer works; the shell calls back once it answered.
   */
  private startSignedHandshake(now: number, early: Queued | undefined, restart: Restart | undefined): void {
    const signer = this.env.ctx.identity.signer;
    if (!signer) return;
    let u: ReturnType<typeof prepareInit>;
    try {
      u = prepareInit(this.env.ctx, this.id, now, early?.data, restart?.sessionId);
    } catch (e) {
      this.failQueue(e);
      return;
    }
    if (early) early.early = true;
    const p: Pending = { hs: { ...u.pending, m1: new Uint8Array(0) }, frame: undefined, retryAt: Infinity, ...this.lifetime(now, restart) };
    this.pending = p;
    this.env.counters.handshakes.initiated++;
    let outcome: { signature: Uint8Array } | { error: unknown } = { error: new HopsafeError('ERR_STATE', 'not signed') };
    const until = signWith(signer, concat(SIGN_CONTEXT.initiator, u.tbs)).then(
      (signature) => {
        outcome = { signature };
      },
      (error: unknown) => {
        outcome = { error };
      },
    );
    this.act({ type: 'await', until, resume: (t) => this.initSigned(p, u, outcome, early, t) });
  }

  private initSigned(
    p: Pending,
    u: ReturnType<typeof prepareInit>,
    outcome: { signature: Uint8Array } | { error: unknown },
    early: Queued | undefined,
    now: number,
  ): PeerAction[] {
    // Abandoned meanwhile (the peer's HS_INIT won, a timeout, close): the signature is not used.
    if (this.closed || this.pending !== p) return this.drain(now);
    if ('error' in outcome) {
      this.abandonPending();
      this.env.counters.handshakes.failed++;
      this.failQueue(outcome.error);
      return this.drain(now);
    }
    const r = signedInit(u, outcome.signature);
    p.hs = r.pending;
    p.frame = r.frame;
    p.retryAt = now + this.env.limits.handshakeRetryMs;
    const onSent = early && !early.confirm ? early.resolve : noop;
    this.act({ type: 'transmit', frame: r.frame, record: false, onSent, handshake: true });
    return this.drain(now);
  }

  private failQueue(e: unknown): void {
    const err = isHopsafeError(e) ? e : new HopsafeError('ERR_TRANSPORT', 'transport failed', { cause: e });
    const q = this.queue;
    this.queue = NO_QUEUE;
    for (const m of q) m.reject(err);
  }

  private flushQueue(session: Session, now: number): void {
    const q = this.queue;
    this.queue = NO_QUEUE;
    for (const m of q) {
      if (m.early) {
        // Delivered inside our ClearToken1; the peer's signed response is its acknowledgement (SPEC 7.6).
        this.env.counters.sent++;
        if (this.env.limits.acks.track > 0)
          this.act({ type: 'outcome', code: undefined, items: m.confirm ? [{ data: m.data, settle: m }] : [{ data: m.data }] });
        continue;
      }
      try {
        this.sendOn(session, m.data, m.confirm, m, now, m.control === true);
      } catch (e) {
        m.reject(e);
      }
    }
  }

  // ------------------------------------------------------------ handshakes

  private async onInit(init: ScreenedInit, now: number, queued: boolean): Promise<PeerAction[]> {
    let release: (() => void) | undefined;
    try {
      // [SPEC 5.8] Simultaneous open: the endpoint with the smaller id keeps its own handshake.
      if (this.pending && this.env.ctx.identity.id < this.id) return this.drain(now);
      // [SPEC 5.4] A session id this peer already uses is refused (the responder's index is (sender, id)).
      if (this.usesSessionId(init.checked.st.token.sessionId)) throw new HopsafeError('ERR_REPLAY', 'session id in use');
      release = this.env.admission.admit(this.id, now, init.authenticated);
      if (!release) throw new HopsafeError('ERR_HANDSHAKE_LIMIT', 'handshake rate limit');
      // Verification is synchronous CPU work: let timers and sockets (other peers' records) run first.
      await this.env.pause();
      let r: Awaited<ReturnType<typeof respondPrechecked>>;
      try {
        r = await respondPrechecked(this.env.ctx, init.checked, now);
      } catch (e) {
        this.env.counters.handshakes.failed++;
        this.hintRefusal(init.checked.st.token.sessionId, e, now);
        throw e;
      }
      if (this.closed) {
        r.session.destroy();
        return [];
      }
      // [SPEC 8.7, 5.3] Early data the application would not receive refuses the handshake that carries it: the
      // signed response would otherwise confirm it (SPEC 7.6). The initiator learns it from the hint, or times out.
      if (r.earlyData && !this.allowed(r.session, 'receive', r.earlyData, now)) {
        r.session.destroy();
        this.env.counters.handshakes.failed++;
        this.hint(init.checked.st.token.sessionId, 'ERR_FORBIDDEN', now);
        throw new HopsafeError('ERR_FORBIDDEN', `policy forbids the early data from ${this.id}`);
      }
      this.env.admission.remember(this.id, r.peer);
      this.responded(r, now);
      return this.drain(now);
    } catch (e) {
      this.rejected(e);
      return this.drain(now);
    } finally {
      release?.();
      if (queued) this.initsInFlight--;
    }
  }

  /** A verified HS_INIT: answer it, and install the session now or once the initiator proves its keys. */
  private responded(r: Awaited<ReturnType<typeof respondPrechecked>>, now: number): void {
    const hadPending = this.pending !== undefined;
    this.abandonPending();
    if (hadPending) for (const m of this.queue) m.early = false; // our abandoned ClearToken1 was ignored by the peer (SPEC 5.8)
    this.expireIfDue(now);
    if (this.session) {
      // [SPEC 5.9] A live session is replaced only once the initiator has proven it holds the new keys (its first
      // record on the new session): a replayed or crossing HS_INIT cannot displace it, nor deliver early data.
      if (this.candidate) {
        this.env.index.remove(toHex(this.candidate.session.id), this.id);
        this.candidate.session.destroy();
      }
      // The response carries a KEY_UPDATE that asks for one back: the initiator's answer is the proof.
      this.candidate = { session: r.session, early: r.earlyData, expiresAt: now + this.env.limits.handshakeTimeoutMs };
      this.env.index.add(toHex(r.session.id), this.id);
      const challenge = r.session.keyUpdate(now, true);
      this.env.counters.keyUpdates.sent++;
      this.act({ type: 'transmit', frame: responseFrame(r.token, challenge), record: false, onFailed: noop });
      return;
    }
    this.install(r.session, 'responder', now);
    if (r.earlyData) this.deliver(r.session, r.earlyData, 0, 0, now, false);
    // [SPEC 3.4] The first queued payload rides on the response.
    const first = this.queue.find((m) => !m.early);
    if (first && !first.control && this.allowed(r.session, 'send', first.data, now)) {
      this.queue.splice(this.queue.indexOf(first), 1);
      const record = this.sealData(r.session, first.data, first.confirm, first, now);
      this.act({
        type: 'transmit',
        frame: responseFrame(r.token, record),
        record: false,
        onSent: this.onSentOf(first.confirm, first),
        onFailed: first.reject,
      });
    } else this.act({ type: 'transmit', frame: responseFrame(r.token, undefined), record: false, onFailed: noop });
    this.flushQueue(r.session, now);
  }

  private async onResponse(bytes: Uint8Array, now: number): Promise<PeerAction[]> {
    try {
      const pending = this.pending;
      // (An HS_INIT still being signed has not been sent: nothing can answer it yet — but the token it replaces, §5.11.)
      if (!pending || (!pending.frame && !pending.prior)) throw new HopsafeError('ERR_UNKNOWN_SESSION', 'unsolicited handshake response');
      // A forged response fails here and leaves the genuine handshake pending.
      let r: Awaited<ReturnType<typeof complete>>;
      let other: PendingHandshake | undefined = pending.prior;
      try {
        if (!pending.frame) throw new HopsafeError('ERR_UNKNOWN_SESSION', 'unsolicited handshake response');
        r = await complete(this.env.ctx, pending.hs, bytes, this.id, now);
      } catch (e) {
        // [SPEC 5.11] Or the response to the token this one replaced: a responder did accept it (its answer was late).
        const prior = pending.prior;
        if (!prior || this.pending !== pending) throw e;
        r = await complete(this.env.ctx, prior, bytes, this.id, now).catch(() => {
          throw e;
        });
        other = pending.hs;
      }
      if (this.pending !== pending || this.closed) {
        r.session.destroy();
        return this.drain(now);
      }
      if (other) wipeEphemerals(other);
      this.pending = undefined;
      this.env.admission.remember(this.id, r.peer);
      this.install(r.session, 'initiator', now);
      // [SPEC 5.9] A response that carries a KEY_UPDATE asking for one back is answered here, under the new keys.
      if (r.record) this.handleDeliveries(r.session, r.session.open(r.record, now), now);
      this.flushQueue(r.session, now);
      this.scheduleAck(r.session, now);
      return this.drain(now);
    } catch (e) {
      this.rejected(e);
      return this.drain(now);
    }
  }

  /** [SPEC 3.6] A refused HS_INIT may be answered with a hint; never for floods' codes. */
  private hintRefusal(sessionId: Uint8Array, e: unknown, now: number): void {
    if (
      !isHopsafeError(e) ||
      e.code === 'ERR_REPLAY' ||
      e.code === 'ERR_HANDSHAKE_LIMIT' ||
      e.code === 'ERR_MALFORMED' ||
      e.code === 'ERR_TOO_LARGE'
    )
      return;
    this.hint(sessionId, e.code, now);
  }

  private hint(sessionId: Uint8Array, code: ErrorCode, now: number): void {
    if (!this.env.alerts.allow(this.id, toHex(sessionId), code, now)) return;
    this.act({ type: 'transmit', frame: encodeHandshakeAlert(sessionId, code), record: false, onFailed: noop });
  }

  private onHandshakeAlert(bytes: Uint8Array, now: number): void {
    // [SPEC 3.6] Unauthenticated: only a hint. It can end a pending handshake early (which an intermediary could do
    // anyway by dropping), or make a live session send a protected probe; the code it names is never reported.
    const a = decodeHandshakeAlert(bytes);
    const p = this.pending;
    if (p && equal(p.hs.sessionId, a.sessionId)) {
      // [SPEC 5.11] Offline start: a staleness hint restarts the handshake with a fresh token or is ignored; it never
      // ends it (a forged one must not cost the queued messages).
      if (p.offlineUntil !== undefined && a.code === 'ERR_STALE') {
        this.restartStale(p, now);
        return;
      }
      // Not ended at once (a forged hint must not kill a genuine handshake, e.g. one verified under a flood): it is
      // no longer re-sent, and ends with ERR_PEER_REFUSED unless its response comes within 2 × handshakeRetryMs.
      p.hinted = true;
      p.retryAt = Infinity;
      p.expiresAt = Math.min(p.expiresAt, now + 2 * this.env.limits.handshakeRetryMs);
      return;
    }
    const s = this.session;
    if (a.code !== 'ERR_UNKNOWN_SESSION' || !s || !equal(s.id, a.sessionId) || this.pending || this.probe) return;
    if (this.lastProbeAt !== undefined && now - this.lastProbeAt < 1000 && now >= this.lastProbeAt) return;
    this.lastProbeAt = now;
    // [SPEC 3.6, 8.8] A key update that asks for one back: only a peer holding the session can answer it.
    this.keyUpdate(s, true, now);
    this.probe = { session: s, deadline: now + this.env.limits.probeTimeoutMs };
  }

  // ------------------------------------------------------------ records

  private onRecord(bytes: Uint8Array, now: number): void {
    const header = decodeRecordHeader(bytes);
    this.expireIfDue(now);
    const session = this.sessionFor(header.sessionId);
    if (!session) {
      // [SPEC 8.1] A session's records must arrive from its peer (a redirected frame is refused).
      if (this.env.index.heldByOther(toHex(header.sessionId), this.id)) throw new HopsafeError('ERR_WRONG_PEER', 'record of another peer');
      this.hint(header.sessionId, 'ERR_UNKNOWN_SESSION', now);
      throw new HopsafeError('ERR_UNKNOWN_SESSION', 'no such session');
    }
    let ds: Delivery[];
    try {
      ds = session.open(bytes, now, header);
    } catch (e) {
      // [SPEC 7.3] The key update that opens the peer's next epoch never came: say so once, under our own (still
      // working) send direction, so the peer sends it again.
      if (
        isHopsafeError(e) &&
        e.code === 'ERR_UNKNOWN_EPOCH' &&
        session === this.session &&
        header.epoch === session.receiveEpoch + 1 &&
        this.epochAlerted !== header.epoch
      ) {
        this.epochAlerted = header.epoch;
        this.record(session.sealAlert('ERR_UNKNOWN_EPOCH', header.epoch));
      }
      throw e;
    }
    // [SPEC 3.6] Any authenticated record answers a probe.
    if (this.probe?.session === session) this.probe = undefined;
    if (session === this.candidate?.session) this.promote(now);
    this.handleDeliveries(session, ds, now);
    this.scheduleAck(session, now);
  }

  /** [SPEC 5.9] The initiator proved it holds the candidate's keys: it replaces the current session. */
  private promote(now: number): void {
    const c = this.candidate;
    if (!c) return;
    this.candidate = undefined;
    this.install(c.session, 'responder', now);
    if (c.early) this.deliver(c.session, c.early, 0, 0, now, false);
    this.flushQueue(c.session, now);
  }

  private handleDeliveries(session: Session, ds: readonly Delivery[], now: number): void {
    for (const d of ds) {
      switch (d.type) {
        case 'data':
          this.deliver(session, d.payload, d.epoch, d.seq, now, true, d.control === true);
          break;
        case 'key-update':
          this.env.counters.keyUpdates.received++;
          this.act({ type: 'key-update', direction: 'receive', epoch: d.epoch });
          // [SPEC 7.2] Answered with requestUpdate = false (no ping-pong).
          if (d.requestUpdate && this.session === session) this.keyUpdate(session, false, now);
          break;
        case 'ack':
          this.outcomes((o) => this.confirm?.onAck(session, d.ranges, now, o));
          break;
        case 'alert':
          this.onAlert(session, d);
          break;
        case 'rejected':
          this.rejected(d.error);
          break;
      }
    }
  }

  private onAlert(session: Session, d: Extract<Delivery, { type: 'alert' }>): void {
    // [SPEC 8.7] A message refused by the peer's policy is not confirmed.
    if (d.code === 'ERR_FORBIDDEN' && d.reference !== undefined) {
      const epoch = d.referenceEpoch;
      const seq = d.reference;
      if (epoch !== undefined) this.outcomes((o) => this.confirm?.refused(session, epoch, seq, o));
    }
    if (d.code === 'ERR_CLOSED') {
      if (this.session === session) this.dropSession('ERR_CLOSED');
    } else if (d.code === 'ERR_UNKNOWN_EPOCH' && d.reference === session.sendEpoch && session.lastKeyUpdate) {
      // [SPEC 7.3] Our key update was lost: send the same record again (the peer's window has not seen it).
      this.record(session.lastKeyUpdate);
    } else this.rejected(new HopsafeError(toCode(d.code), `peer ${this.id} refused message ${d.reference ?? ''}`.trim()));
  }

  private deliver(session: Session, data: Uint8Array, epoch: number, seq: number, now: number, isRecord: boolean, control = false): void {
    const roles = storedRolesAtMs(session.peer.roles, now);
    // [SPEC 13.4] GroupControl goes to the endpoint's group layer, whose allow-list decides (not `authorize`).
    if (control) {
      this.act({ type: 'deliver', data, roles, control: { fingerprint: session.peer.fingerprint } });
      return;
    }
    if (!this.allowed(session, 'receive', data, now)) {
      // [SPEC 8.7] Refused (policy, or a hook that threw): not delivered, never acknowledged, and the sender learns
      // it through a protected alert naming the record.
      this.rejected(new HopsafeError('ERR_FORBIDDEN', `policy forbids messages from ${this.id}`));
      if (isRecord) {
        session.refuseReceived(epoch, seq);
        this.record(session.sealAlert('ERR_FORBIDDEN', seq, epoch));
      }
      return;
    }
    this.env.counters.received++;
    this.act({ type: 'deliver', data, roles });
  }

  /** [SPEC 8.7, 10.4] The hook and policy over the roles valid now; a hook that throws refuses. */
  private allowed(session: Session, direction: 'send' | 'receive', data: Uint8Array, now: number): boolean {
    const authorize = this.env.authorize;
    if (!authorize) return true;
    try {
      return authorize({ peer: this.id, roles: storedRolesAtMs(session.peer.roles, now), direction, data }) === true;
    } catch {
      return false;
    }
  }

  /** [SPEC 7.6] ACK at once after `acks.every` DATA records, else `acks.delayMs` after the first. */
  private scheduleAck(session: Session, now: number): void {
    const due = session.acksDue;
    if (due === 0) return;
    if (due >= this.env.limits.acks.every) {
      const ack = session.sealAck(now);
      if (ack) this.record(ack);
      return;
    }
    this.ackDueAt ??= now + this.env.limits.acks.delayMs;
  }

  /** [SPEC 7.6] The ACK records owed on the previous (in grace) and current session. */
  private sealOwedAcks(now: number): void {
    for (const s of [this.previous?.session, this.session]) {
      const ack = s && !s.isClosed && s.acksDue > 0 ? s.sealAck(now) : undefined;
      if (ack) this.record(ack);
    }
  }

  // ------------------------------------------------------------ the session table of this peer

  private sessionFor(sessionId: Uint8Array): Session | undefined {
    const s = this.session;
    if (s?.hasId(sessionId)) return s;
    const p = this.previous?.session;
    if (p?.hasId(sessionId)) return p;
    const c = this.candidate?.session;
    return c?.hasId(sessionId) ? c : undefined;
  }

  private usesSessionId(sessionId: Uint8Array): boolean {
    return this.sessionFor(sessionId) !== undefined || (this.pending !== undefined && equal(this.pending.hs.sessionId, sessionId));
  }

  /** [SPEC 7.2] rekey() was called while the first handshake was pending: update the keys once the session is up. */
  private rekeyOnSession = false;

  private install(session: Session, role: 'initiator' | 'responder', now: number): void {
    const old = this.session;
    if (old) {
      // [SPEC 7.6, 8.8] A new session replaces one the peer lost or gave up: what it did not acknowledge is reported.
      this.outcomes((o) => this.confirm?.sessionEnded(old, 'ERR_UNKNOWN_SESSION', o));
      this.retire();
      this.previous = { session: old, retireAt: now + session.options.graceMs };
    }
    if (this.candidate && this.candidate.session !== session) {
      this.env.index.remove(toHex(this.candidate.session.id), this.id);
      this.candidate.session.destroy();
      this.candidate = undefined;
    }
    this.session = session;
    this.probe = undefined;
    this.epochAlerted = undefined;
    // [SPEC 5.10] No longer than the earliest notAfter on the peer's path, nor maxSessionLifetimeMs.
    this.expiresAt = Math.min(session.peer.notAfterMs, now + this.env.limits.maxSessionLifetimeMs);
    this.env.index.add(toHex(session.id), this.id);
    this.env.counters.handshakes.completed++;
    this.act({ type: 'session', role, suite: session.suite.name, protection: session.protection });
    if (this.rekeyOnSession) {
      this.rekeyOnSession = false;
      this.keyUpdate(session, true, now); // [SPEC 7.2] a rekey() asked for while the handshake was pending
    }
  }

  /** [SPEC 5.10] An expired session ends; the next send opens a new one. */
  private expireIfDue(now: number): void {
    if (!this.session || now < this.expiresAt) return;
    const code: ErrorCode = now >= this.session.peer.notAfterMs ? 'ERR_CERT_EXPIRED' : 'ERR_SESSION_EXPIRED';
    this.dropSession(code);
  }

  private retire(): void {
    if (!this.previous) return;
    this.env.index.remove(toHex(this.previous.session.id), this.id);
    this.previous.session.destroy();
    this.previous = undefined;
  }

  private dropSession(reason: ErrorCode): void {
    this.retire();
    const s = this.session;
    if (!s) return;
    this.outcomes((o) => this.confirm?.sessionEnded(s, reason, o));
    this.env.index.remove(toHex(s.id), this.id);
    s.destroy();
    this.session = undefined;
    this.expiresAt = Infinity;
    this.probe = undefined;
    this.ackDueAt = undefined;
    this.act({ type: 'session-closed', reason });
  }

  private abandonPending(): void {
    if (!this.pending) return;
    wipeEphemerals(this.pending.hs);
    if (this.pending.prior) wipeEphemerals(this.pending.prior);
    this.pending = undefined;
  }

  // ------------------------------------------------------------ plumbing

  private act(a: PeerAction): void {
    if (this.out === NO_OUT) this.out = [a];
    else this.out.push(a);
  }

  private enqueue(m: Queued): void {
    if (this.queue === NO_QUEUE) this.queue = [m];
    else this.queue.push(m);
  }

  private confirmations(): Confirmations {
    this.confirm ??= new Confirmations(this.env.limits.acks);
    return this.confirm;
  }

  private outcomes(fill: (out: Outcome[]) => void): void {
    const list: Outcome[] = [];
    fill(list);
    for (const o of list) this.act({ type: 'outcome', code: o.code, items: o.items });
    if (this.confirm?.size === 0) this.confirm = undefined; // an empty tracker holds nothing
  }

  private rejected(e: unknown): void {
    const error = isHopsafeError(e) ? e : new HopsafeError('ERR_MALFORMED', 'unexpected failure', { cause: e });
    this.act({ type: 'reject', error });
  }

  /** The actions gathered, with the timer moved to the earliest deadline when it changed. */
  private drain(_now: number): PeerAction[] {
    const at = this.nextDeadline();
    // Work owed: an ACK, an outcome for the application, sends waiting for a session.
    const keepAlive = this.ackDueAt !== undefined || this.confirm !== undefined || this.queue.length > 0;
    if (at !== this.armedAt || keepAlive !== this.armedKeep) {
      this.armedAt = at;
      this.armedKeep = keepAlive;
      this.act({ type: 'timer', at, keepAlive });
    }
    if (this.out.length === 0) return NO_ACTIONS as PeerAction[];
    const out = this.out;
    this.out = NO_OUT;
    return out;
  }

  private nextDeadline(): number | undefined {
    let at = Infinity;
    if (this.pending) at = Math.min(at, this.pending.expiresAt, this.pending.retryAt);
    if (this.candidate) at = Math.min(at, this.candidate.expiresAt);
    if (this.previous) at = Math.min(at, this.previous.retireAt);
    if (this.probe) at = Math.min(at, this.probe.deadline);
    if (this.session && Number.isFinite(this.expiresAt)) at = Math.min(at, this.expiresAt);
    if (this.ackDueAt !== undefined) at = Math.min(at, this.ackDueAt);
    const d = this.confirm?.deadline;
    if (d !== undefined) at = Math.min(at, d);
    return Number.isFinite(at) ? at : undefined;
  }
}

/**
 * [SPEC 3.6, 5.7, 8.8] A frame from a sender the endpoint keeps nothing for, answered without creating any
 * state: a record of an unknown session gets a (rate-limited) hint; anything else that is not an HS_INIT is
 * dropped. Returns the error to report and the hint to send, if any.
 */
export function statelessReply(
  from: string,
  bytes: Uint8Array,
  now: number,
  alerts: AlertLimiter,
  index: SessionIndex,
): { error: HopsafeError; transmit?: Uint8Array } {
  try {
    const type = frameType(bytes);
    if (type === FrameType.HS_RESP) return { error: new HopsafeError('ERR_UNKNOWN_SESSION', 'unsolicited handshake response') };
    if (type === FrameType.HS_ALERT) {
      decodeHandshakeAlert(bytes);
      return { error: new HopsafeError('ERR_UNKNOWN_SESSION', 'handshake alert for no session') };
    }
    const records = type === FrameType.BATCH ? decodeBatch(bytes) : [bytes];
    const first = records[0];
    if (!first) return { error: new HopsafeError('ERR_MALFORMED', 'empty batch') };
    const header = decodeRecordHeader(first);
    const sid = toHex(header.sessionId);
    if (index.heldByOther(sid, from)) return { error: new HopsafeError('ERR_WRONG_PEER', 'record of another peer') };
    const error = new HopsafeError('ERR_UNKNOWN_SESSION', 'no such session');
    return alerts.allow(from, sid, 'ERR_UNKNOWN_SESSION', now)
      ? { error, transmit: encodeHandshakeAlert(header.sessionId, 'ERR_UNKNOWN_SESSION') }
      : { error };
  } catch (e) {
    return { error: isHopsafeError(e) ? e : new HopsafeError('ERR_MALFORMED', 'unexpected failure', { cause: e }) };
  }
}

/**
 * How the shell schedules a frame: `init` (an HS_INIT: screened at arrival, verified in order), `sync` (records and
 * BATCH frames: settled synchronously) or `async` (an HS_RESP, an HS_ALERT or anything else).
 */
export function frameKind(bytes: Uint8Array): 'init' | 'sync' | 'async' {
  const b = bytes[0];
  if (b === HS_INIT_BYTE) return 'init';
  if (b === BATCH_BYTE || isRecordFrame(bytes)) return 'sync';
  return 'async';
}
const HS_INIT_BYTE = frameByte(FrameType.HS_INIT);
const BATCH_BYTE = frameByte(FrameType.BATCH);

export type { HandshakeContext };

/** Session id of a refused ClearToken1, only to address the refusal hint; nothing is trusted from it. */
function peekInitSessionId(bytes: Uint8Array): Uint8Array | undefined {
  try {
    return decodeSignedClearToken1(bytes.subarray(1)).token.sessionId;
  } catch {
    return undefined;
  }
}

/** A code received from a peer, as one of ours (anything unknown becomes ERR_MALFORMED). */
function toCode(code: string): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'ERR_MALFORMED';
}

function noop(): void {}

function wipeEphemerals(hs: PendingHandshake): void {
  for (const kp of hs.ephemerals.values()) wipe(kp.privateKey);
}

export type { RoleAssignment };
