/**
 * The user-facing endpoint: a table of per-peer sessions driven by the sans-I/O protocol in
 * src/session, on top of one Transport. [SPEC 8]
 */
import { pino, type Logger } from 'pino';
import { ERROR_CODES, HopsafeError, isHopsafeError, type ErrorCode } from '../errors/index.js';
import { abytes, toHex, wipe } from '../bytes/index.js';
import { createNodeProvider } from '../crypto/node.js';
import { DEFAULT_SUITES, suiteByName } from '../crypto/suites.js';
import { decodeHandshakeAlert, decodeRecordHeader, encodeHandshakeAlert, frameByte, frameType, FrameType, isRecordFrame } from '../codec/frame.js';
import { decodeBatch } from '../codec/batch.js';
import { decodeSignedClearToken1, TOKEN_LIMITS } from '../codec/tokens.js';
import type { Transport } from '../bindings/transport.js';
import { assertEndpointId } from '../bindings/endpoint-id.js';
import type { PeerVerifier, RoleAssignment, TrustConfig } from '../pki/types.js';
import { HandshakeReplayCache } from '../session/freshness.js';
import { complete, initiate, precheckInit, respondPrechecked, responseFrame, type HandshakeContext, type PendingHandshake } from '../session/handshake.js';
import type { Delivery, Session } from '../session/session.js';
import { endpointConfigSchema, type EndpointConfig } from '../schemas/endpoint-options.js';
import { TypedEmitter } from './events.js';
import { TokenBucket } from './rate-limit.js';
import { emptyStats, type EndpointStats } from './stats.js';
import type { EndpointOptions, Authorize, SendOptions } from './options.js';
import { Confirmations, type Outgoing } from './confirmations.js';
import { Outbox, type CoalesceLimits } from './outbox.js';
import { openIdentity, type TrustHandle } from './identity.js';
import { buildAuthorize } from './authorization.js';

interface Queued {
  readonly data: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
  /** Sent as early data inside our ClearToken1 (integrity mode). */
  early?: boolean;
  /** [SPEC 7.6] resolve/reject settle the end-to-end acknowledgement, not the hand-over. */
  readonly confirm: boolean;
}

interface Pending {
  readonly hs: PendingHandshake;
  readonly timer: NodeJS.Timeout;
}

interface PeerState {
  readonly id: string;
  session?: Session;
  /** The session this one replaced, kept for in-flight frames until `graceMs`. */
  previous?: { session: Session; timer: NodeJS.Timeout };
  pending?: Pending;
  /** A response is being built: sends wait so the first can ride on it. */
  responding: boolean;
  queue: Queued[];
  /** Tail of this sender's inbound chain; `IDLE` (shared) while nothing is queued. */
  inbound: Promise<void>;
  inboundDepth: number;
  /** HS_INIT frames from this sender queued or being verified (bounded: SPEC 5.7). */
  initsQueued: number;
  /** Per-sender handshake rate (SPEC 5.7). */
  bucket?: TokenBucket;
  /** Epoch for which we already told the peer its key update is missing (SPEC 7.3). */
  epochAlerted?: number;
  /** When we last sent this peer an unauthenticated alert / re-opened the session (undefined: never). */
  lastAlertAt: number | undefined;
  lastRehandshakeAt: number | undefined;
  /** [SPEC 7.6] Our messages to this peer awaiting its acknowledgement (created on first use). */
  confirm?: Confirmations;
  /** [SPEC 7.6] Pending delayed ACK for records received from this peer. */
  ackTimer?: NodeJS.Timeout | undefined;
  /** [SPEC 3.7] Records to this peer being coalesced in the current event-loop turn (created on first use). */
  outbox?: Outbox | undefined;
}

const MAX_INBOUND_PER_PEER = 1024;
/** The inbound chain of a peer with nothing queued (one promise shared by all of them). */
const IDLE: Promise<void> = Promise.resolve();
/** [SPEC 5.7] HS_INIT frames one sender may have queued or under verification. */
const MAX_INITS_PER_PEER = 4;
const BATCH_BYTE = frameByte(FrameType.BATCH);
/** Upper bound of record overhead: header (≤ 19) + tag (≤ 48). */
const MAX_RECORD_OVERHEAD = 19 + 48;

export class Endpoint extends TypedEmitter {
  readonly id: string;
  private readonly cfg: EndpointConfig;
  private readonly transport: Transport;
  private readonly clock: () => number;
  private readonly hs: HandshakeContext;
  private readonly trust: TrustHandle;
  private readonly authorize: Authorize | undefined;
  private readonly log: Logger;
  private readonly peers = new Map<string, PeerState>();
  private readonly bySessionId = new Map<string, Session>();
  private readonly bucket: TokenBucket;
  private readonly counters: EndpointStats = emptyStats();
  private handshakesInFlight = 0;
  private closed = false;
  private readonly coalesce: CoalesceLimits;

