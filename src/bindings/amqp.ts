/**
 * AMQP 0-9-1 binding (RabbitMQ) on amqplib's promise API. [SPEC 8.3]
 *
 * - One topic exchange (default `hopsafe`); endpoint `self` consumes its own queue `{queuePrefix}.{self}`
 *   (queuePrefix defaults to the exchange name) bound with `[prefix.]{self}.*`.
 * - A frame to `to` is published with routing key `[prefix.]{to}.{from}` (ids written as routing-key words,
 *   see amqp-routing.ts), persistent when `durable`, on a ConfirmChannel: `send` resolves on the broker's confirm.
 * - Inbound frames are handed to the FrameHandler one at a time, in queue order; each message is acked only
 *   after the handler's promise settled — accepted or rejected alike (a rejected frame is never requeued).
 *   `prefetch` bounds the unacked messages in flight. Acks of settled frames are batched: one `basic.ack`
 *   with `multiple` for the newest settled delivery, sent once the frames delivered in the same turn of the
 *   event loop are handled (setImmediate) or after prefetch/2 settled frames, and before `close`. Since the
 *   frames settle strictly in delivery order on one consumer, `multiple` never covers an unsettled frame.
 * - The socket has TCP_NODELAY set: small frames (acks, handshake messages, ACK records) go out at once
 *   instead of waiting for Nagle's algorithm (which stalls request/response traffic behind delayed ACKs).
 * - On connection/channel loss it reconnects with bounded exponential backoff and re-declares exchange, queue,
 *   binding and consumer. Frames sent while down are queued (up to `maxQueue`, then ERR_QUEUE_FULL) and published
 *   after the reconnect; frames whose confirm was lost with the channel are published again (at-least-once: the
 *   session layer discards duplicates).
 * - Hop-by-hop TLS with an `amqps://` URL and `tls` (CA, client certificate and key, servername); broker credentials
 *   in the URL or, better, as `username`/`password`. An application that already has an amqplib connection passes it
 *   as `connection`: hopsafe opens its own channel on it and never closes the connection.
 *
 * @module hopsafe/amqp
 */
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { requirePeer } from '../transport/peer-dependency.js';
import type { Logger } from 'pino';
import { HopsafeError } from '../errors/index.js';
import { InboundGuard } from '../transport/inbound.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { assertQueueRoom, assertSendable } from '../transport/lifecycle.js';
import type { FrameHandler, GroupFrameHandler, InboundStats, Transport, TransportStatus } from '../transport/transport.js';
import { logStatus, StatusEmitter } from '../transport/status.js';
import { intOption } from '../transport/options.js';
import { bindingKey, prefixWords, routingKey, senderFromKey } from './amqp-routing.js';
import { groupAddressFromKey, groupRoutingKey, publisherGroupsKey } from './amqp-groups.js';
import { assertGroupSendable } from '../transport/group-address.js';

// [issue 17] amqplib is an optional peer dependency: importing hopsafe/amqp without it is ERR_CONFIG naming it.
const amqplib = requirePeer<Pick<typeof import('amqplib'), 'connect' | 'credentials'>>('amqplib', 'hopsafe/amqp');

/** Default largest frame: 16 MiB, well under RabbitMQ's default `max_message_size` of 128 MiB. [SPEC 8.3] */
export const AMQP_DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
/** RabbitMQ's hard upper bound for `max_message_size` (512 MiB); larger `maxFrameSize` values are refused. */
export const AMQP_MAX_FRAME_SIZE_LIMIT = 512 * 1024 * 1024;

/**
 * Backoff of the AMQP transport's reconnects: the delay doubles from `initialDelayMs` up to `maxDelayMs`, with
 * jitter (SPEC 8.3).
 */
export interface AmqpReconnectOptions {
  /** First retry delay (ms). Default 100. */
  initialDelayMs?: number;
  /** Upper bound of the exponential backoff (ms). Default 5000. */
  maxDelayMs?: number;
  /** Give up after this many consecutive failed attempts (status `disconnected`). Default: never. */
  maxAttempts?: number;
}

