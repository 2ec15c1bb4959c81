/**
 * The user-facing endpoint: the I/O shell around the per-peer protocol of src/session/peer.ts. It keeps the peer
 * table, one timer per peer, the outbox, the transport and the events; every protocol rule lives in the machine.
 * [SPEC 8]
 */
import { pino, type Logger } from 'pino';
import { HopsafeError, isHopsafeError } from '../errors/index.js';
import { abytes } from '../bytes/index.js';
import type { Transport } from '../transport/transport.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import type { RoleAssignment, TrustConfig } from '../pki/types.js';
import { storedAssignments } from '../pki/roles.js';
import { MAX_INITS_PER_PEER } from '../session/admission.js';
import { frameKind, PeerMachine, statelessReply, type PeerEnv, type ScreenedInit } from '../session/peer.js';
import type { PeerAction, Settle } from '../session/peer-types.js';
import type { createSessionIndex } from '../session/session-index.js';
import type { Outgoing } from '../session/confirmations.js';
import type { EndpointConfig } from '../schemas/endpoint-options.js';
import { TypedEmitter } from './events.js';
import { queueDepths, type EndpointQueues, type EndpointStats } from './stats.js';
import { EndpointMetrics, timedSettle, type MetricsOptions } from './metrics.js';
import type { Registry } from 'prom-client';
import type { SendOptions } from './options.js';
import { handOver, Outbox, type CoalesceLimits } from './outbox.js';
import type { TrustHandle } from './identity.js';
import { GroupManager, type Group, type GroupOptions } from './groups.js';

/** One peer in the table: its machine and the I/O around it. */
/** The inbound chain of a peer with nothing queued (one promise shared by all of them). */
const IDLE: Promise<void> = Promise.resolve();

/**
 * A peer's table entry: its protocol machine plus what the I/O shell keeps for it, in one object (a separate entry
 * object pointing at the machine cost ≈ 32 bytes more per peer on an endpoint with many).
 */
class Slot extends PeerMachine {
  timer: NodeJS.Timeout | undefined = undefined;
  /** [SPEC 3.7] Records to this peer being coalesced (created on first use). */
  outbox: Outbox | undefined = undefined;
  /** Tail of this sender's inbound chain; `IDLE` (shared) while nothing is queued. */
  inbound: Promise<void> = IDLE;
  inboundDepth = 0;
  /** With metrics on: performance.now() when the handshake this endpoint started sent its first HS_INIT. */
  handshakeAt: number | undefined = undefined;
}

const MAX_INBOUND_PER_PEER = 1024;
/** Upper bound of record overhead: header (≤ 19) + tag (≤ 48). */
const MAX_RECORD_OVERHEAD = 19 + 48;
/** setTimeout's limit (≈ 24.8 days); later deadlines are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * Deadlines further away than this with no work owed (an established session's end, SPEC 5.10) get no timer of their
 * own (a Timeout, its closure and context: ≈ 240 bytes per peer): one sweep every FAR_SWEEP_MS arms each one's timer
 * once it comes within FAR_MS, so it still fires on time. Sends and receives check the session's end anyway.
 */
const FAR_MS = 60_000;
const FAR_SWEEP_MS = 10_000;
const NO_SEND_OPTIONS: SendOptions = Object.freeze({});
const ignore = (): void => undefined;
/**
 * What `send` gives the machine for a message that leaves at once (see `send`): never called, only recognised in
 * `exec`, which hands the frame's transport promise back instead of settling through it. Never retained by the
 * machine: it keeps a settle only for a queued message or a confirmed one, and neither takes this path.
 */
const HANDOFF: Settle = Object.freeze({ resolve: ignore, reject: (_e: unknown): void => undefined });
/** Ends an endpoint whose transport did not open (createEndpoint only). */
export const ABANDON = Symbol('abandon');

/** What `createEndpoint` builds an endpoint from. */
export interface EndpointParts {
  readonly cfg: EndpointConfig;
  readonly transport: Transport;
  readonly clock: () => number;
  /** The peers' shared environment; its `counters` are the endpoint's stats and its `index` the session index. */
  readonly env: PeerEnv & { readonly counters: EndpointStats };
  readonly index: ReturnType<typeof createSessionIndex>;
  readonly trust: TrustHandle;
  readonly logger: Logger | undefined;
  readonly metrics: MetricsOptions | undefined;
}