  /** Use `createEndpoint`. */
  constructor(
    cfg: EndpointConfig,
    transport: Transport,
    clock: () => number,
    hs: HandshakeContext,
    trust: TrustHandle,
    authorize: Authorize | undefined,
    logger: Logger | undefined,
  ) {
    super();
    this.log = (logger ?? pino({ level: 'silent' })).child({ endpoint: cfg.id });
    this.id = cfg.id;
    this.cfg = cfg;
    this.transport = transport;
    this.clock = clock;
    this.hs = hs;
    this.trust = trust;
    this.authorize = authorize;
    this.bucket = new TokenBucket(cfg.handshakesPerSecond, Math.max(1, cfg.handshakesPerSecond), clock());
    this.coalesce = { ...cfg.coalesce, maxBytes: Math.min(cfg.coalesce.maxBytes, transport.maxFrameSize) };
    trust.onRevoked((fps) => this.closeRevoked(fps));
  }

  /**
   * Protects `data` end to end and sends it to `peerId`, opening a session first when needed. Resolves when the
   * frame was handed to the transport, or with `{ confirm: true }` when the peer acknowledged it (SPEC 7.6).
   */
  send(peerId: string, data: Uint8Array, options: SendOptions = {}): Promise<void> {
    // Not `async`: on an open session the transport's promise is returned as is (each async layer costs
    // microtask turns per message, and separates writes a socket could have taken together).
    try {
      return this.sendNow(peerId, data, options);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private sendNow(peerId: string, data: Uint8Array, options: SendOptions): Promise<void> {
    this.assertOpen();
    assertEndpointId(peerId, 'peer id');
    abytes(data, 'data');
    const confirm = options.confirm === true;
    if (confirm && this.cfg.acks.track === 0) throw new HopsafeError('ERR_CONFIG', 'confirm needs acks.track > 0');
    if (data.length + MAX_RECORD_OVERHEAD > this.transport.maxFrameSize)
      throw new HopsafeError('ERR_PAYLOAD_TOO_LARGE', `${data.length} bytes exceed what ${this.transport.name} carries (${this.transport.maxFrameSize} per frame)`);
    const ps = this.peer(peerId);
    // While a new session is being opened (e.g. the peer lost its state, SPEC 8.8), messages wait for it
    // rather than go out on a session the peer may no longer have.
    if (ps.session && !ps.responding && !ps.pending) return this.sendOn(ps, ps.session, data, confirm);
    if (ps.queue.length >= this.cfg.maxQueuedPerPeer) throw new HopsafeError('ERR_QUEUE_FULL', `more than ${this.cfg.maxQueuedPerPeer} messages waiting for ${peerId}`);
    return new Promise<void>((resolve, reject) => {
      ps.queue.push({ data, resolve, reject, confirm });
      if (!ps.session && !ps.pending) this.startHandshake(ps);
    });
  }

  /**
   * [SPEC 7.2] Updates the keys of the session with `peerId` in one message; the peer is asked to
   * update its direction too (one message back, no round trip waited for).
   */
  async rekey(peerId: string): Promise<void> {
    this.assertOpen();
    const ps = this.peers.get(peerId);
    if (!ps?.session) {
      // A handshake under way yields fresh keys anyway: nothing to update yet.
      if (ps?.pending) return;
      throw new HopsafeError('ERR_UNKNOWN_SESSION', `no session with ${peerId}`);
    }
    await this.sendKeyUpdate(ps, ps.session, true);
  }

  /** Reloads trust material at run time (e.g. a new CRL); sessions with peers now revoked are closed. */
  async updateTrust(trust: Partial<TrustConfig>): Promise<void> {
    await this.trust.update(trust);
  }

  stats(): EndpointStats {
    return {
      ...this.counters,
      sessions: [...this.peers.values()].filter((p) => p.session).length,
      rejected: { ...this.counters.rejected },
      handshakes: { ...this.counters.handshakes },
      keyUpdates: { ...this.counters.keyUpdates },
    };
  }

  /** [SPEC 7.6] Messages sent to `peerId` and not acknowledged yet, oldest first (the arrays given to `send`). */
  unconfirmed(peerId: string): Uint8Array[] {
    return this.peers.get(peerId)?.confirm?.pending() ?? [];
  }

  /** Peers with an established session. */
  sessions(): { peer: string; suite: string; protection: string; sendEpoch: number; receiveEpoch: number; roles: string[] }[] {
    const out = [];
    for (const p of this.peers.values())
      if (p.session)
        out.push({
          peer: p.id,
          suite: p.session.suite.name,
          protection: p.session.protection,
          sendEpoch: p.session.sendEpoch,
          receiveEpoch: p.session.receiveEpoch,
          roles: p.session.peer.roles.map((r) => r.role),
        });
    return out;
  }

  /** Tells peers the sessions end (protected ERR_CLOSED alert), closes the transport, wipes keys. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const goodbyes: Promise<unknown>[] = [];
    for (const ps of this.peers.values()) {
      if (ps.session) {
        try {
          // [SPEC 7.6] Acknowledge what we received before saying goodbye.
          for (const ack of this.owedAcks(ps)) goodbyes.push(this.sendRecord(ps, ack).catch(() => undefined));
          goodbyes.push(this.sendRecord(ps, ps.session.sealAlert('ERR_CLOSED')).catch(() => undefined));
        } catch {
          /* session unusable: nothing to say */
        }
      }
      this.dropPeer(ps, 'ERR_CLOSED');
    }
    await Promise.race([Promise.all(goodbyes), new Promise((r) => setTimeout(r, 500).unref())]);
    await this.transport.close();
    this.peers.clear();
    this.bySessionId.clear();
  }

  // ---------------------------------------------------------------- outbound

  /** Throws synchronously (callers turn it into a rejection). */
  private sendOn(ps: PeerState, session: Session, data: Uint8Array, confirm: boolean): Promise<void> {
    if (this.authorize && !this.authorize({ peer: ps.id, roles: session.peer.roles, direction: 'send', data }))
      throw new HopsafeError('ERR_FORBIDDEN', `policy forbids sending to ${ps.id}`);
    const now = this.clock();
    // [SPEC 7.5] Automatic key update before the limits are reached.
    if (session.needsKeyUpdate(now)) void this.sendKeyUpdate(ps, session, false).catch((e: unknown) => this.rejectEvent(e, ps.id));
    return this.sealAndSend(ps, session, data, confirm, (frame) => this.sendRecord(ps, frame));
  }

  /** [SPEC 3.7] Sends a record frame to the peer, coalesced with the others of this event-loop turn. */
  private sendRecord(ps: PeerState, frame: Uint8Array): Promise<void> {
    if (this.coalesce.maxRecords < 2) return this.transport.send(ps.id, frame);
    ps.outbox ??= new Outbox(
      this.coalesce,
      (f) => this.transport.send(ps.id, f),
      (box) => {
        if (ps.outbox === box) ps.outbox = undefined; // idle peers hold no outbox
      },
      (records) => {
        this.counters.batches++;
        this.counters.coalesced += records;
      },
    );
    return ps.outbox.push(frame);
  }

  /**
   * Seals one DATA record, tracks it for the peer's acknowledgement (SPEC 7.6) and hands it to `send`. With
   * `confirm`, the result settles on the acknowledgement (a transport failure rejects it at once).
   */
  private sealAndSend(ps: PeerState, session: Session, data: Uint8Array, confirm: boolean, send: (frame: Uint8Array) => Promise<void>): Promise<void> {
    const epoch = session.sendEpoch;
    const seq = session.nextSeq;
    const frame = session.seal(data);
    this.counters.sent++;
    if (this.cfg.acks.track === 0) return send(frame);
    if (!confirm) {
      this.confirmationsOf(ps).track(session, epoch, seq, { data });
      return send(frame);
    }
    return new Promise<void>((resolve, reject) => {
      const item: Outgoing = { data, settle: { resolve, reject } };
      this.confirmationsOf(ps).track(session, epoch, seq, item);
      send(frame).catch(reject);
    });
  }

  /** [SPEC 7.6] Nothing left awaiting this peer's acknowledgement: the tracker (and its timer) goes until next needed. */
  private releaseConfirmations(ps: PeerState): void {
    if (ps.confirm?.size === 0) ps.confirm = undefined; // an empty tracker holds no timer
  }

  private confirmationsOf(ps: PeerState): Confirmations {
    ps.confirm ??= new Confirmations(this.cfg.acks, this.clock, (code, items) => this.settle(ps.id, code, items));
    return ps.confirm;
  }

  /** [SPEC 7.6] Reports acknowledged (code undefined) or unconfirmed messages. */
  private settle(peer: string, code: ErrorCode | undefined, items: Outgoing[]): void {
    if (code === undefined) {
      this.counters.confirmed += items.length;
      for (const i of items) i.settle?.resolve();
      return;
    }
    this.counters.unconfirmed += items.length;
    const err = new HopsafeError(code, `message to ${peer} not confirmed (${code})`);
    for (const i of items) i.settle?.reject(err);
    this.log.info({ peer, code, count: items.length }, 'messages not confirmed');
    this.emit('unconfirmed', { peer, code, messages: items.map((i) => i.data) });
  }

  /** [SPEC 7.6] Acknowledges received DATA records: at once after `acks.every`, else after `acks.delayMs`. */
  private scheduleAck(ps: PeerState, session: Session): void {
    const due = session.acksDue;
    if (due === 0) return;
    if (due >= this.cfg.acks.every) return this.sendAck(ps, session);
    if (ps.ackTimer) return;
    ps.ackTimer = setTimeout(() => {
      ps.ackTimer = undefined;
      if (this.closed) return;
      try {
        for (const ack of this.owedAcks(ps)) this.sendRecord(ps, ack).catch(() => undefined);
      } catch (e) {
        this.rejectEvent(e, ps.id);
      }
    }, this.cfg.acks.delayMs); // short, and kept referenced: an acknowledgement owed is work still to do
  }

  private sendAck(ps: PeerState, session: Session): void {
    if (session.isClosed || this.closed) return;
    try {
      const frame = session.sealAck(this.clock());
      if (frame) this.sendRecord(ps, frame).catch(() => undefined);
    } catch (e) {
      this.rejectEvent(e, ps.id);
    }
  }

  /** [SPEC 7.6] The ACK records owed on the peer's previous (in grace) and current session, sealed now. */
  private owedAcks(ps: PeerState): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const s of [ps.previous?.session, ps.session]) {
      const ack = s && !s.isClosed && s.acksDue > 0 ? s.sealAck(this.clock()) : undefined;
      if (ack) out.push(ack);
    }
    return out;
  }

  private async sendKeyUpdate(ps: PeerState, session: Session, requestUpdate: boolean): Promise<void> {
    const frame = session.keyUpdate(this.clock(), requestUpdate);
    this.counters.keyUpdates.sent++;
    this.log.debug({ peer: ps.id, epoch: session.sendEpoch }, 'key update sent');
    this.emit('key-update', { peer: ps.id, direction: 'send', epoch: session.sendEpoch });
    await this.sendRecord(ps, frame);
  }

  private startHandshake(ps: PeerState): void {
    const now = this.clock();
    // [SPEC 5.3] In integrity mode the first payload rides, signed and readable, inside ClearToken1.
    const first = ps.queue[0];
    const early =
      this.cfg.protection === 'integrity' && first && !first.early && first.data.length <= TOKEN_LIMITS.maxEarlyData ? first : undefined;
    let r: ReturnType<typeof initiate>;
    try {
      r = initiate(this.hs, ps.id, now, early?.data);
    } catch (e) {
      this.failQueue(ps, e);
      return;
    }
    if (early) early.early = true;
    const timer = setTimeout(() => this.handshakeTimedOut(ps, r.pending), this.cfg.handshakeTimeoutMs);
    timer.unref();
    ps.pending = { hs: r.pending, timer };
    this.counters.handshakes.initiated++;
    this.transport.send(ps.id, r.frame).then(
      () => {
        // Sent inside the handshake: done from the application's point of view. It stays queued until
        // the handshake completes, in case a simultaneous open makes us re-send it (§5.8). With `confirm`,
        // the signed response confirms it (SPEC 7.6).
        if (early && !early.confirm) early.resolve();
      },
      (e: unknown) => {
        if (ps.pending?.hs === r.pending) this.abandonPending(ps);
        this.failQueue(ps, e);
      },
    );
  }

  private handshakeTimedOut(ps: PeerState, hs: PendingHandshake): void {
    if (ps.pending?.hs !== hs) return;
    this.abandonPending(ps);
    this.counters.handshakes.failed++;
    this.failQueue(ps, new HopsafeError('ERR_TIMEOUT', `no handshake response from ${ps.id} within ${this.cfg.handshakeTimeoutMs} ms`));
  }

  private abandonPending(ps: PeerState): void {
    if (!ps.pending) return;
    clearTimeout(ps.pending.timer);
    for (const kp of ps.pending.hs.ephemerals.values()) wipe(kp.privateKey);
    ps.pending = undefined;
  }

  private failQueue(ps: PeerState, e: unknown): void {
    const err = isHopsafeError(e) ? e : new HopsafeError('ERR_TRANSPORT', 'transport failed', { cause: e });
    const q = ps.queue;
    ps.queue = [];
    for (const m of q) m.reject(err);
  }

  private flushQueue(ps: PeerState, session: Session): void {
    const q = ps.queue;
    ps.queue = [];
    for (const m of q) {
      if (m.early) {
        // Delivered inside our ClearToken1; the peer's signed response is its acknowledgement (SPEC 7.6).
        this.counters.sent++;
        if (this.cfg.acks.track > 0) this.settle(ps.id, undefined, m.confirm ? [{ data: m.data, settle: m }] : [{ data: m.data }]);
        continue;
      }
      try {
        this.sendOn(ps, session, m.data, m.confirm).then(m.resolve, m.reject);
      } catch (e) {
        m.reject(e);
      }
    }
  }

  // ---------------------------------------------------------------- inbound

  /** Entry point for the transport. Never throws; ordered per transport sender. */
  readonly onFrame = (frame: { from: string; bytes: Uint8Array }): Promise<void> => {
    if (this.closed) return Promise.resolve();
    let ps: PeerState;
    try {
      assertEndpointId(frame.from, 'sender id');
      ps = this.peer(frame.from);
    } catch (e) {
      this.rejectEvent(e, undefined);
      return Promise.resolve();
    }
    // [SPEC 3.7] A BATCH frame: its records, in order, each as if it had arrived alone (same sender, same bounds).
    if (frame.bytes[0] === BATCH_BYTE) return this.onBatch(ps, frame.bytes);
    return this.accept(ps, frame.bytes);
  };

  /** One frame from the sender `ps`: bounded, then handled at once or queued behind the sender's earlier frames. */
  private accept(ps: PeerState, bytes: Uint8Array): Promise<void> {
    if (ps.inboundDepth >= MAX_INBOUND_PER_PEER) {
      this.rejectEvent(new HopsafeError('ERR_QUEUE_FULL', 'inbound queue full'), ps.id);
      return Promise.resolve();
    }
    // [SPEC 5.7] A sender gets a bounded number of handshakes in the queue; beyond, refused on arrival.
    const isInit = bytes[0] === frameByte(FrameType.HS_INIT);
    if (isInit && ps.initsQueued >= MAX_INITS_PER_PEER) {
      this.rejectEvent(new HopsafeError('ERR_HANDSHAKE_LIMIT', 'too many handshakes queued from this sender'), ps.id);
      return Promise.resolve();
    }
    if (ps.inboundDepth === 0 && isRecordFrame(bytes)) {
      // A record for an idle peer is handled at once: its processing is synchronous (it has settled when the call
      // returns), so it neither waits behind the rest of the batch the transport is parsing (MQTT hands over a whole
      // socket read) nor can be overtaken; a frame arriving re-entrantly meanwhile queues behind it.
      ps.inboundDepth++;
      const done = this.handleFrame(ps, bytes);
      ps.inboundDepth--;
      return done;
    }
    ps.inboundDepth++;
    if (isInit) ps.initsQueued++;
    const run = ps.inbound.then(() => this.handleFrame(ps, bytes));
    const tail = run.finally(() => {
      if (isInit) ps.initsQueued--;
      // Drained: drop the settled chain (a promise per peer) in favour of the shared idle one.
      if (--ps.inboundDepth === 0) ps.inbound = IDLE;
    });
    ps.inbound = tail;
    return tail;
  }

  private onBatch(ps: PeerState, bytes: Uint8Array): Promise<void> {
    let records: Uint8Array[];
    try {
      records = decodeBatch(bytes);
    } catch (e) {
      this.rejectEvent(e, ps.id);
      return Promise.resolve();
    }
    const settled: Promise<void>[] = [];
    for (const r of records) settled.push(this.accept(ps, r));
    return Promise.all(settled).then(() => undefined);
  }

  private async handleFrame(ps: PeerState, bytes: Uint8Array): Promise<void> {
    if (this.closed) return;
    try {
      switch (frameType(bytes)) {
        case FrameType.HS_INIT:
          return await this.onInit(ps, bytes);
        case FrameType.HS_RESP:
          return await this.onResponse(ps, bytes);
        case FrameType.HS_ALERT:
          return this.onHandshakeAlert(ps, bytes);
        default:
          return this.onRecord(ps, bytes);
      }
    } catch (e) {
      this.rejectEvent(e, ps.id);
    }
  }

  private async onInit(ps: PeerState, bytes: Uint8Array): Promise<void> {
    // [SPEC 5.8] Simultaneous open: the endpoint with the smaller id keeps its own handshake.
    if (ps.pending && this.id < ps.id) return;
    let r: Awaited<ReturnType<typeof respondPrechecked>>;
    try {
      // [SPEC 5.7] Cheap checks first: frames they refuse cost no rate-limit token and no verification.
      const checked = precheckInit(this.hs, bytes, ps.id, this.clock());
      const now = this.clock();
      ps.bucket ??= new TokenBucket(this.cfg.handshakesPerSecondPerPeer, MAX_INITS_PER_PEER, now);
      if (this.handshakesInFlight >= this.cfg.maxConcurrentHandshakes || !ps.bucket.take(now) || !this.bucket.take(now))
        throw new HopsafeError('ERR_HANDSHAKE_LIMIT', 'handshake rate limit');
      this.handshakesInFlight++;
      try {
        // Verification is synchronous CPU work: let timers and sockets (other peers' records) run between handshakes.
        await new Promise<void>((resolve) => setImmediate(resolve));
        r = await respondPrechecked(this.hs, checked, this.clock());
      } finally {
        this.handshakesInFlight--;
      }
    } catch (e) {
      this.counters.handshakes.failed++;
      this.maybeAlert(ps, bytes, e);
      throw e;
    }
    if (this.closed) return r.session.destroy();
    this.abandonPending(ps);
    for (const m of ps.queue) m.early = false; // our abandoned ClearToken1 was ignored by the peer (§5.8)
    this.install(ps, r.session, 'responder');
    ps.responding = true;
    try {
      if (r.earlyData) this.deliver(ps, r.session, r.earlyData);
      // [SPEC 3.4] The first queued payload rides on the response.
      const first = ps.queue.find((m) => !m.early);
      if (first && (!this.authorize || this.authorize({ peer: ps.id, roles: r.session.peer.roles, direction: 'send', data: first.data }))) {
        ps.queue.splice(ps.queue.indexOf(first), 1);
        this.sealAndSend(ps, r.session, first.data, first.confirm, (record) => this.transport.send(ps.id, responseFrame(r.token, record))).then(
          first.resolve,
          first.reject,
        );
      } else this.transport.send(ps.id, responseFrame(r.token, undefined)).catch((e: unknown) => this.rejectEvent(e, ps.id));
    } finally {
      ps.responding = false;
    }
    this.flushQueue(ps, r.session);
  }

  private async onResponse(ps: PeerState, bytes: Uint8Array): Promise<void> {
    const pending = ps.pending;
    if (!pending) throw new HopsafeError('ERR_UNKNOWN_SESSION', 'unsolicited handshake response');
    // A forged response fails here and leaves the genuine handshake pending.
    const r = await complete(this.hs, pending.hs, bytes, ps.id, this.clock());
    if (ps.pending !== pending || this.closed) return r.session.destroy();
    clearTimeout(pending.timer);
    ps.pending = undefined;
    this.install(ps, r.session, 'initiator');
    if (r.record) {
      this.handleDeliveries(ps, r.session, r.session.open(r.record, this.clock()));
      this.scheduleAck(ps, r.session);
    }
    this.flushQueue(ps, r.session);
  }

  private onRecord(ps: PeerState, bytes: Uint8Array): void {
    const header = decodeRecordHeader(bytes);
    const session = this.bySessionId.get(toHex(header.sessionId));
    if (!session) {
      this.sendHandshakeAlert(ps, header.sessionId, 'ERR_UNKNOWN_SESSION');
      throw new HopsafeError('ERR_UNKNOWN_SESSION', 'no such session');
    }
    // [SPEC 8.1] A session's records must arrive from its peer (a redirected frame is refused).
    if (session.peer.id !== ps.id) throw new HopsafeError('ERR_WRONG_PEER', 'record of another peer');
    let ds: Delivery[];
    try {
      ds = session.open(bytes, this.clock());
    } catch (e) {
      // [SPEC 7.3] The key update that opens the peer's next epoch never came: say so once, under our own
      // (still working) send direction, so the peer sends it again.
      if (isHopsafeError(e) && e.code === 'ERR_UNKNOWN_EPOCH' && header.epoch === session.receiveEpoch + 1 && ps.epochAlerted !== header.epoch) {
        ps.epochAlerted = header.epoch;
        this.sendRecord(ps, session.sealAlert('ERR_UNKNOWN_EPOCH', header.epoch)).catch(() => undefined);
      }
      throw e;
    }
    this.handleDeliveries(ps, session, ds);
    this.scheduleAck(ps, session);
  }

  private handleDeliveries(ps: PeerState, session: Session, ds: Delivery[]): void {
    for (const d of ds) {
      switch (d.type) {
        case 'data':
          this.deliver(ps, session, d.payload, d.seq);
          break;
        case 'key-update':
          this.counters.keyUpdates.received++;
          this.emit('key-update', { peer: ps.id, direction: 'receive', epoch: d.epoch });
          if (d.requestUpdate && ps.session === session)
            this.sendKeyUpdate(ps, session, false).catch((e: unknown) => this.rejectEvent(e, ps.id));
          break;
        case 'ack':
          ps.confirm?.onAck(session, d.ranges);
          this.releaseConfirmations(ps);
          break;
        case 'alert':
          // [SPEC 8.7] A message refused by the peer's policy is not confirmed.
          if (d.code === 'ERR_FORBIDDEN' && d.reference !== undefined) {
            ps.confirm?.refused(session, d.reference);
            this.releaseConfirmations(ps);
          }
          if (d.code === 'ERR_CLOSED') {
            if (ps.session === session) this.dropSession(ps, 'ERR_CLOSED');
          } else if (d.code === 'ERR_UNKNOWN_EPOCH' && d.reference === session.sendEpoch && session.lastKeyUpdate) {
            // [SPEC 7.3] Our key update was lost: send the same record again (the peer's window has not seen it).
            this.sendRecord(ps, session.lastKeyUpdate).catch((e: unknown) => this.rejectEvent(e, ps.id));
          } else this.rejectEvent(new HopsafeError(toCode(d.code), `peer ${ps.id} refused message ${d.reference ?? ''}`.trim()), ps.id);
          break;
        case 'rejected':
          this.rejectEvent(d.error, ps.id);
          break;
      }
    }
  }

  private deliver(ps: PeerState, session: Session, data: Uint8Array, seq?: number): void {
    const roles = session.peer.roles;
    if (this.authorize && !this.authorize({ peer: ps.id, roles, direction: 'receive', data })) {
      // [SPEC 8.7] Refused by policy: not delivered; the sender learns it through a protected alert.
      this.rejectEvent(new HopsafeError('ERR_FORBIDDEN', `policy forbids messages from ${ps.id}`), ps.id);
      try {
        void this.sendRecord(ps, session.sealAlert('ERR_FORBIDDEN', seq)).catch(() => undefined);
      } catch {
        /* session closed meanwhile */
      }
      return;
    }
    this.counters.received++;
    this.emit('message', { from: ps.id, data, roles: roles.map((r) => r.role), roleAssignments: roles });
  }

  private onHandshakeAlert(ps: PeerState, bytes: Uint8Array): void {
    // [SPEC 3.6] Unauthenticated: only a hint. It can end a pending handshake early (which an
    // intermediary could do anyway by dropping) or trigger a fresh handshake; never more.
    const a = decodeHandshakeAlert(bytes);
    const sid = toHex(a.sessionId);
    if (ps.pending && toHex(ps.pending.hs.sessionId) === sid) {
      this.abandonPending(ps);
      this.counters.handshakes.failed++;
      this.failQueue(ps, new HopsafeError(toCode(a.code), `${ps.id} refused the handshake (${a.code})`));
      return;
    }
    if (a.code === 'ERR_UNKNOWN_SESSION' && ps.session && toHex(ps.session.id) === sid && !ps.pending) {
      const now = this.clock();
      if (ps.lastRehandshakeAt !== undefined && now - ps.lastRehandshakeAt < 1000) return;
      ps.lastRehandshakeAt = now;
      // [SPEC 8.8] The peer lost its state: tell the application (messages sent since the peer's last frame
      // may not have been accepted) and open a new session; the current one stays until it replaces it.
      this.rejectEvent(new HopsafeError('ERR_UNKNOWN_SESSION', `${ps.id} does not know our session: recent messages may be lost`), ps.id);
      this.startHandshake(ps);
    }
  }

  private maybeAlert(ps: PeerState, bytes: Uint8Array, e: unknown): void {
    if (!isHopsafeError(e) || e.code === 'ERR_REPLAY' || e.code === 'ERR_HANDSHAKE_LIMIT' || e.code === 'ERR_MALFORMED' || e.code === 'ERR_TOO_LARGE') return;
    const sid = peekInitSessionId(bytes);
    if (sid) this.sendHandshakeAlert(ps, sid, e.code);
  }

  private sendHandshakeAlert(ps: PeerState, sid: Uint8Array, code: ErrorCode): void {
    const now = this.clock();
    if (ps.lastAlertAt !== undefined && now - ps.lastAlertAt < 1000) return; // at most one unauthenticated alert per peer per second
    ps.lastAlertAt = now;
    this.transport.send(ps.id, encodeHandshakeAlert(sid, code)).catch(() => undefined);
  }

  // ---------------------------------------------------------------- table

  private peer(id: string): PeerState {
    let ps = this.peers.get(id);
    if (!ps) {
      if (this.peers.size >= this.cfg.maxPeers) throw new HopsafeError('ERR_HANDSHAKE_LIMIT', 'peer table full');
      ps = { id, responding: false, queue: [], inbound: IDLE, inboundDepth: 0, initsQueued: 0, lastAlertAt: undefined, lastRehandshakeAt: undefined };
      this.peers.set(id, ps);
    }
    return ps;
  }

  private install(ps: PeerState, session: Session, role: 'initiator' | 'responder'): void {
    if (ps.session) {
      const old = ps.session;
      // [SPEC 7.6, 8.8] A new session replaces one the peer lost or gave up: what it did not acknowledge is reported.
      ps.confirm?.sessionEnded(old, 'ERR_UNKNOWN_SESSION');
      this.releaseConfirmations(ps);
      if (ps.previous) this.retire(ps);
      const timer = setTimeout(() => this.retire(ps), session.options.graceMs);
      timer.unref();
      ps.previous = { session: old, timer };
    }
    ps.session = session;
    this.bySessionId.set(toHex(session.id), session);
    this.counters.handshakes.completed++;
    this.log.info({ peer: ps.id, suite: session.suite.name, protection: session.protection, role }, 'session established');
    this.emit('session', { peer: ps.id, suite: session.suite.name, protection: session.protection, role });
  }

  private retire(ps: PeerState): void {
    if (!ps.previous) return;
    clearTimeout(ps.previous.timer);
    this.bySessionId.delete(toHex(ps.previous.session.id));
    ps.previous.session.destroy();
    ps.previous = undefined;
  }

  private dropSession(ps: PeerState, reason: ErrorCode): void {
    this.retire(ps);
    if (ps.session) {
      ps.confirm?.sessionEnded(ps.session, reason);
      this.releaseConfirmations(ps);
      this.bySessionId.delete(toHex(ps.session.id));
      ps.session.destroy();
      ps.session = undefined;
      this.emit('session-closed', { peer: ps.id, reason });
    }
  }

  private dropPeer(ps: PeerState, reason: ErrorCode): void {
    this.abandonPending(ps);
    this.dropSession(ps, reason);
    ps.confirm?.close(reason);
    clearTimeout(ps.ackTimer);
    ps.ackTimer = undefined;
    ps.outbox?.flush(); // what was sealed still leaves, in order
    ps.outbox = undefined;
    this.failQueue(ps, new HopsafeError('ERR_CLOSED', 'endpoint closed'));
  }

  private closeRevoked(fingerprints: readonly string[]): void {
    const set = new Set(fingerprints);
    for (const ps of this.peers.values()) {
      if (ps.session && set.has(ps.session.peer.fingerprint)) {
        this.dropSession(ps, 'ERR_CERT_REVOKED');
        this.rejectEvent(new HopsafeError('ERR_CERT_REVOKED', `certificate of ${ps.id} was revoked`), ps.id);
      }
    }
  }

  private rejectEvent(e: unknown, from: string | undefined): void {
    const err = isHopsafeError(e) ? e : new HopsafeError('ERR_MALFORMED', 'unexpected failure', { cause: e });
    this.counters.rejected[err.code] = (this.counters.rejected[err.code] ?? 0) + 1;
    this.log.warn({ code: err.code, from }, 'frame or message refused');
    this.emit('reject', from === undefined ? { code: err.code, message: err.message } : { code: err.code, from, message: err.message });
  }

  private assertOpen(): void {
    if (this.closed) throw new HopsafeError('ERR_CLOSED', 'endpoint closed');
  }
}