/** Node `tls.connect` options for an `amqps://` connection. PEM as a string or as bytes. */
export interface AmqpTlsOptions {
  /** CA certificate(s) the broker's certificate must chain to. Default: Node's built-in CA store. */
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Client certificate (PEM; may include intermediates), for brokers that require one (RabbitMQ `fail_if_no_peer_cert`). */
  cert?: string | Uint8Array;
  /** The client certificate's private key (PEM). */
  key?: string | Uint8Array;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Name the broker's certificate must carry (SNI and verification), when it differs from the URL's host. */
  servername?: string;
}

/** What the default `connect` passes to amqplib as socket options (net/tls options plus `credentials`). */
export interface AmqpSocketOptions {
  readonly noDelay: true;
  readonly ca?: Buffer[];
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly passphrase?: string;
  readonly servername?: string;
  /** SASL PLAIN credentials from `username`/`password` (they win over the URL's). */
  readonly credentials?: ReturnType<typeof amqplib.credentials.plain>;
}

/**
 * Options of `amqpTransport`: the broker (`url`, or an existing amqplib `connection`), TLS and credentials, the
 * exchange and queue names, and the bounds of SPEC 8.3 and 8.9. Every field is optional: the default is a local
 * RabbitMQ as guest.
 */
export interface AmqpTransportOptions {
  /**
   * Broker URL. Default `amqp://guest:guest@127.0.0.1:5672`. `amqps://` for TLS (port 5671 by default; see `tls`).
   * Credentials in the URL end up in process listings and configs; prefer `username`/`password`.
   */
  url?: string;
  /**
   * TLS options for an `amqps://` URL (refused with `amqp://`, where they would silently do nothing).
   * @example
   * amqpTransport({ url: 'amqps://broker.example', username: 'der-17', password: process.env.BROKER_PASSWORD,
   *   tls: { ca: readFileSync('ca.pem'), cert: readFileSync('client.pem'), key: readFileSync('client.key') } })
   */
  tls?: AmqpTlsOptions;
  /** Broker user name (SASL PLAIN); wins over the URL's. Default: the URL's. */
  username?: string;
  /** Broker password (SASL PLAIN); wins over the URL's. Never logged. */
  password?: string;
  /**
   * An amqplib connection (`ChannelModel` from `amqplib.connect`) the application already has. hopsafe opens its own
   * confirm channel on it (exchange, queue, consumer as usual) and, in `close()`, closes only that channel — never
   * the connection. A lost channel is opened again on the same connection; when the connection itself closes the
   * transport does not reconnect: status `disconnected`, queued and later frames fail with ERR_TRANSPORT (give the
   * new connection to a new transport). `url`, `tls`, `username`, `password` and `connect` must not be given with it.
   */
  connection?: ChannelModel;
  /** Topic exchange carrying the frames. Default `hopsafe`. Names starting with `amq.` are checked, not declared. */
  exchange?: string;
  /** Durable exchange and queue, persistent messages. Default true. */
  durable?: boolean;
  /** Max unacked deliveries in flight (basic.qos). Default 64. */
  prefetch?: number;
  /** Max frames queued by `send` while disconnected; beyond it `send` rejects with ERR_QUEUE_FULL. Default 1000. */
  maxQueue?: number;
  /**
   * Largest frame in bytes. Default 16 MiB (AMQP_DEFAULT_MAX_FRAME_SIZE). `send` refuses larger frames; larger
   * deliveries are acked and dropped before they are copied, never handed to onFrame. [SPEC 8.3, 8.9]
   */
  maxFrameSize?: number;
  /** pino logger for dropped frames (ids and sizes, never bytes); none by default. */
  logger?: Logger;
  /** Routing-key words before `{to}.{from}`, e.g. `hopsafe` to meet MQTT topic `hopsafe/{to}/{from}` on `amq.topic`. Default ''. */
  routingKeyPrefix?: string;
  /** Queue name is `{queuePrefix}.{self}`. Default: the exchange name (must not start with `amq.`). */
  queuePrefix?: string;
  /** Backoff between reconnect attempts (default 100 ms doubling to 5 s, retried forever). */
  reconnect?: AmqpReconnectOptions;
  /**
   * Opens the connection (default `amqplib.connect(url, socketOptions)`). Hook for instrumentation and fault-injection
   * tests; `socketOptions` carries what `tls`, `username` and `password` set.
   */
  connect?: (url: string, socketOptions: AmqpSocketOptions) => Promise<ChannelModel>;
}

