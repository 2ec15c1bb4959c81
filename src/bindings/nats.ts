/**
 * `hopsafe/nats`: the NATS binding (nats.js v3: @nats-io/transport-node, and @nats-io/jetstream for JetStream mode).
 * [SPEC 8.11]
 *
 * - A frame from `from` to `to` is published on subject `{prefix}.{w(to)}.{w(from)}`, where w(id) writes an endpoint id
 *   as one subject token ('.' → '/', the AMQP routing-key mapping of amqp-routing.ts: ids never contain '/', so it is
 *   reversible). Endpoint `self` receives `{prefix}.{w(self)}.*`. The payload is the frame, byte for byte.
 * - Core NATS (default): a plain subscription; at-most-once (the server stores nothing for a receiver that is not
 *   connected). `send` resolves once the server answered a PING sent after the publish (the frame was flushed to it).
 * - JetStream (`jetstream: true` or options): a stream over `{prefix}.>` (created if absent, work-queue retention),
 *   one durable pull consumer per endpoint filtered on its inbox, explicit ack after the endpoint's handler settled
 *   (accepted or refused alike, as the AMQP binding does); `send` resolves on the stream's publish acknowledgement.
 *   Frames to an endpoint that is down wait in the stream until its consumer pulls them (at-least-once; the replay
 *   window, SPEC 7.4, drops redeliveries).
 * - Reconnect is nats.js's (endless, with status events); frames sent while disconnected wait in a bounded queue
 *   (`maxQueue`, then ERR_QUEUE_FULL) and are published, in order, after the reconnect; a frame whose flush or publish
 *   acknowledgement was lost with the connection is published again (JetStream deduplicates it by its Nats-Msg-Id).
 * - `maxFrameSize` is the option (default 1 MiB) capped by the server's `max_payload` (INFO) once connected.
 * - Group addresses (SPEC 13.9): `~g.{prefix}.{w(publisher)}.{groupId}` (nats-groups.ts), outside the inbox stream.
 *   Core NATS: a core subscription per group address, a group publish is one core publish (at-most-once). JetStream: a
 *   second stream over `~g.{prefix}.>` with interest retention (a frame is kept until every member's consumer acked
 *   it), one durable consumer per member and group address, so a member whose connection dropped catches up.
 * - `connection`: a NatsConnection the application already has. Several endpoints may share one: each subscribes (or
 *   consumes) its own inbox and, on close, stops only that; the connection is never drained or closed here.
 * The client library is an optional peer dependency, loaded when this module is imported.
 */