/**
 * A secure endpoint: it authenticates peers, keeps one end-to-end session per peer over an untrusted transport
 * and protects every message it sends (SPEC 8). Obtain one with {@link createEndpoint}; the constructor takes
 * internal parts and is not public.
 *
 * Sessions open on demand: `send` to a peer without a session starts the handshake and queues the message. What
 * arrives is reported through events (`message`, `reject`, `session`, `key-update`, `session-closed`,
 * `unconfirmed`, …, see {@link EndpointEvents}); a bad frame never throws, it becomes a `reject` event.
 *
 * @example
 * ```ts
 * const endpoint = await createEndpoint({ id: 'alice', identity, trust, transport });
 * endpoint.on('message', (m) => console.log(m.from, m.data));
 * await endpoint.send('bob', new TextEncoder().encode('hello'), { confirm: true });
 * ```
 */
export class Endpoint extends TypedEmitter {
  readonly id: string;
  private readonly cfg: EndpointConfig;
  private readonly transport: Transport;
  private readonly clock: () => number;
  private readonly env: PeerEnv;
  private readonly trustHandle: TrustHandle;
  private readonly log: Logger;
  private readonly peers = new Map<string, Slot>();
  /** Slots whose next deadline is far away (see FAR_MS), and the one sweep timer while there are any. */
  private readonly far = new Set<Slot>();
  private sweep: NodeJS.Timeout | undefined = undefined;
  private readonly owners: ReturnType<typeof createSessionIndex>;
  private readonly counters: EndpointStats;
  private readonly coalesce: CoalesceLimits;
  private closed = false;
  /** Actions produced while others run (an event handler that sends): run after them, in order. */
  private running = false;
  private readonly backlog: [Slot, readonly PeerAction[]][] = [];
  /** The transport promise of the message `send` is handing over (see HANDOFF). */
  private handedOff: Promise<void> | undefined = undefined;
  /** While closing: the transport sends of the goodbyes, awaited (bounded) before the transport closes. */
  private goodbyes: Promise<unknown>[] | undefined;
  /** Prometheus metrics; undefined (nothing measured) unless `metrics` was given. */
  private readonly metered: EndpointMetrics | undefined;
  /** [SPEC 13] Groups this endpoint publishes and memberships it holds. */
  private readonly groups: GroupManager;

  /** Use `createEndpoint`. */
  constructor(parts: EndpointParts) {
    super();
    const { cfg, transport, trust, logger, metrics } = parts;
    this.log = (logger ?? pino({ level: 'silent' })).child({ endpoint: cfg.id });
    this.id = cfg.id;
    this.cfg = cfg;
    this.transport = transport;
    this.clock = parts.clock;
    this.trustHandle = trust;
    this.env = parts.env;
    this.counters = parts.env.counters as EndpointStats;
    this.owners = parts.index;
    this.coalesce = { ...cfg.coalesce, maxBytes: Math.min(cfg.coalesce.maxBytes, transport.maxFrameSize) };
    trust.onWarning((w) => {
      this.log.warn({ code: w.code, reason: w.reason, fingerprint: w.fingerprint }, 'peer accepted with unverified revocation status');
      this.emit('trust-warning', { code: w.code, reason: w.reason, fingerprint: w.fingerprint, detail: w.detail });
    });
    trust.onRevoked((fps) => {
      const set = new Set(fps);
      for (const slot of this.peers.values()) this.run(slot, slot.revoke(set, this.clock()));
    });
    this.groups = new GroupManager({
      id: this.id,
      provider: this.env.ctx.provider,
      identity: this.env.ctx.identity,
      suite: this.env.ctx.suites[0] as NonNullable<(typeof this.env.ctx.suites)[0]>,
      protection: cfg.protection,
      transport,
      clock: this.clock,
      graceMs: cfg.session?.graceMs ?? 30_000,
      maxQueued: cfg.maxQueuedPerPeer,
      hold: { ...cfg.groupHold, ...(this.env.ctx.holdBudget ? { budget: this.env.ctx.holdBudget } : {}) },
      log: this.log,
      counters: this.counters.groups,
      sendControl: (peer, bytes, confirm) => this.sendControl(peer, bytes, confirm),
      peerRoles: (peer) => {
        const s = this.peers.get(peer)?.current;
        return s
          ? storedAssignments(
              s.peer.roles.filter(
                (r) =>
                  (r.notBeforeMs === undefined || r.notBeforeMs <= this.clock()) &&
                  (r.notAfterMs === undefined || this.clock() <= r.notAfterMs),
              ),
            )
          : undefined;
      },
      deliver: (m) =>
        this.emit('message', { from: m.from, group: m.group, data: m.data, roles: m.roles.map((r) => r.role), roleAssignments: m.roles }),
      reject: (e, from) => this.rejectEvent(e, from),
    });
    this.metered = metrics
      ? new EndpointMetrics(metrics, {
          id: this.id,
          stats: () => this.stats(),
          queues: () => this.queues(),
          inbound: () => transport.inboundStats?.(),
        })
      : undefined;
  }