const EMPTY = Buffer.alloc(0);

/** Publish properties, the same object for every frame (amqplib copies what it encodes). */
const PUBLISH_DURABLE = Object.freeze({ persistent: true, contentType: 'application/octet-stream' });
const PUBLISH_TRANSIENT = Object.freeze({ persistent: false, contentType: 'application/octet-stream' });

interface PendingSend {
  readonly key: string;
  readonly bytes: Buffer;
  resolve(): void;
  reject(e: unknown): void;
}

class AmqpTransport implements Transport {
  readonly name = 'amqp';
  readonly maxFrameSize: number;
  /** #enqueue: Buffer.from(bytes). */
  readonly copiesFrames = true;
  readonly #url: string;
  readonly #exchange: string;
  readonly #durable: boolean;
  readonly #prefetch: number;
  readonly #maxQueue: number;
  readonly #prefix: string;
  readonly #queuePrefix: string;
  readonly #initialDelay: number;
  readonly #maxDelay: number;
  readonly #maxAttempts: number;
  readonly #connect: (url: string, socketOptions: AmqpSocketOptions) => Promise<ChannelModel>;
  readonly #socketOptions: AmqpSocketOptions;
  /** The application's connection (option `connection`): never closed here, never reconnected. */
  readonly #shared: ChannelModel | undefined;
  #sharedClosed = false;
  readonly #onSharedClose = (): void => {
    this.#sharedClosed = true;
    if (this.#shared !== undefined) this.#lost(this.#shared);
  };

  #self: string | undefined;
  #onFrame: FrameHandler | undefined;
  #model: ChannelModel | undefined;
  #ch: ConfirmChannel | undefined;
  readonly #status = new StatusEmitter();
  #queue: PendingSend[] = [];
  #retry: PendingSend[] = [];
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #chain: Promise<void> = Promise.resolve();
  readonly #ackBatch: number;
  /** Newest delivery whose handler settled and that is not acked yet, on channel `#ackCh`; `#acksOwed` of them. */
  #ackLatest: ConsumeMessage | undefined;
  #ackCh: ConfirmChannel | undefined;
  #acksOwed = 0;
  #ackTimer: NodeJS.Immediate | undefined;
  readonly #guard: InboundGuard;
  /** [SPEC 13.9] Group addresses this endpoint's queue is bound to, with their handlers. */
  readonly #groups = new Map<string, GroupFrameHandler>();
  /** [SPEC 8.5] publisher → handler of all its group addresses (a bridge). */
  readonly #groupsOf = new Map<string, (address: string, bytes: Uint8Array) => void | Promise<void>>();