/** A code received from a peer, as one of ours (anything unknown becomes ERR_MALFORMED). */
function toCode(code: string): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'ERR_MALFORMED';
}

/** Session id of a refused ClearToken1, only to address the refusal hint; nothing is trusted from it. */
function peekInitSessionId(bytes: Uint8Array): Uint8Array | undefined {
  try {
    return decodeSignedClearToken1(bytes.subarray(1)).token.sessionId;
  } catch {
    return undefined;
  }
}

/** [SPEC 8] Creates an endpoint, validates its own identity, and opens the transport. */
export async function createEndpoint(options: EndpointOptions): Promise<Endpoint> {
  const { transport, provider: p, clock: c, authorize, policy, classify, logger, ...plain } = options;
  const parsed = endpointConfigSchema.safeParse(plain);
  if (!parsed.success) throw new HopsafeError('ERR_CONFIG', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const cfg = parsed.data;
  if (!transport || typeof transport.open !== 'function') throw new HopsafeError('ERR_CONFIG', 'transport is required');
  const provider = p ?? createNodeProvider();
  const clock = c ?? Date.now;
  const { identity, trust } = await openIdentity(cfg, provider, clock);
  const suites = (cfg.suites ?? DEFAULT_SUITES).map(suiteByName);
  const hs: HandshakeContext = {
    provider,
    identity,
    verifier: trust.verifier satisfies PeerVerifier,
    suites,
    protection: cfg.protection,
    acceptProtection: cfg.acceptProtection,
    replayCache: new HandshakeReplayCache(cfg.freshnessWindowMs),
    ...(cfg.session ? { sessionOptions: cfg.session } : {}),
  };
  const ep = new Endpoint(cfg, transport, clock, hs, trust, buildAuthorize({ authorize, policy, classify }), logger);
  await transport.open(cfg.id, ep.onFrame);
  return ep;
}

export type { RoleAssignment };