  /**
   * Protects `data` end to end and sends it to `peerId`, opening a session first when needed. Resolves when the
   * frame was handed to the transport, or with `{ confirm: true }` when the peer acknowledged it (SPEC 7.6).
   */
  send(peerId: string, data: Uint8Array, options: SendOptions = NO_SEND_OPTIONS): Promise<void> {
    let slot: Slot;
    let now: number;
    try {
      this.assertOpen();
      const known = this.peers.get(peerId); // every key of the table is a valid id (see slotFor)
      if (!known) assertEndpointId(peerId, 'peer id');
      abytes(data, 'data');
      if (options.confirm === true && this.cfg.acks.track === 0) throw new HopsafeError('ERR_CONFIG', 'confirm needs acks.track > 0');
      const max = this.transport.maxFrameSize - MAX_RECORD_OVERHEAD;
      if (data.length > max)
        throw new HopsafeError(
          'ERR_PAYLOAD_TOO_LARGE',
          `${data.length} bytes of payload: at most ${max} fit one ${this.transport.name} frame (maxFrameSize ${this.transport.maxFrameSize} minus ${MAX_RECORD_OVERHEAD} bytes of record overhead)`,
        );
      slot = known ?? this.slotFor(peerId);
      now = this.clock();
    } catch (e) {
      return Promise.reject(e);
    }
    // The common case, a message that leaves at once: its send settles as the transport's hand-over does, so the
    // transport's promise is returned as it is (no promise, resolvers, settle object or `then` of our own per message).
    // Not while actions run (an event handler that sends: its actions wait in the backlog), not with metrics (timed).
    if (options.confirm !== true && !this.running && !this.metered && slot.canSendNow(now)) {
      this.handedOff = undefined;
      try {
        this.run(slot, slot.send(data, false, HANDOFF, now));
      } catch (e) {
        return Promise.reject(e);
      } finally {
        this.forgetIfIdle(slot);
      }
      const sent = this.handedOff as Promise<void> | undefined;
      this.handedOff = undefined;
      return sent ?? Promise.reject(new HopsafeError('ERR_STATE', 'message was not handed to the transport'));
    }
    return new Promise<void>((resolve, reject) => {
      const confirm = options.confirm === true;
      try {
        // [metrics] timed only on an established session (a handshake's wait is the handshake histogram's)
        const settle = this.metered && slot.current ? timedSettle(this.metered, confirm, resolve, reject) : { resolve, reject };
        this.run(slot, slot.send(data, confirm, settle, now));
      } finally {
        this.forgetIfIdle(slot);
      }
    });
  }

  /**
   * [SPEC 13.1] Creates a group this endpoint publishes: its members get each epoch's key over their pairwise
   * sessions, and each `publish` is sealed once and published once on the group address.
   */
  async group(name: string, options: GroupOptions = {}): Promise<Group> {
    this.assertOpen();
    return this.groups.group(name, options);
  }

  /** [SPEC 13.7] Asks `publisherId` to join its group `name`; resolves once the key is held (ERR_FORBIDDEN if refused). */
  async join(publisherId: string, name: string): Promise<void> {
    this.assertOpen();
    return this.groups.join(publisherId, name);
  }