  constructor(o: AmqpTransportOptions) {
    this.#url = o.url ?? 'amqp://guest:guest@127.0.0.1:5672';
    this.#exchange = o.exchange ?? 'hopsafe';
    if (this.#exchange === '')
      throw new HopsafeError('ERR_CONFIG', 'exchange must not be empty (the default exchange is not a topic exchange)');
    this.#durable = o.durable ?? true;
    this.#prefetch = intOption(o.prefetch ?? 64, 'prefetch');
    this.#ackBatch = Math.max(1, Math.floor(this.#prefetch / 2));
    this.#maxQueue = intOption(o.maxQueue ?? 1000, 'maxQueue');
    this.maxFrameSize = intOption(o.maxFrameSize ?? AMQP_DEFAULT_MAX_FRAME_SIZE, 'maxFrameSize');
    if (this.maxFrameSize > AMQP_MAX_FRAME_SIZE_LIMIT)
      throw new HopsafeError('ERR_CONFIG', `maxFrameSize must be at most ${AMQP_MAX_FRAME_SIZE_LIMIT}`);
    this.#prefix = o.routingKeyPrefix ?? '';
    prefixWords(this.#prefix);
    this.#queuePrefix = o.queuePrefix ?? this.#exchange;
    if (this.#queuePrefix.startsWith('amq.'))
      throw new HopsafeError('ERR_CONFIG', `queue names starting with 'amq.' are reserved by the broker; set queuePrefix`);
    this.#initialDelay = intOption(o.reconnect?.initialDelayMs ?? 100, 'reconnect.initialDelayMs');
    this.#maxDelay = intOption(o.reconnect?.maxDelayMs ?? 5000, 'reconnect.maxDelayMs');
    this.#maxAttempts = o.reconnect?.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.#shared = o.connection;
    if (o.connection !== undefined) {
      if (typeof o.connection !== 'object' || o.connection === null || typeof o.connection.createConfirmChannel !== 'function')
        throw new HopsafeError('ERR_CONFIG', 'connection must be an amqplib ChannelModel (from amqplib.connect)');
      const clash = (['url', 'tls', 'username', 'password', 'connect'] as const).filter((k) => o[k] !== undefined);
      if (clash.length > 0)
        throw new HopsafeError('ERR_CONFIG', `${clash.join(', ')}: not with an existing connection (its own settings apply)`);
    }
    this.#socketOptions = socketOptions(this.#url, o);
    this.#connect = o.connect ?? ((url, opts) => amqplib.connect(url, opts));
    const log = o.logger?.child({ transport: 'amqp' });
    this.#guard = new InboundGuard(this.maxFrameSize, log);
    this.#status.on((s) => logStatus(log, s, this.#self));
  }

  /** [SPEC 8.9] Inbound frames dropped before onFrame. */
  inboundStats(): InboundStats {
    return this.#guard.stats();
  }

  /** Queue consumed by this endpoint (after `open`). */
  get queueName(): string | undefined {
    return this.#self === undefined ? undefined : `${this.#queuePrefix}.${this.#self}`;
  }

  async open(localId: string, onFrame: FrameHandler): Promise<void> {
    assertEndpointId(localId, 'localId');
    if (this.#closed) throw new HopsafeError('ERR_CLOSED', 'amqp transport is closed');
    if (this.#self !== undefined) throw new HopsafeError('ERR_STATE', 'amqp transport is already open');
    this.#self = localId;
    this.#onFrame = onFrame;
    this.#shared?.on('close', this.#onSharedClose);
    try {
      await this.#connectOnce();
    } catch (e) {
      this.#shared?.off('close', this.#onSharedClose);
      this.#self = undefined;
      this.#onFrame = undefined;
      throw new HopsafeError('ERR_TRANSPORT', `amqp: cannot connect/declare: ${(e as Error).message}`, { cause: e });
    }
  }

  async #connectOnce(): Promise<void> {
    const self = this.#self;
    if (self === undefined) throw new HopsafeError('ERR_STATE', 'not open');
    const shared = this.#shared;
    if (shared !== undefined && this.#sharedClosed) throw new HopsafeError('ERR_TRANSPORT', "amqp: the application's connection is closed");
    const model = shared ?? (await this.#connect(this.#url, this.#socketOptions));
    if (shared === undefined) {
      model.on('error', () => undefined); // 'close' follows and drives the reconnect
      model.on('close', () => this.#lost(model));
    }
    let ch: ConfirmChannel | undefined;
    // Releases what this attempt opened: our channel on the application's connection, else our whole connection.
    const release = async (): Promise<void> => {
      if (shared === undefined) await model.close().catch(() => undefined);
      else await ch?.close().catch(() => undefined);
    };
    try {
      const c = await model.createConfirmChannel();
      ch = c;
      c.on('error', () => undefined);
      c.on('close', () => {
        if (this.#ch !== c) return;
        // A channel-level error (e.g. our queue was deleted): on our own connection drop it and start over; on the
        // application's connection open a new channel.
        if (shared === undefined) model.close().catch(() => undefined);
        else this.#lost(model);
      });
      await c.prefetch(this.#prefetch);
      if (this.#exchange.startsWith('amq.')) await c.checkExchange(this.#exchange);
      else await c.assertExchange(this.#exchange, 'topic', { durable: this.#durable });
      const queue = `${this.#queuePrefix}.${self}`;
      await c.assertQueue(queue, { durable: this.#durable });
      await c.bindQueue(queue, this.#exchange, bindingKey(this.#prefix, self)); // [SPEC 8.3]
      for (const a of this.#groups.keys()) await c.bindQueue(queue, this.#exchange, groupRoutingKey(this.#prefix, a)); // [SPEC 13.9]
      for (const p of this.#groupsOf.keys()) await c.bindQueue(queue, this.#exchange, publisherGroupsKey(this.#prefix, p));
      await c.consume(queue, (msg) => this.#deliver(model, c, self, msg), { noAck: false });
    } catch (e) {
      await release();
      throw e;
    }
    if (this.#closed) {
      await release();
      return;
    }
    this.#model = model;
    this.#ch = ch;
    this.#attempt = 0;
    this.#status.set('connected');
    this.#flush();
  }

  #lost(model: ChannelModel): void {
    if (this.#model !== model) return;
    this.#model = undefined;
    this.#ch = undefined;
    if (this.#closed) return;
    this.#status.set('reconnecting');
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#sharedClosed) {
      this.#status.set('disconnected');
      this.#failQueued(new HopsafeError('ERR_TRANSPORT', "amqp: the application's connection closed"));
      return;
    }
    if (this.#attempt >= this.#maxAttempts) {
      this.#status.set('disconnected');
      this.#failQueued(new HopsafeError('ERR_TRANSPORT', 'amqp: gave up reconnecting'));
      return;
    }
    const base = Math.min(this.#maxDelay, this.#initialDelay * 2 ** this.#attempt);
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    this.#attempt++;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connectOnce().catch(() => this.#schedule());
    }, delay);
  }

  #deliver(model: ChannelModel, ch: ConfirmChannel, self: string, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // Consumer cancelled by the broker (queue deleted): reconnect (a new channel on the application's connection),
      // which re-declares it.
      if (model === this.#shared) ch.close().catch(() => undefined);
      else model.close().catch(() => undefined);
      return;
    }
    const from = senderFromKey(this.#prefix, self, msg.fields.routingKey); // [SPEC 8.3] from = last word
    // [SPEC 13.9] Or a group frame, handed to that address's handler (acked alike).
    const address = from === undefined ? groupAddressFromKey(this.#prefix, msg.fields.routingKey) : undefined;
    const group = address === undefined ? undefined : (this.#groups.get(address) ?? this.#ofPublisher(address));
    // [SPEC 8.9] Larger than maxFrameSize: not copied, never handed to onFrame; acked in its turn below like a refused
    // frame (so the broker does not deliver it again). amqplib has already assembled the message body.
    const oversize = (from !== undefined || group !== undefined) && this.#guard.oversize(msg.content.byteLength, from);
    const bytes = (from === undefined && group === undefined) || oversize ? undefined : new Uint8Array(msg.content);
    if (oversize) msg.content = EMPTY; // the ack needs only the delivery tag: let the body go now
    const onFrame = this.#onFrame;
    this.#chain = this.#chain.then(async () => {
      try {
        if (group !== undefined && bytes !== undefined && !this.#closed) await group(bytes);
        else if (from !== undefined && bytes !== undefined && onFrame !== undefined && !this.#closed) await onFrame({ from, bytes });
      } catch {
        // [SPEC 8.3] A rejected frame is acked like an accepted one: redelivery would not make it valid.
      } finally {
        // [SPEC 8.3] Ack only once the handler settled. If the channel is gone the broker redelivers it.
        this.#settled(ch, msg);
      }
    });
  }

  /** [SPEC 8.3] `msg` (and every delivery before it on `ch`) is settled: ack it now or batched in a moment. */
  #settled(ch: ConfirmChannel, msg: ConsumeMessage): void {
    if (this.#ch !== ch) return;
    if (this.#ackCh !== ch) this.#acksOwed = 0;
    this.#ackLatest = msg;
    this.#ackCh = ch;
    this.#acksOwed++;
    if (this.#acksOwed >= this.#ackBatch) this.#flushAcks();
    else this.#ackTimer ??= setImmediate(() => this.#flushAcks());
  }

  #flushAcks(): void {
    if (this.#ackTimer !== undefined) clearImmediate(this.#ackTimer);
    this.#ackTimer = undefined;
    const msg = this.#ackLatest;
    const ch = this.#ackCh;
    this.#ackLatest = undefined;
    this.#ackCh = undefined;
    this.#acksOwed = 0;
    if (msg === undefined || ch === undefined || this.#ch !== ch) return;
    try {
      ch.ack(msg, true); // multiple: every delivery up to this one, all settled (one consumer, in order)
    } catch {
      /* channel closing: the broker requeues the messages */
    }
  }

  send(peerId: string, bytes: Uint8Array): Promise<void> {
    let self: string;
    try {
      self = assertSendable({ name: 'amqp', closed: this.#closed, localId: this.#self, maxFrameSize: this.maxFrameSize }, peerId, bytes);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue(routingKey(this.#prefix, peerId, self), bytes);
  }

  /** [SPEC 13.9] Binds this endpoint's queue to the group address (kept across reconnects). */
  async subscribeGroup(address: string, onFrame: GroupFrameHandler): Promise<void> {
    if (this.#closed) throw new HopsafeError('ERR_CLOSED', 'amqp transport is closed');
    const self = this.#self;
    if (self === undefined) throw new HopsafeError('ERR_STATE', 'amqp transport: call open() first');
    const key = groupRoutingKey(this.#prefix, address);
    this.#groups.set(address, onFrame);
    await this.#ch?.bindQueue(`${this.#queuePrefix}.${self}`, this.#exchange, key);
  }

  /** [SPEC 8.5, 13.9] Binds this queue to every group address of `publisher` (`[prefix.]~g.{w(publisher)}.*`). */
  async subscribeGroupsOf(publisher: string, onFrame: (address: string, bytes: Uint8Array) => void | Promise<void>): Promise<void> {
    if (this.#closed) throw new HopsafeError('ERR_CLOSED', 'amqp transport is closed');
    const self = this.#self;
    if (self === undefined) throw new HopsafeError('ERR_STATE', 'amqp transport: call open() first');
    const key = publisherGroupsKey(this.#prefix, publisher);
    this.#groupsOf.set(publisher, onFrame);
    await this.#ch?.bindQueue(`${this.#queuePrefix}.${self}`, this.#exchange, key);
  }

  #ofPublisher(address: string): GroupFrameHandler | undefined {
    const h = this.#groupsOf.get(address.slice(0, address.lastIndexOf('/')));
    return h ? (b) => h(address, b) : undefined;
  }

  async unsubscribeGroup(address: string): Promise<void> {
    if (!this.#groups.delete(address) || this.#self === undefined) return;
    await this.#ch
      ?.unbindQueue(`${this.#queuePrefix}.${this.#self}`, this.#exchange, groupRoutingKey(this.#prefix, address))
      .catch(() => undefined);
  }

  /** [SPEC 13.9] One frame on the group address: `send`'s guards, queue and confirms. */
  publishGroup(address: string, bytes: Uint8Array): Promise<void> {
    try {
      assertGroupSendable({ name: 'amqp', closed: this.#closed, localId: this.#self, maxFrameSize: this.maxFrameSize }, address, bytes);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue(groupRoutingKey(this.#prefix, address), bytes);
  }

  #enqueue(key: string, bytes: Uint8Array): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const p: PendingSend = { key, bytes: Buffer.from(bytes), resolve, reject };
      const ch = this.#ch;
      if (ch !== undefined && this.#queue.length === 0 && this.#retry.length === 0) {
        this.#publish(ch, p);
      } else if (this.#queue.length >= this.#maxQueue) {
        try {
          assertQueueRoom('amqp', this.#queue.length, this.#maxQueue);
        } catch (e) {
          reject(e);
        }
      } else if (this.#status.current === 'disconnected' && this.#sharedClosed) {
        reject(new HopsafeError('ERR_TRANSPORT', "amqp: the application's connection closed"));
      } else if (this.#status.current === 'disconnected' && this.#attempt >= this.#maxAttempts) {
        reject(new HopsafeError('ERR_TRANSPORT', 'amqp: disconnected (gave up reconnecting)'));
      } else {
        this.#queue.push(p);
      }
    });
  }

  #publish(ch: ConfirmChannel, p: PendingSend): void {
    const onConfirm = (err: unknown): void => {
      if (err === null || err === undefined) p.resolve();
      else if (this.#closed) p.reject(new HopsafeError('ERR_CLOSED', 'amqp transport closed before the broker confirmed'));
      else if (err instanceof Error && err.message === 'message nacked')
        p.reject(new HopsafeError('ERR_TRANSPORT', 'amqp: broker nacked the frame'));
      else this.#retry.push(p); // channel lost before the confirm: publish again after reconnecting
    };
    try {
      ch.publish(this.#exchange, p.key, p.bytes, this.#durable ? PUBLISH_DURABLE : PUBLISH_TRANSIENT, onConfirm);
    } catch {
      // amqplib throws synchronously when the channel is already closed; the 'close' handler reconnects.
      this.#retry.push(p);
    }
  }

  #flush(): void {
    const items = [...this.#retry, ...this.#queue];
    this.#retry = [];
    this.#queue = [];
    for (const p of items) {
      const ch = this.#ch;
      if (ch === undefined) this.#retry.push(p);
      else this.#publish(ch, p);
    }
  }

  #failQueued(e: HopsafeError): void {
    const items = [...this.#retry, ...this.#queue];
    this.#retry = [];
    this.#queue = [];
    for (const p of items) p.reject(e);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flushAcks(); // frames already handled are acked, not redelivered to the next consumer
    this.#failQueued(new HopsafeError('ERR_CLOSED', 'amqp transport closed'));
    const model = this.#model;
    const ch = this.#ch;
    this.#model = undefined;
    this.#ch = undefined;
    if (ch !== undefined) {
      // Give frames already published a moment to be confirmed.
      await Promise.race([ch.waitForConfirms().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
    if (this.#shared !== undefined) {
      // The application's connection stays open: only our channel goes (unacked deliveries return to our queue).
      this.#shared.off('close', this.#onSharedClose);
      await ch?.close().catch(() => undefined);
    } else if (model !== undefined) await model.close().catch(() => undefined);
    this.#status.set('closed');
  }

  onStatus(listener: (status: TransportStatus) => void): void {
    this.#status.on(listener);
  }
}

const bytesOf = (v: string | Uint8Array): Buffer =>
  typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** Socket options for amqplib from `tls`, `username`, `password` (validated: TLS needs amqps://, a password needs a user). */
function socketOptions(url: string, o: AmqpTransportOptions): AmqpSocketOptions {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const tls = o.tls;
  if (tls !== undefined) {
    if (typeof tls !== 'object' || tls === null) throw new HopsafeError('ERR_CONFIG', 'tls must be an object');
    if (parsed?.protocol !== 'amqps:') throw new HopsafeError('ERR_CONFIG', 'tls options need an amqps:// url');
    if ((tls.cert === undefined) !== (tls.key === undefined)) throw new HopsafeError('ERR_CONFIG', 'tls.cert and tls.key go together');
  }
  if (o.username !== undefined && typeof o.username !== 'string') throw new HopsafeError('ERR_CONFIG', 'username must be a string');
  if (o.password !== undefined && typeof o.password !== 'string') throw new HopsafeError('ERR_CONFIG', 'password must be a string');
  let credentials: AmqpSocketOptions['credentials'];
  if (o.username !== undefined || o.password !== undefined) {
    const user = o.username ?? (parsed?.username ? decodeURIComponent(parsed.username) : undefined);
    if (user === undefined) throw new HopsafeError('ERR_CONFIG', 'password needs a username (option or in the url)');
    const pass = o.password ?? (parsed?.password ? decodeURIComponent(parsed.password) : '');
    credentials = amqplib.credentials.plain(user, pass);
  }
  const ca =
    tls?.ca === undefined ? undefined : (typeof tls.ca === 'string' || tls.ca instanceof Uint8Array ? [tls.ca] : [...tls.ca]).map(bytesOf);
  return {
    noDelay: true,
    ...(ca !== undefined ? { ca } : {}),
    ...(tls?.cert !== undefined ? { cert: bytesOf(tls.cert) } : {}),
    ...(tls?.key !== undefined ? { key: bytesOf(tls.key) } : {}),
    ...(tls?.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
    ...(tls?.servername !== undefined ? { servername: tls.servername } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
  };
}

/** Creates an AMQP transport (RabbitMQ). Nothing connects until `open`. [SPEC 8.3] */
export function amqpTransport(options: AmqpTransportOptions = {}): Transport & { readonly queueName: string | undefined } {
  return new AmqpTransport(options);
}