import type { ConnectionOptions, Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { HopsafeError } from '../errors/index.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { InboundGuard } from '../transport/inbound.js';
import { assertQueueRoom, assertSendable, PendingSends } from '../transport/lifecycle.js';
import { intOption } from '../transport/options.js';
import { requirePeer } from '../transport/peer-dependency.js';
import { logStatus, StatusEmitter } from '../transport/status.js';
import { assertGroupAddress, assertGroupSendable } from '../transport/group-address.js';
import {
  GROUP_LEVEL,
  type FrameHandler,
  type GroupFrameHandler,
  type InboundStats,
  type Transport,
  type TransportStatus,
} from '../transport/transport.js';
import { bindingKey, prefixWords, routingKey, senderFromKey } from './amqp-routing.js';
import { natsGroupAddress, natsGroupSubject, natsPublisherGroups } from './nats-groups.js';

// [issue 17] @nats-io/transport-node is an optional peer dependency: importing hopsafe/nats without it is ERR_CONFIG.
const natsLib = requirePeer<Pick<typeof import('@nats-io/transport-node'), 'connect'>>('@nats-io/transport-node', 'hopsafe/nats');
/** @nats-io/jetstream is needed only in JetStream mode: loaded by the first JetStream transport. */
type JetStreamLib = Pick<typeof import('@nats-io/jetstream'), 'jetstream' | 'jetstreamManager'>;
let jsLib: JetStreamLib | undefined;
const loadJetStream = (): JetStreamLib => (jsLib ??= requirePeer<JetStreamLib>('@nats-io/jetstream', 'hopsafe/nats (jetstream)'));

/** How long one pull of a JetStream group consumer waits (ms): the bound on a reconnected member's catch-up. */
const GROUP_PULL_EXPIRES_MS = 5000;

/** Default subject prefix. */
export const NATS_DEFAULT_PREFIX = 'hopsafe';
/** Default largest frame: 1 MiB, nats-server's default `max_payload`. [SPEC 8.11] */
export const NATS_DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;
/** nats-server refuses a `max_payload` above 64 MiB. */
export const NATS_MAX_FRAME_SIZE_LIMIT = 64 * 1024 * 1024;
/** Room kept for the Nats-Msg-Id header a JetStream publish carries (headers count against max_payload). */
const JS_HEADER_ALLOWANCE = 128;

/** JetStream mode settings. Everything has a default; `jetstream: true` takes them all. [SPEC 8.11] */
export interface NatsJetStreamOptions {
  /** Stream name. Default: the prefix with '.' replaced by '_'. Must capture `{prefix}.>` if it already exists. */
  stream?: string;
  /** Create the stream when it does not exist (work-queue retention over `{prefix}.>`). Default true. */
  createStream?: boolean;
  /** When creating the stream: how long an undelivered frame is kept (ms). Default 24 h. */
  maxAgeMs?: number;
  /** When creating the stream: 'file' (default, survives a server restart) or 'memory'. */
  storage?: 'file' | 'memory';
  /** Durable consumer name of endpoint `localId`. Default {@link natsDurableName}. */
  durable?: (localId: string) => string;
  /** The server redelivers a frame not acked within this time (ms). Default 30 000. */
  ackWaitMs?: number;
  /** Frames pulled ahead of the handler (consume `max_messages`, consumer `max_ack_pending`). Default 64. */
  prefetch?: number;
  /**
   * Stream of the group subjects `~g.{prefix}.>` (SPEC 13.9), created like the inbox stream but with interest
   * retention when a group is first used. Default: the inbox stream's name + `-g`.
   */
  groupStream?: string;
}

/** Hop-by-hop TLS to the server (PEM text or bytes). With any of these, the connection requires TLS. */
export interface NatsTlsOptions {
  ca?: string | Uint8Array;
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  /** TLS before the INFO exchange (server `handshake_first`). */
  handshakeFirst?: boolean;
}

/** Options of {@link natsTransport}: servers, subject prefix, core or JetStream mode, bounds, credentials. [SPEC 8.11] */
export interface NatsTransportOptions {
  /** Server URL(s), `nats://host:port` or `tls://host:port`. Default `nats://127.0.0.1:4222`. */
  servers?: string | readonly string[];
  /** First subject token(s), dot-separated words of [A-Za-z0-9_/-]. Default 'hopsafe'. */
  prefix?: string;
  /** JetStream mode (stored frames, at-least-once); default core NATS (at-most-once). */
  jetstream?: boolean | NatsJetStreamOptions;
  /** Largest frame (bytes). Default 1 MiB; capped by the server's max_payload once connected. [SPEC 8.9, 8.11] */
  maxFrameSize?: number;
  /** Frames accepted while disconnected before `send` refuses with ERR_QUEUE_FULL. Default 1000. */
  maxQueue?: number;
  /**
   * Core NATS: onFrame calls that may be pending; a frame arriving beyond it is dropped and counted
   * (`inboundStats().overflow`): a core subscription cannot be paused. Default 1000. (JetStream: `prefetch`.)
   */
  maxUnsettledFrames?: number;
  /** How long `open` waits for the connection (and the stream/consumer). Default 10 s. */
  openTimeoutMs?: number;
  /** Delay between reconnect attempts (ms). Default 500. */
  reconnectTimeWaitMs?: number;
  /** Server credentials (never logged). */
  user?: string;
  pass?: string;
  token?: string;
  tls?: NatsTlsOptions;
  /** Client connection name shown by the server's monitoring. Default `hopsafe-{localId}`. */
  name?: string;
  /** pino logger; none by default. Ids, subjects, sizes and error names only, never frame bytes. */
  logger?: Logger;
  /**
   * A NatsConnection (from `connect` of @nats-io/transport-node) the application already has; several transports
   * (endpoints) may share one. The transport subscribes or consumes its own inbox on it and never drains or closes
   * it: `close` stops only its own subscription or consumer. Reconnecting is the connection's own business; when the
   * application closes it, the transport reports `disconnected` and sends fail with ERR_TRANSPORT. `servers`, `user`,
   * `pass`, `token`, `tls`, `name` and `reconnectTimeWaitMs` must not be given with it (ERR_CONFIG: the connection's
   * own settings apply).
   */
  connection?: NatsConnection;
}

/** Options that configure a connection of the transport's own: refused with `connection`. */
const CONNECTION_OPTIONS = ['servers', 'user', 'pass', 'token', 'tls', 'name', 'reconnectTimeWaitMs'] as const;

/**
 * [SPEC 8.11] Default durable consumer name of an endpoint: `hopsafe-` + the id with '.' replaced by '~'
 * (consumer names cannot contain '.'; ids never contain '~', so two ids never share a consumer).
 */
export function natsDurableName(localId: string): string {
  return `hopsafe-${localId.replaceAll('.', '~')}`;
}

/** [SPEC 8.11] Subject of a frame from `from` to `to`. */
export function natsSubject(prefix: string, to: string, from: string): string {
  return routingKey(prefix, to, from);
}

/** [SPEC 8.11] The inbox subscription (wildcard) of endpoint `self`. */
export function natsInbox(prefix: string, self: string): string {
  return bindingKey(prefix, self);
}

interface PendingSend {
  readonly subject: string;
  readonly bytes: Uint8Array;
  /** JetStream de-duplication id: the same on every publish attempt of this frame. */
  readonly msgId: string;
  /** A group frame: a core publish in either mode (SPEC 13.9). */
  readonly core: boolean;
  resolve(): void;
  reject(e: HopsafeError): void;
}

const pemText = (v: string | Uint8Array): string =>
  typeof v === 'string' ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');

function errorName(e: unknown): string {
  if (e instanceof HopsafeError) return e.code;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return typeof e;
}

/** Errors after which a frame may not have reached the server: publish it again after the reconnect. */
const lostWithConnection = (e: unknown): boolean =>
  e instanceof Error && (e.name === 'RequestError' || e.name === 'TimeoutError' || /disconnect/i.test(e.message));

class NatsTransport implements Transport {
  readonly name = 'nats';
  /** #enqueue / publishGroup: new Uint8Array(bytes). */
  readonly copiesFrames = true;
  readonly #servers: string[];
  readonly #prefix: string;
  readonly #configuredMax: number;
  readonly #maxQueue: number;
  readonly #maxUnsettled: number;
  readonly #openTimeoutMs: number;
  readonly #reconnectTimeWait: number;
  readonly #js: (Required<Omit<NatsJetStreamOptions, 'durable'>> & { durable: (id: string) => string }) | undefined;
  #jsm: JetStreamManager | undefined;
  /** [SPEC 13.9] JetStream: the group stream, once made sure of. */
  #groupStreamReady: Promise<void> | undefined;
  /** [SPEC 13.9] JetStream: the group consumers, by address (or `of:` + publisher for a bridge). */
  readonly #groupConsumers = new Map<
    string,
    { readonly durable: string; readonly messages: ConsumerMessages; readonly loop: Promise<void> }
  >();
  readonly #options: NatsTransportOptions;
  readonly #log: Logger | undefined;
  readonly #guard: InboundGuard;
  readonly #status = new StatusEmitter();
  readonly #pendingRejects = new PendingSends();
  /** The application's connection (option `connection`): never drained or closed here. */
  readonly #shared: NatsConnection | undefined;
  /** Our status iterator on the connection, stopped on close (a shared connection outlives us). */
  #statusIter: AsyncIterable<unknown> | undefined;

  #state: 'new' | 'opening' | 'open' | 'closed' = 'new';
  #self: string | undefined;
  #onFrame: FrameHandler | undefined;
  #nc: NatsConnection | undefined;
  #jsClient: JetStreamClient | undefined;
  #sub: Subscription | undefined;
  #messages: ConsumerMessages | undefined;
  #consuming: Promise<void> | undefined;
  #connected = false;
  /** Frames waiting for a connection, in send order. */
  #queue: PendingSend[] = [];
  /** Core NATS: frames published since the last flush was started, and that flush's turn. */
  #unflushed: PendingSend[] = [];
  #flushScheduled = false;
  /** Sends published and not yet settled (flush / publish ack outstanding). */
  readonly #inFlight = new Set<Promise<void>>();
  #pendingFrames = 0;
  #overflow = 0;
  /** Largest frame the server / stream accepts, learnt once connected. */
  #serverMax = Number.POSITIVE_INFINITY;
  #closing: Promise<void> | undefined;
  /** [SPEC 13.9] Core subscriptions of group addresses, and of every group of a publisher (a bridge). */
  readonly #groupSubs = new Map<string, Subscription>();
  readonly #groupsOf = new Map<string, Subscription>();

  constructor(o: NatsTransportOptions) {
    if (typeof o !== 'object' || o === null) throw new HopsafeError('ERR_CONFIG', 'natsTransport needs options');
    this.#options = o;
    if (o.connection !== undefined) {
      const c: unknown = o.connection;
      if (
        typeof c !== 'object' ||
        c === null ||
        typeof (c as NatsConnection).subscribe !== 'function' ||
        typeof (c as NatsConnection).isClosed !== 'function'
      )
        throw new HopsafeError('ERR_CONFIG', 'connection must be a NatsConnection (from connect of @nats-io/transport-node)');
      const clash = CONNECTION_OPTIONS.filter((k) => o[k] !== undefined);
      if (clash.length > 0)
        throw new HopsafeError('ERR_CONFIG', `${clash.join(', ')}: not with an existing connection (its own settings apply)`);
    }
    this.#shared = o.connection;
    const servers = o.servers ?? 'nats://127.0.0.1:4222';
    this.#servers = typeof servers === 'string' ? [servers] : [...servers];
    if (this.#servers.length === 0 || this.#servers.some((s) => typeof s !== 'string' || s === ''))
      throw new HopsafeError('ERR_CONFIG', 'servers must be one or more server URLs');
    this.#prefix = o.prefix ?? NATS_DEFAULT_PREFIX;
    if (this.#prefix === '') throw new HopsafeError('ERR_CONFIG', 'prefix must not be empty');
    prefixWords(this.#prefix);
    this.#configuredMax = intOption(o.maxFrameSize ?? NATS_DEFAULT_MAX_FRAME_SIZE, 'maxFrameSize');
    if (this.#configuredMax > NATS_MAX_FRAME_SIZE_LIMIT)
      throw new HopsafeError('ERR_CONFIG', `maxFrameSize must be at most ${NATS_MAX_FRAME_SIZE_LIMIT} (nats-server's max_payload limit)`);
    this.#maxQueue = intOption(o.maxQueue ?? 1000, 'maxQueue', 0);
    this.#maxUnsettled = intOption(o.maxUnsettledFrames ?? 1000, 'maxUnsettledFrames');
    this.#openTimeoutMs = intOption(o.openTimeoutMs ?? 10_000, 'openTimeoutMs');
    this.#reconnectTimeWait = intOption(o.reconnectTimeWaitMs ?? 500, 'reconnectTimeWaitMs');
    if (o.jetstream !== undefined && o.jetstream !== false) {
      const j = o.jetstream === true ? {} : o.jetstream;
      if (typeof j !== 'object' || j === null) throw new HopsafeError('ERR_CONFIG', 'jetstream must be a boolean or options');
      const stream = j.stream ?? this.#prefix.replaceAll('.', '_').replaceAll('/', '_');
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(stream))
        throw new HopsafeError('ERR_CONFIG', `jetstream.stream ${JSON.stringify(stream)}: use [A-Za-z0-9_-]`);
      const storage = j.storage ?? 'file';
      if (storage !== 'file' && storage !== 'memory') throw new HopsafeError('ERR_CONFIG', "jetstream.storage must be 'file' or 'memory'");
      if (j.durable !== undefined && typeof j.durable !== 'function')
        throw new HopsafeError('ERR_CONFIG', 'jetstream.durable must be a function of the local id');
      const groupStream = j.groupStream ?? `${stream}-g`;
      if (!/^[A-Za-z0-9_-]{1,255}$/.test(groupStream) || groupStream === stream)
        throw new HopsafeError(
          'ERR_CONFIG',
          `jetstream.groupStream ${JSON.stringify(groupStream)}: use [A-Za-z0-9_-], not the inbox stream`,
        );
      this.#js = {
        stream,
        groupStream,
        createStream: j.createStream ?? true,
        maxAgeMs: intOption(j.maxAgeMs ?? 24 * 3600 * 1000, 'jetstream.maxAgeMs'),
        storage,
        durable: j.durable ?? natsDurableName,
        ackWaitMs: intOption(j.ackWaitMs ?? 30_000, 'jetstream.ackWaitMs'),
        prefetch: intOption(j.prefetch ?? 64, 'jetstream.prefetch'),
      };
      loadJetStream();
    }
    if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null)) throw new HopsafeError('ERR_CONFIG', 'tls must be an object');
    if ((o.tls?.cert === undefined) !== (o.tls?.key === undefined))
      throw new HopsafeError('ERR_CONFIG', 'tls.cert and tls.key go together');
    if (o.pass !== undefined && o.user === undefined) throw new HopsafeError('ERR_CONFIG', 'pass needs user');
    this.#log = o.logger?.child({ transport: 'nats' });
    this.#guard = new InboundGuard(this.#configuredMax, this.#log);
    this.#status.on((s) => logStatus(this.#log, s, this.#self));
  }

  /** [SPEC 8.11] The option, capped by the server's max_payload (minus header room in JetStream mode) once connected. */
  get maxFrameSize(): number {
    return Math.min(this.#configuredMax, this.#serverMax);
  }

  /** Stream name in JetStream mode, else undefined. */
  get streamName(): string | undefined {
    return this.#js?.stream;
  }

  /** Durable consumer name (JetStream mode, after open). */
  get durableName(): string | undefined {
    return this.#js === undefined || this.#self === undefined ? undefined : this.#js.durable(this.#self);
  }

  inboundStats(): InboundStats {
    return { ...this.#guard.stats(), queued: this.#pendingFrames, overflow: this.#overflow };
  }

  onStatus(listener: (status: TransportStatus) => void): void {
    this.#status.on(listener);
  }

  #connectionOptions(localId: string): ConnectionOptions {
    const o = this.#options;
    // A tls:// URL requires TLS (nats.js itself only looks at the `tls` option and the server's INFO).
    const tls = o.tls ?? (this.#servers.some((s) => s.startsWith('tls://')) ? {} : undefined);
    return {
      servers: this.#servers,
      name: o.name ?? `hopsafe-${localId}`,
      timeout: this.#openTimeoutMs,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: this.#reconnectTimeWait,
      ...(o.user !== undefined ? { user: o.user } : {}),
      ...(o.pass !== undefined ? { pass: o.pass } : {}),
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(tls !== undefined
        ? {
            tls: {
              ...(tls.ca !== undefined ? { ca: pemText(tls.ca) } : {}),
              ...(tls.cert !== undefined ? { cert: pemText(tls.cert) } : {}),
              ...(tls.key !== undefined ? { key: pemText(tls.key) } : {}),
              ...(tls.handshakeFirst !== undefined ? { handshakeFirst: tls.handshakeFirst } : {}),
            },
          }
        : {}),
    };
  }

  #learnServerMax(nc: NatsConnection, streamMax?: number): void {
    const info = nc.info?.max_payload;
    let max = typeof info === 'number' && info > 0 ? info - (this.#js !== undefined ? JS_HEADER_ALLOWANCE : 0) : Number.POSITIVE_INFINITY;
    if (streamMax !== undefined && streamMax > 0) max = Math.min(max, streamMax - JS_HEADER_ALLOWANCE);
    this.#serverMax = max;
  }

  async open(localId: string, onFrame: FrameHandler): Promise<void> {
    assertEndpointId(localId, 'localId');
    if (this.#state === 'closed') throw new HopsafeError('ERR_CLOSED', 'nats transport is closed');
    if (this.#state !== 'new') throw new HopsafeError('ERR_STATE', 'nats transport already opened');
    if (typeof onFrame !== 'function') throw new HopsafeError('ERR_CONFIG', 'onFrame must be a function');
    this.#state = 'opening';
    this.#self = localId;
    this.#onFrame = onFrame;
    let nc: NatsConnection;
    if (this.#shared !== undefined) {
      nc = this.#shared;
      if (nc.isClosed() || nc.isDraining()) {
        this.#state = 'closed';
        this.#status.set('closed');
        throw new HopsafeError('ERR_TRANSPORT', "nats: the application's connection is closed");
      }
    } else
      try {
        nc = await natsLib.connect(this.#connectionOptions(localId));
      } catch (e) {
        const why = e instanceof Error && e.name === 'TimeoutError' ? await this.#diagnose(localId) : undefined;
        this.#state = 'closed';
        this.#status.set('closed');
        throw new HopsafeError(
          'ERR_TRANSPORT',
          `nats: cannot connect to ${this.#servers.join(', ')}: ${errorName(e)}${why !== undefined ? ` (one attempt without retries: ${why})` : ''}`,
          { cause: e },
        );
      }
    this.#nc = nc;
    this.#learnServerMax(nc);
    this.#watchStatus(nc);
    try {
      await withTimeout(
        this.#js !== undefined ? this.#openJetStream(nc, localId) : this.#openCore(nc, localId),
        this.#openTimeoutMs,
        'nats: stream/consumer set-up',
      );
      await withTimeout(nc.flush(), this.#openTimeoutMs, 'nats: flush');
    } catch (e) {
      await this.close();
      throw e instanceof HopsafeError ? e : new HopsafeError('ERR_TRANSPORT', `nats: open failed: ${errorName(e)}`, { cause: e });
    }
    if (this.#state !== 'opening') throw new HopsafeError('ERR_CLOSED', 'nats transport closed while opening');
    this.#state = 'open';
    this.#connected = true;
    this.#status.set('connected');
    this.#log?.debug({ localId, inbox: natsInbox(this.#prefix, localId), jetstream: this.#js !== undefined }, 'open');
  }

  /**
   * Why a first connect timed out: with endless reconnects the client retries a server that closes the connection
   * (e.g. one refusing our TLS client certificate after the handshake) until the timeout, and the reason is lost. One
   * attempt without retries names it; undefined when that attempt times out too or gets through.
   */
  async #diagnose(localId: string): Promise<string | undefined> {
    try {
      const nc = await natsLib.connect({
        ...this.#connectionOptions(localId),
        reconnect: false,
        timeout: Math.min(this.#openTimeoutMs, 2000),
      });
      await nc.close().catch(() => undefined);
      return undefined;
    } catch (e) {
      return e instanceof Error && e.name === 'TimeoutError' ? undefined : errorName(e);
    }
  }

  #watchStatus(nc: NatsConnection): void {
    const iter = nc.status();
    this.#statusIter = iter;
    void (async () => {
      for await (const s of iter) {
        if (this.#state === 'closed') return;
        if (s.type === 'disconnect' || s.type === 'reconnecting') {
          this.#connected = false;
          if (this.#state === 'open') this.#status.set('reconnecting');
        } else if (s.type === 'reconnect') {
          this.#learnServerMax(nc);
          this.#connected = true;
          if (this.#state === 'open') this.#status.set('connected');
          this.#flushQueue();
        }
      }
    })().catch(() => undefined);
    void nc.closed().then((err) => {
      if (this.#state === 'closed') return;
      // The client gave up (authentication failure, …): nothing will be delivered any more.
      this.#connected = false;
      this.#status.set('disconnected');
      this.#log?.warn(
        { err: err ? errorName(err) : undefined },
        this.#shared !== undefined ? "the application's nats connection closed" : 'nats connection closed by the client library',
      );
      this.#failQueued(new HopsafeError('ERR_TRANSPORT', 'nats: connection closed'));
    });
  }

  /** [SPEC 8.11] Core NATS: a wildcard subscription on the inbox; onFrame per message, bounded. */
  async #openCore(nc: NatsConnection, self: string): Promise<void> {
    const inbox = natsInbox(this.#prefix, self);
    this.#sub = nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err !== null) {
          this.#log?.warn({ inbox, err: errorName(err) }, 'subscription error');
          return;
        }
        this.#deliverCore(self, msg);
      },
    });
  }

  #deliverCore(self: string, msg: Msg): void {
    if (this.#state === 'closed') return;
    const from = senderFromKey(this.#prefix, self, msg.subject);
    if (from === undefined) {
      this.#log?.debug({ subject: msg.subject }, 'ignored message outside the inbox');
      return;
    }
    const onFrame = this.#onFrame;
    if (onFrame !== undefined) this.#deliverBounded(msg, from, (bytes) => onFrame({ from, bytes }));
  }

  /**
   * [SPEC 8.9, 8.11] One core message for `handler` (an inbox frame or a group frame): oversize dropped before any copy;
   * past maxUnsettledFrames pending calls dropped and counted; a handler failure is logged, never thrown.
   */
  #deliverBounded(msg: Msg, from: string | undefined, handler: (bytes: Uint8Array) => void | Promise<void>): void {
    const bytes = plain(msg.data);
    // [SPEC 8.9] Larger than maxFrameSize: dropped before any copy, never handed to onFrame.
    if (this.#guard.oversize(bytes.byteLength, from)) return;
    // [SPEC 8.9, 8.11] A core subscription cannot be paused: past maxUnsettledFrames pending calls a frame is
    // dropped (at-most-once, as the server drops frames for a slow consumer).
    if (this.#pendingFrames >= this.#maxUnsettled) {
      this.#overflow++;
      this.#log?.warn(
        { from, size: bytes.byteLength, pending: this.#pendingFrames, dropped: this.#overflow },
        'inbound frame dropped: too many unsettled',
      );
      return;
    }
    this.#pendingFrames++;
    void this.#call(from, bytes, handler).finally(() => this.#pendingFrames--);
  }

  async #handle(from: string, bytes: Uint8Array): Promise<void> {
    const onFrame = this.#onFrame;
    if (onFrame !== undefined) await this.#call(from, bytes, (b) => onFrame({ from, bytes: b }));
  }

  async #call(from: string | undefined, bytes: Uint8Array, handler: (bytes: Uint8Array) => void | Promise<void>): Promise<void> {
    if (this.#state === 'closed') return;
    try {
      await handler(bytes);
    } catch (e) {
      this.#log?.debug({ from, size: bytes.byteLength, err: errorName(e) }, 'frame handler rejected');
    }
  }

  /** [SPEC 8.11] JetStream: the stream (created if absent), this endpoint's durable consumer, a pull loop. */
  async #openJetStream(nc: NatsConnection, self: string): Promise<void> {
    const js = this.#js;
    if (js === undefined) return;
    const lib = loadJetStream();
    const jsm = await lib.jetstreamManager(nc);
    this.#jsm = jsm;
    const subjects = [`${this.#prefix}.>`];
    let streamMax: number | undefined;
    try {
      const info = await jsm.streams.info(js.stream);
      streamMax = info.config.max_msg_size;
    } catch (e) {
      if (!js.createStream || !(e instanceof Error && e.name === 'StreamNotFoundError'))
        throw new HopsafeError('ERR_TRANSPORT', `nats: stream ${js.stream}: ${errorName(e)}`, { cause: e });
      try {
        const created = await jsm.streams.add({
          name: js.stream,
          subjects,
          retention: 'workqueue',
          storage: js.storage,
          max_age: js.maxAgeMs * 1_000_000,
          duplicate_window: 120 * 1_000_000_000,
        });
        streamMax = created.config.max_msg_size;
      } catch (e2) {
        // Another endpoint created it at the same moment: use it.
        const info = await jsm.streams.info(js.stream).catch(() => {
          throw new HopsafeError('ERR_TRANSPORT', `nats: cannot create stream ${js.stream}: ${errorName(e2)}`, { cause: e2 });
        });
        streamMax = info.config.max_msg_size;
      }
    }
    this.#learnServerMax(nc, streamMax);
    const durable = js.durable(self);
    const config = {
      durable_name: durable,
      ack_policy: 'explicit',
      deliver_policy: 'all',
      filter_subject: natsInbox(this.#prefix, self),
      ack_wait: js.ackWaitMs * 1_000_000,
      max_ack_pending: js.prefetch,
    } as const;
    try {
      await jsm.consumers.add(js.stream, config);
    } catch (e) {
      // An existing durable with other settings (e.g. another prefetch): keep it, it still filters our inbox.
      const info = await jsm.consumers.info(js.stream, durable).catch(() => undefined);
      if (info === undefined || info.config.filter_subject !== config.filter_subject)
        throw new HopsafeError('ERR_TRANSPORT', `nats: consumer ${durable} on ${js.stream}: ${errorName(e)}`, { cause: e });
    }
    const client = lib.jetstream(nc);
    this.#jsClient = client;
    const consumer = await client.consumers.get(js.stream, durable);
    const messages = await consumer.consume({ max_messages: js.prefetch });
    this.#messages = messages;
    this.#consuming = this.#consumeLoop(self, messages);
  }

  async #consumeLoop(self: string, messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) await this.#deliverJs(self, m);
    } catch (e) {
      if (this.#state !== 'closed') this.#log?.warn({ err: errorName(e) }, 'jetstream consumer stopped');
    }
  }

  /** [SPEC 8.11] One at a time, in stream order; acked once the handler settled (accepted or refused). */
  async #deliverJs(self: string, m: JsMsg): Promise<void> {
    if (this.#state === 'closed') return; // not acked: redelivered to the next consumer of this durable
    const from = senderFromKey(this.#prefix, self, m.subject);
    const bytes = plain(m.data);
    if (from !== undefined && !this.#guard.oversize(bytes.byteLength, from)) {
      this.#pendingFrames++;
      try {
        await this.#handle(from, bytes);
      } finally {
        this.#pendingFrames--;
      }
    } else if (from === undefined) this.#log?.debug({ subject: m.subject }, 'ignored message outside the inbox');
    // [SPEC 8.9, 8.11] Refused, oversize and foreign frames are acked like accepted ones: redelivery would not help.
    try {
      m.ack();
    } catch {
      /* connection gone: the server redelivers it after ackWaitMs */
    }
  }

  send(peerId: string, bytes: Uint8Array): Promise<void> {
    let self: string;
    try {
      self = assertSendable(
        {
          name: 'nats',
          closed: this.#state === 'closed',
          localId: this.#state === 'open' ? this.#self : undefined,
          maxFrameSize: this.maxFrameSize,
        },
        peerId,
        bytes,
      );
      // The connection is gone for good (the client gave up, or the application closed its connection).
      if (this.#nc?.isClosed() === true) throw new HopsafeError('ERR_TRANSPORT', 'nats: connection closed');
      // [SPEC 8.10, 8.11] While disconnected (or while older frames still wait) frames queue, bounded by maxQueue.
      if (!this.#connected || this.#queue.length > 0) assertQueueRoom('nats', this.#queue.length, this.#maxQueue);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue(natsSubject(this.#prefix, peerId, self), bytes, false);
  }

  #enqueue(subject: string, bytes: Uint8Array, core: boolean): Promise<void> {
    const sent = new Promise<void>((resolve, reject) => {
      const p: PendingSend = {
        subject,
        core,
        // Copy: the caller may reuse its buffer before the frame leaves the queue.
        bytes: new Uint8Array(bytes),
        msgId: randomBytes(12).toString('base64url'),
        resolve: () => {
          this.#pendingRejects.delete(p.reject);
          resolve();
        },
        reject: (e) => {
          this.#pendingRejects.delete(p.reject);
          reject(e);
        },
      };
      this.#pendingRejects.add(p.reject);
      if (this.#connected && this.#queue.length === 0) this.#publish(p);
      else this.#queue.push(p);
    });
    this.#inFlight.add(sent);
    const done = (): void => void this.#inFlight.delete(sent);
    sent.then(done, done);
    return sent;
  }

  #publish(p: PendingSend): void {
    const nc = this.#nc;
    if (nc === undefined || this.#state === 'closed') {
      p.reject(new HopsafeError('ERR_CLOSED', 'nats transport closed'));
      return;
    }
    if (this.#jsClient !== undefined && !p.core) {
      // [SPEC 8.11] JetStream: resolves on the stream's publish acknowledgement; the msgID makes a re-publish after a
      // lost acknowledgement a duplicate the stream drops.
      this.#jsClient.publish(p.subject, p.bytes, { msgID: p.msgId, timeout: 5000 }).then(
        () => p.resolve(),
        (e: unknown) => this.#publishFailed(p, e),
      );
      return;
    }
    try {
      nc.publish(p.subject, p.bytes);
    } catch (e) {
      this.#publishFailed(p, e);
      return;
    }
    // [SPEC 8.11] Core: resolved by the PONG of a PING sent after it; frames of one event-loop turn share one PING.
    this.#unflushed.push(p);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      const batch = this.#unflushed;
      this.#unflushed = [];
      nc.flush().then(
        () => {
          for (const q of batch) q.resolve();
        },
        (e: unknown) => {
          for (const q of batch) this.#publishFailed(q, e);
        },
      );
    });
  }

  /** [SPEC 8.10, 13.9] One frame on a group address: `send`'s guards and queue; a core publish in either mode. */
  publishGroup(address: string, bytes: Uint8Array): Promise<void> {
    try {
      assertGroupSendable(
        {
          name: 'nats',
          closed: this.#state === 'closed',
          localId: this.#state === 'open' ? this.#self : undefined,
          maxFrameSize: this.maxFrameSize,
        },
        address,
        bytes,
      );
      if (!this.#connected || this.#queue.length > 0) assertQueueRoom('nats', this.#queue.length, this.#maxQueue);
    } catch (e) {
      return Promise.reject(e);
    }
    const subject = natsGroupSubject(this.#prefix, address);
    if (this.#js === undefined) return this.#enqueue(subject, bytes, true);
    // [SPEC 13.9] JetStream: stored in the group stream (made sure of first), acknowledged by it.
    const copy = new Uint8Array(bytes);
    return this.#ensureGroupStream().then(() => this.#enqueue(subject, copy, false));
  }

  /** [SPEC 8.11, 13.9] JetStream: the group stream over `~g.{prefix}.>`, interest retention; created if absent. */
  #ensureGroupStream(): Promise<void> {
    const js = this.#js;
    const jsm = this.#jsm;
    if (js === undefined || jsm === undefined) return Promise.reject(new HopsafeError('ERR_STATE', 'nats transport: call open() first'));
    this.#groupStreamReady ??= (async () => {
      const name = js.groupStream;
      const exists = await jsm.streams.info(name).then(
        () => true,
        (e: unknown) => {
          if (e instanceof Error && e.name === 'StreamNotFoundError' && js.createStream) return false;
          throw new HopsafeError('ERR_TRANSPORT', `nats: group stream ${name}: ${errorName(e)}`, { cause: e });
        },
      );
      if (exists) return;
      await jsm.streams
        .add({
          name,
          subjects: [`${GROUP_LEVEL}.${this.#prefix}.>`],
          retention: 'interest',
          storage: js.storage,
          max_age: js.maxAgeMs * 1_000_000,
          duplicate_window: 120 * 1_000_000_000,
        })
        .catch(async (e: unknown) => {
          // Another endpoint created it at the same moment: use it.
          await jsm.streams.info(name).catch(() => {
            throw new HopsafeError('ERR_TRANSPORT', `nats: cannot create group stream ${name}: ${errorName(e)}`, { cause: e });
          });
        });
    })();
    // A failed attempt may be retried by the next call.
    this.#groupStreamReady.catch(() => {
      this.#groupStreamReady = undefined;
    });
    return this.#groupStreamReady;
  }

  /**
   * [SPEC 8.11, 13.9] JetStream: a durable consumer of the group stream filtered on `subject` (created with deliver
   * policy `new`; an existing one resumes where it was), pulled one frame at a time, acked after the handler settled.
   */
  async #consumeGroup(
    key: string,
    durable: string,
    subject: string,
    deliver: (subject: string, bytes: Uint8Array) => void | Promise<void>,
  ) {
    const js = this.#js;
    const client = this.#jsClient;
    const jsm = this.#jsm;
    if (js === undefined || client === undefined || jsm === undefined)
      throw new HopsafeError('ERR_STATE', 'nats transport: call open() first');
    await this.#ensureGroupStream();
    await this.#stopGroupConsumer(key, false);
    const config = {
      durable_name: durable,
      ack_policy: 'explicit',
      deliver_policy: 'new',
      filter_subject: subject,
      ack_wait: js.ackWaitMs * 1_000_000,
      max_ack_pending: js.prefetch,
    } as const;
    try {
      await jsm.consumers.add(js.groupStream, config);
    } catch (e) {
      const info = await jsm.consumers.info(js.groupStream, durable).catch(() => undefined);
      if (info === undefined || info.config.filter_subject !== subject)
        throw new HopsafeError('ERR_TRANSPORT', `nats: consumer ${durable} on ${js.groupStream}: ${errorName(e)}`, { cause: e });
    }
    const consumer = await client.consumers.get(js.groupStream, durable);
    // A pull outlives a cut connection until it expires (the client's default 30 s): a member that reconnects catches
    // up once its next pull goes out, so a shorter expiry bounds its catch-up (SPEC 13.7), one pull per 5 s when idle.
    const messages = await consumer.consume({ max_messages: js.prefetch, expires: GROUP_PULL_EXPIRES_MS });
    const loop = (async () => {
      try {
        for await (const m of messages) {
          if (this.#state === 'closed') return; // not acked: delivered again to this durable later
          const bytes = plain(m.data);
          if (!this.#guard.oversize(bytes.byteLength, undefined)) {
            this.#pendingFrames++;
            try {
              await this.#call(undefined, bytes, (b) => deliver(m.subject, b));
            } finally {
              this.#pendingFrames--;
            }
          }
          try {
            m.ack();
          } catch {
            /* connection gone: redelivered after ackWaitMs */
          }
        }
      } catch (e) {
        if (this.#state !== 'closed') this.#log?.warn({ subject, err: errorName(e) }, 'jetstream group consumer stopped');
      }
    })();
    this.#groupConsumers.set(key, { durable, messages, loop });
  }

  /** Stops a group consumer; `remove`: deletes the durable too (the member left: no more interest). */
  async #stopGroupConsumer(key: string, remove: boolean): Promise<void> {
    const c = this.#groupConsumers.get(key);
    if (c === undefined) return;
    this.#groupConsumers.delete(key);
    await c.messages.close().catch(() => undefined);
    await Promise.race([c.loop, sleep(2000)]);
    const js = this.#js;
    if (remove && js !== undefined) await this.#jsm?.consumers.delete(js.groupStream, c.durable).catch(() => undefined);
  }

  /** [SPEC 8.11] JetStream durable name of a group consumer: the endpoint's durable, `-g-` or `-gp-`, the group / publisher. */
  #groupDurable(tag: string): string {
    const js = this.#js;
    if (js === undefined || this.#self === undefined) throw new HopsafeError('ERR_STATE', 'nats transport: call open() first');
    return `${js.durable(this.#self)}-${tag.replaceAll('.', '~')}`;
  }

  #groupReady(): NatsConnection {
    if (this.#state === 'closed') throw new HopsafeError('ERR_CLOSED', 'nats transport is closed');
    const nc = this.#nc;
    if (this.#state !== 'open' || nc === undefined) throw new HopsafeError('ERR_STATE', 'nats transport: call open() first');
    return nc;
  }

  /** [SPEC 13.9] A core subscription on the group subject (nats.js renews it after a reconnect); resolves once the server has it. */
  async subscribeGroup(address: string, onFrame: GroupFrameHandler): Promise<void> {
    const nc = this.#groupReady();
    assertGroupAddress(address);
    if (typeof onFrame !== 'function') throw new HopsafeError('ERR_INPUT', 'onFrame must be a function');
    const subject = natsGroupSubject(this.#prefix, address);
    if (this.#js !== undefined) {
      await this.#consumeGroup(address, this.#groupDurable(`g-${address.slice(address.lastIndexOf('/') + 1)}`), subject, (_s, b) =>
        onFrame(b),
      );
      return;
    }
    this.#groupSubs.get(address)?.unsubscribe();
    this.#groupSubs.set(
      address,
      this.#subscribeCore(nc, subject, (msg) => this.#deliverBounded(msg, undefined, onFrame)),
    );
    await nc.flush();
  }

  /** [SPEC 8.5, 13.9] Every group address of `publisher` (`~g.{prefix}.{w(publisher)}.*`), for a bridge. */
  async subscribeGroupsOf(publisher: string, onFrame: (address: string, bytes: Uint8Array) => void | Promise<void>): Promise<void> {
    const nc = this.#groupReady();
    const subject = natsPublisherGroups(this.#prefix, publisher);
    if (this.#js !== undefined) {
      await this.#consumeGroup(`of:${publisher}`, this.#groupDurable(`gp-${publisher}`), subject, (s, b) => {
        const address = natsGroupAddress(this.#prefix, s);
        return address === undefined ? undefined : onFrame(address, b);
      });
      return;
    }
    this.#groupsOf.get(publisher)?.unsubscribe();
    this.#groupsOf.set(
      publisher,
      this.#subscribeCore(nc, subject, (msg) => {
        const address = natsGroupAddress(this.#prefix, msg.subject);
        if (address !== undefined) this.#deliverBounded(msg, undefined, (b) => onFrame(address, b));
      }),
    );
    await nc.flush();
  }

  async unsubscribeGroup(address: string): Promise<void> {
    await this.#stopGroupConsumer(address, true);
    const sub = this.#groupSubs.get(address);
    if (sub === undefined) return;
    this.#groupSubs.delete(address);
    sub.unsubscribe();
  }

  #subscribeCore(nc: NatsConnection, subject: string, deliver: (msg: Msg) => void): Subscription {
    return nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err !== null) this.#log?.warn({ subject, err: errorName(err) }, 'subscription error');
        else if (this.#state !== 'closed') deliver(msg);
      },
    });
  }

  #publishFailed(p: PendingSend, e: unknown): void {
    if (this.#state === 'closed') {
      p.reject(new HopsafeError('ERR_CLOSED', 'nats transport closed before the frame was acknowledged'));
      return;
    }
    if (e instanceof Error && /max_payload|payload/i.test(e.message) && e.name === 'InvalidArgumentError') {
      p.reject(
        new HopsafeError('ERR_PAYLOAD_TOO_LARGE', `nats: frame of ${p.bytes.byteLength} bytes exceeds the server's max_payload`, {
          cause: e,
        }),
      );
      return;
    }
    if (lostWithConnection(e) && this.#nc?.isClosed() === false) {
      // Lost with the connection: publish again once connected (at-least-once on this hop; SPEC 7.4 drops copies).
      this.#log?.debug({ subject: p.subject, err: errorName(e) }, 'publish not acknowledged: queued again');
      this.#queue.unshift(p);
      if (this.#connected) this.#flushQueue();
      return;
    }
    this.#log?.debug({ subject: p.subject, size: p.bytes.byteLength, err: errorName(e) }, 'publish failed');
    p.reject(new HopsafeError('ERR_TRANSPORT', `nats: publish on ${p.subject} failed: ${errorName(e)}`, { cause: e }));
  }

  #flushQueue(): void {
    const items = this.#queue;
    this.#queue = [];
    for (const p of items) this.#publish(p);
  }

  #failQueued(e: HopsafeError): void {
    const items = this.#queue;
    this.#queue = [];
    for (const p of items) p.reject(e);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const wasOpen = this.#state === 'open';
      this.#state = 'closed';
      this.#failQueued(new HopsafeError('ERR_CLOSED', 'nats transport closed'));
      const nc = this.#nc;
      if (nc !== undefined && !nc.isClosed()) {
        // Frames already published get a moment for their flush / publish acknowledgement.
        if (wasOpen && this.#inFlight.size > 0) await Promise.race([Promise.allSettled([...this.#inFlight]), sleep(2000)]);
        this.#sub?.unsubscribe();
        for (const s of [...this.#groupSubs.values(), ...this.#groupsOf.values()]) s.unsubscribe();
        // JetStream group consumers stay: frames published meanwhile wait for this member (SPEC 13.7).
        for (const k of [...this.#groupConsumers.keys()]) await this.#stopGroupConsumer(k, false);
        await this.#messages?.close().catch(() => undefined);
        await Promise.race([this.#consuming, sleep(2000)]);
        if (this.#shared === undefined) {
          await Promise.race([nc.drain().catch(() => undefined), sleep(2000)]);
          if (!nc.isClosed()) await nc.close().catch(() => undefined);
        } else await Promise.race([nc.flush().catch(() => undefined), sleep(2000)]); // our UNSUB reaches the server
      }
      // A shared connection outlives this transport: stop listening to its status.
      (this.#statusIter as { stop?: () => void } | undefined)?.stop?.();
      this.#pendingRejects.rejectAll('nats');
      this.#status.set('closed');
      this.#log?.debug({ localId: this.#self }, 'closed');
    })();
    return this.#closing;
  }
}

/** A plain Uint8Array view (no copy) of what the client hands over (a Buffer slice of the socket read). */
const plain = (b: Uint8Array): Uint8Array =>
  Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HopsafeError('ERR_TIMEOUT', `${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Creates a NATS transport (core NATS, or JetStream with `jetstream`). Nothing connects until `open`. [SPEC 8.11] */
export function natsTransport(
  options: NatsTransportOptions = {},
): Transport & { readonly streamName: string | undefined; readonly durableName: string | undefined } {
  return new NatsTransport(options);
}