  /** [SPEC 13.7] Leaves `publisherId`'s group `name`: the publisher is told and the keys are wiped. */
  async leave(publisherId: string, name: string): Promise<void> {
    this.assertOpen();
    return this.groups.leave(publisherId, name);
  }

  /** [SPEC 13.4] A GroupControl message over the pairwise session with `peer` (a GROUP_CTRL record). */
  private sendControl(peer: string, bytes: Uint8Array, confirm: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.assertOpen();
      const slot = this.slotFor(peer);
      try {
        this.run(slot, slot.send(bytes, confirm, { resolve, reject }, this.clock(), true));
      } finally {
        this.forgetIfIdle(slot);
      }
    });
  }

  /**
   * [SPEC 7.2] Updates the keys of the session with `peerId` in one message; the peer is asked to
   * update its direction too (one message back, no round trip waited for). While the first handshake with the
   * peer is under way the update is made as soon as the session is up; with neither, ERR_UNKNOWN_SESSION.
   */
  async rekey(peerId: string): Promise<void> {
    this.assertOpen();
    const slot = this.peers.get(peerId);
    if (!slot) throw new HopsafeError('ERR_UNKNOWN_SESSION', `no session with ${peerId}`);
    this.run(slot, slot.rekey(this.clock()));
  }

  /** Reloads trust material at run time (e.g. a new CRL); sessions with peers now revoked are closed. */
  async updateTrust(trust: Partial<TrustConfig>): Promise<void> {
    await this.trustHandle.update(trust);
  }

  /** Counters since the endpoint was created (a copy: later traffic does not change the object returned). */
  stats(): EndpointStats {
    let sessions = 0;
    for (const s of this.peers.values()) if (s.current) sessions++;
    const c = this.counters;
    return {
      ...c,
      sessions,
      rejected: { ...c.rejected },
      unconfirmedByCode: { ...c.unconfirmedByCode },
      handshakes: { ...c.handshakes },
      keyUpdates: { ...c.keyUpdates },
      groups: { ...c.groups },
    };
  }

  /** What waits inside the endpoint now: queue depths, each bounded by an option (one pass over the peer table). */
  queues(): EndpointQueues {
    return queueDepths(this.peers.values(), this.peers.size, this.env.ctx.holdBudget?.bytes ?? 0);
  }

  /**
   * The Prometheus text exposition of the metrics registry (`metrics` option): this endpoint's metrics, and
   * anything else registered in a registry the application gave. Fails with ERR_CONFIG when metrics are off.
   */
  metrics(): Promise<string> {
    if (!this.metered)
      return Promise.reject(new HopsafeError('ERR_CONFIG', 'metrics are off: createEndpoint({ metrics: true | { registry, prefix } })'));
    return this.metered.text();
  }

  /** The prom-client Registry holding this endpoint's metrics; undefined when metrics are off. */
  get metricsRegistry(): Registry | undefined {
    return this.metered?.registry;
  }

  /** [SPEC 7.6] Messages sent to `peerId` and not acknowledged yet, oldest first (the arrays given to `send`). */
  unconfirmed(peerId: string): Uint8Array[] {
    return this.peers.get(peerId)?.unconfirmed() ?? [];
  }

  /** Peers with an established session. */
  sessions(): { peer: string; suite: string; protection: string; sendEpoch: number; receiveEpoch: number; roles: string[] }[] {
    const out = [];
    for (const m of this.peers.values()) {
      const s = m.current;
      if (s)
        out.push({
          peer: m.id,
          suite: s.suite.name,
          protection: s.protection,
          sendEpoch: s.sendEpoch,
          receiveEpoch: s.receiveEpoch,
          roles: s.peer.roles.map((r) => r.role),
        });
    }
    return out;
  }

  /** Tells peers the sessions end (protected ERR_CLOSED alert), closes the transport, wipes keys. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.groups.closeAll().catch(() => undefined);
    this.closed = true;
    const goodbyes: Promise<unknown>[] = (this.goodbyes = []);
    for (const slot of this.peers.values()) {
      this.run(slot, slot.close(this.clock()));
      slot.outbox?.flush(); // what was sealed still leaves, in order
      slot.outbox = undefined;
      this.disarm(slot);
    }
    this.goodbyes = undefined;
    await Promise.race([Promise.all(goodbyes), new Promise((r) => setTimeout(r, 500).unref())]);
    await this.transport.close();
    this.peers.clear();
    this.owners.clear();
    this.metered?.detach();
  }

  /** [ABANDON] A transport that did not open: the endpoint never existed for the metrics. */
  [ABANDON](): void {
    this.metered?.detach();
  }

  // ---------------------------------------------------------------- inbound

  /** Entry point for the transport. Never throws; ordered per transport sender. */
  readonly onFrame = (frame: { from: string; bytes: Uint8Array }): Promise<void> => {
    if (this.closed) return IDLE;
    let slot = this.peers.get(frame.from); // a key of the table is a valid id (see slotFor)
    try {
      if (!slot) assertEndpointId(frame.from, 'sender id');
      // [SPEC 8] Bounded before anything is read or copied, whatever the binding let through.
      if (frame.bytes.length > this.transport.maxFrameSize) throw new HopsafeError('ERR_TOO_LARGE', 'frame exceeds maxFrameSize');
    } catch (e) {
      this.rejectEvent(e, undefined);
      return IDLE;
    }
    const kind = frameKind(frame.bytes);
    if (!slot) {
      if (kind !== 'init') {
        // [SPEC 5.7, 8.8] Nothing kept for this sender: answered statelessly, and nothing is created.
        const r = statelessReply(frame.from, frame.bytes, this.clock(), this.env.alerts, this.env.index);
        if (r.transmit) this.transport.send(frame.from, r.transmit).catch(() => undefined);
        this.rejectEvent(r.error, frame.from);
        return IDLE;
      }
      try {
        slot = this.slotFor(frame.from);
      } catch (e) {
        this.rejectEvent(e, frame.from);
        return IDLE;
      }
    }
    return this.accept(slot, frame.bytes, kind, this.metered && kind === 'sync' ? performance.now() : undefined);
  };

  /** One frame from the sender of `slot`: bounded, then handled at once or queued behind the sender's earlier frames. */
  private accept(slot: Slot, bytes: Uint8Array, kind: 'init' | 'sync' | 'async', arrivedAt: number | undefined): Promise<void> {
    if (slot.inboundDepth >= MAX_INBOUND_PER_PEER) {
      this.rejectEvent(new HopsafeError('ERR_QUEUE_FULL', 'inbound queue full'), slot.id);
      return IDLE;
    }
    let init: ScreenedInit | undefined;
    if (kind === 'init') {
      try {
        // [SPEC 5.7] Cheap checks at arrival; a sender gets a bounded number of unauthenticated handshakes queued.
        init = slot.screenInit(bytes, this.clock());
        if (!init) return IDLE; // [SPEC 5.8] ignored
        if (!init.authenticated && slot.initsQueued >= MAX_INITS_PER_PEER)
          throw new HopsafeError('ERR_HANDSHAKE_LIMIT', 'too many handshakes queued from this sender');
      } catch (e) {
        this.counters.handshakes.failed++;
        this.rejectEvent(e, slot.id);
        this.run(slot, slot.screenFailed(bytes, e, this.clock()));
        this.forgetIfIdle(slot);
        return IDLE;
      }
      slot.initQueued();
    }
    if (slot.inboundDepth === 0 && kind === 'sync') {
      // A record for an idle peer is handled at once: its processing is synchronous, so it neither waits behind
      // the rest of the batch the transport is parsing nor can be overtaken.
      slot.inboundDepth++;
      void this.handle(slot, bytes, undefined, arrivedAt); // 'sync': the machine answers at once, no promise
      slot.inboundDepth--;
      this.forgetIfIdle(slot);
      return IDLE;
    }
    slot.inboundDepth++;
    const tail = slot.inbound
      .then(() => this.handle(slot, bytes, init, arrivedAt))
      .finally(() => {
        // Drained: drop the settled chain (a promise per peer) in favour of the shared idle one.
        if (--slot.inboundDepth === 0) {
          slot.inbound = IDLE;
          this.forgetIfIdle(slot);
        }
      });
    slot.inbound = tail;
    return tail;
  }

  private handle(slot: Slot, bytes: Uint8Array, init: ScreenedInit | undefined, arrivedAt: number | undefined): Promise<void> | undefined {
    if (this.closed) return undefined;
    const r = slot.receive(bytes, this.clock(), init);
    if (Array.isArray(r)) {
      // [metrics] a record frame (arrivedAt set only then) that delivered: arrival to delivery
      if (arrivedAt !== undefined && r.some((a) => a.type === 'deliver')) this.metered?.recordReceived(performance.now() - arrivedAt);
      this.run(slot, r);
      return undefined;
    }
    return (r as Promise<PeerAction[]>).then((a) => this.run(slot, a));
  }

  // ---------------------------------------------------------------- actions

  private run(slot: Slot, actions: readonly PeerAction[]): void {
    if (actions.length === 0) return;
    if (this.running) {
      this.backlog.push([slot, actions]);
      return;
    }
    this.running = true;
    try {
      this.exec(slot, actions);
      for (let next = this.backlog.shift(); next; next = this.backlog.shift()) this.exec(next[0], next[1]);
    } finally {
      this.running = false;
    }
  }

  private exec(slot: Slot, actions: readonly PeerAction[]): void {
    const peer = slot.id;
    for (const a of actions) {
      switch (a.type) {
        case 'transmit': {
          if (a.handshake) {
            if (this.metered) slot.handshakeAt ??= performance.now();
            this.emit('handshake', { peer: slot.id });
          }
          const sent = a.record ? this.sendRecord(slot, a.frame) : this.transport.send(peer, a.frame);
          this.goodbyes?.push(sent.catch(() => undefined));
          // No closure per record: only a handshake's failure needs the machine told.
          if (a.handshake)
            sent.then(a.onSent, (e: unknown) => {
              a.onFailed?.(e);
              if (!this.closed) this.run(slot, slot.initFailed(undefined, e, this.clock()));
            });
          else if (a.onFailed === HANDOFF.reject)
            this.handedOff = sent; // `send` returns it
          else sent.then(a.onSent, a.onFailed ?? ignore);
          break;
        }
        case 'await':
          void a.until.then(() => {
            if (!this.closed) this.run(slot, a.resume(this.clock()));
          });
          break;
        case 'timer':
          this.arm(slot, a.at, a.keepAlive);
          break;
        case 'deliver':
          if (a.control) this.groups.onControl(peer, a.data, a.control.fingerprint, a.roles);
          else this.emit('message', { from: peer, data: a.data, roles: a.roles.map((r) => r.role), roleAssignments: a.roles });
          break;
        case 'reject':
          this.rejectEvent(a.error, peer);
          break;
        case 'session':
          if (slot.handshakeAt !== undefined) {
            if (a.role === 'initiator') this.metered?.handshake(performance.now() - slot.handshakeAt);
            slot.handshakeAt = undefined;
          }
          this.log.info({ peer, suite: a.suite, protection: a.protection, role: a.role }, 'session established');
          this.emit('session', { peer, suite: a.suite, protection: a.protection, role: a.role });
          break;
        case 'session-closed':
          this.emit('session-closed', { peer, reason: a.reason });
          this.groups.onSessionClosed(peer, a.reason);
          break;
        case 'key-update':
          if (a.direction === 'send') this.log.debug({ peer, epoch: a.epoch }, 'key update sent');
          this.emit('key-update', { peer, direction: a.direction, epoch: a.epoch });
          break;
        case 'outcome':
          this.settle(peer, a.code, a.items);
          break;
      }
    }
    // [metrics] a handshake we started that ended without a session (refused, timed out) is not timed
    if (slot.handshakeAt !== undefined && !slot.handshaking) slot.handshakeAt = undefined;
  }

  /** [SPEC 7.6] Reports acknowledged (code undefined) or unconfirmed messages. */
  private settle(peer: string, code: HopsafeError['code'] | undefined, all: readonly Outgoing[]): void {
    // [SPEC 13.4] GroupControl records settle their sender (the group layer) and are never reported.
    const items = all.some((i) => i.control) ? all.filter((i) => !i.control) : all;
    if (items !== all) {
      const err = code === undefined ? undefined : new HopsafeError(code, `group control to ${peer} not confirmed (${code})`);
      for (const i of all) if (i.control) err ? i.settle?.reject(err) : i.settle?.resolve();
      if (items.length === 0) return;
    }
    if (code === undefined) {
      this.counters.confirmed += items.length;
      for (const i of items) i.settle?.resolve();
      return;
    }
    this.counters.unconfirmed += items.length;
    this.counters.unconfirmedByCode[code] = (this.counters.unconfirmedByCode[code] ?? 0) + items.length;
    const err = new HopsafeError(code, `message to ${peer} not confirmed (${code})`);
    for (const i of items) i.settle?.reject(err);
    this.log.info({ peer, code, count: items.length }, 'messages not confirmed');
    this.emit('unconfirmed', { peer, code, messages: items.map((i) => i.data) });
  }

  private arm(slot: Slot, at: number | undefined, keepAlive: boolean): void {
    this.disarm(slot);
    if (at === undefined || this.closed) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - this.clock()));
    if (!keepAlive && delay > FAR_MS) {
      this.far.add(slot); // its deadline is the machine's (`m.deadline`): no boxed number kept here

      if (!this.sweep) {
        this.sweep = setInterval(() => this.sweepFar(), FAR_SWEEP_MS);
        this.sweep.unref();
      }
      return;
    }
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.closed) return;
      const now = this.clock();
      // A deadline past setTimeout's range, or a clock behind the timer: wait again.
      if (now < at) return this.arm(slot, at, keepAlive);
      this.run(slot, slot.tick(now));
      this.forgetIfIdle(slot);
    }, delay);
    // Referenced only while work is owed (an ACK, an outcome for the application).
    if (!keepAlive) slot.timer.unref();
  }

  /** Stops `slot`'s timer, or takes it off the far list. */
  private disarm(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    if (!this.far.delete(slot)) return;
    if (this.far.size === 0) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  }

  /** Arms the timer of every far deadline that is now within FAR_MS. */
  private sweepFar(): void {
    const now = this.clock();
    for (const slot of this.far) {
      const at = slot.deadline;
      if (at === undefined) this.disarm(slot);
      else if (at - now <= FAR_MS) this.arm(slot, at, false);
    }
  }

  /** [SPEC 3.7] Sends a record frame to the peer, coalesced with others while the transport lags. */
  private sendRecord(slot: Slot, frame: Uint8Array): Promise<void> {
    const peer = slot.id;
    const pool = this.env.ctx.framePool; // [SPEC 8.10] given back by handOver, through the outbox or not
    if (this.coalesce.maxRecords < 2) return handOver(this.transport, peer, frame, pool);
    slot.outbox ??= new Outbox(
      this.coalesce,
      this.transport,
      peer,
      (box) => {
        if (slot.outbox === box) slot.outbox = undefined; // idle peers hold no outbox
      },
      (records) => {
        this.counters.batches++;
        this.counters.coalesced += records;
      },
      pool,
    );
    return slot.outbox.push(frame);
  }

  // ---------------------------------------------------------------- table

  /**
   * The table entry of `id`, created when there is none. Every id given here was checked by assertEndpointId (send,
   * onFrame; the group layer checks member and publisher ids), so `send` and `onFrame` skip the check for a known one.
   */
  private slotFor(id: string): Slot {
    const existing = this.peers.get(id);
    if (existing) return existing;
    // [SPEC 5.7] Only peers with state count: entries without any are forgotten as soon as they are idle.
    if (this.peers.size >= this.cfg.maxPeers) throw new HopsafeError('ERR_HANDSHAKE_LIMIT', 'peer table full');
    const slot = new Slot(id, this.env);
    this.peers.set(id, slot);
    return slot;
  }

  /** [SPEC 5.7] A peer with no session, handshake, queue or outcome owed leaves the table. */
  private forgetIfIdle(slot: Slot): void {
    if (!slot.idle || slot.inboundDepth > 0 || slot.outbox || this.peers.get(slot.id) !== slot) return;
    this.disarm(slot);
    this.peers.delete(slot.id);
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

export { createEndpoint } from './create.js';
export type { RoleAssignment };
