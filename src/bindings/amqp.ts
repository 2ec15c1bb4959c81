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
 */
import amqplib from 'amqplib';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { HopsafeError } from '../errors/index.js';
import { InboundGuard } from './inbound.js';
import { assertEndpointId } from './endpoint-id.js';
import type { FrameHandler, InboundStats, Transport, TransportStatus } from './transport.js';
import { logStatus, StatusEmitter } from './status.js';
import { intOption } from './options.js';
import { bindingKey, prefixWords, routingKey, senderFromKey } from './amqp-routing.js';

/** Default largest frame: 16 MiB, well under RabbitMQ's default `max_message_size` of 128 MiB. [SPEC 8.3] */
export const AMQP_DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
/** RabbitMQ's hard upper bound for `max_message_size` (512 MiB); larger `maxFrameSize` values are refused. */
export const AMQP_MAX_FRAME_SIZE_LIMIT = 512 * 1024 * 1024;

export interface AmqpReconnectOptions {
  /** First retry delay (ms). Default 100. */
  initialDelayMs?: number;
  /** Upper bound of the exponential backoff (ms). Default 5000. */
  maxDelayMs?: number;
  /** Give up after this many consecutive failed attempts (status `disconnected`). Default: never. */
  maxAttempts?: number;
}

export interface AmqpTransportOptions {
  /** Broker URL. Default `amqp://guest:guest@127.0.0.1:5672`. */
  url?: string;
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
  reconnect?: AmqpReconnectOptions;
  /** Opens the connection (default amqplib.connect). Hook for instrumentation and fault-injection tests. */
  connect?: (url: string) => Promise<ChannelModel>;
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
  readonly #connect: (url: string) => Promise<ChannelModel>;

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

  constructor(o: AmqpTransportOptions) {
    this.#url = o.url ?? 'amqp://guest:guest@127.0.0.1:5672';
    this.#exchange = o.exchange ?? 'hopsafe';
    if (this.#exchange === '') throw new HopsafeError('ERR_CONFIG', 'exchange must not be empty (the default exchange is not a topic exchange)');
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
    this.#connect = o.connect ?? ((url) => amqplib.connect(url, { noDelay: true }));
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
    try {
      await this.#connectOnce();
    } catch (e) {
      this.#self = undefined;
      this.#onFrame = undefined;
      throw new HopsafeError('ERR_TRANSPORT', `amqp: cannot connect/declare: ${(e as Error).message}`, { cause: e });
    }
  }

  async #connectOnce(): Promise<void> {
    const self = this.#self;
    if (self === undefined) throw new HopsafeError('ERR_STATE', 'not open');
    const model = await this.#connect(this.#url);
    model.on('error', () => undefined); // 'close' follows and drives the reconnect
    model.on('close', () => this.#lost(model));
    let ch: ConfirmChannel;
    try {
      ch = await model.createConfirmChannel();
      ch.on('error', () => undefined);
      ch.on('close', () => {
        // A channel-level error (e.g. our queue was deleted): drop the whole connection and start over.
        if (this.#model === model) model.close().catch(() => undefined);
      });
      await ch.prefetch(this.#prefetch);
      if (this.#exchange.startsWith('amq.')) await ch.checkExchange(this.#exchange);
      else await ch.assertExchange(this.#exchange, 'topic', { durable: this.#durable });
      const queue = `${this.#queuePrefix}.${self}`;
      await ch.assertQueue(queue, { durable: this.#durable });
      await ch.bindQueue(queue, this.#exchange, bindingKey(this.#prefix, self)); // [SPEC 8.3]
      await ch.consume(queue, (msg) => this.#deliver(model, ch, self, msg), { noAck: false });
    } catch (e) {
      await model.close().catch(() => undefined);
      throw e;
    }
    if (this.#closed) {
      await model.close().catch(() => undefined);
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
      // Consumer cancelled by the broker (queue deleted): reconnect, which re-declares it.
      model.close().catch(() => undefined);
      return;
    }
    const from = senderFromKey(this.#prefix, self, msg.fields.routingKey); // [SPEC 8.3] from = last word
    // [SPEC 8.9] Larger than maxFrameSize: not copied, never handed to onFrame; acked in its turn below like a refused
    // frame (so the broker does not deliver it again). amqplib has already assembled the message body.
    const oversize = from !== undefined && this.#guard.oversize(msg.content.byteLength, from);
    const bytes = from === undefined || oversize ? undefined : new Uint8Array(msg.content);
    if (oversize) msg.content = EMPTY; // the ack needs only the delivery tag: let the body go now
    const onFrame = this.#onFrame;
    this.#chain = this.#chain.then(async () => {
      try {
        if (from !== undefined && bytes !== undefined && onFrame !== undefined && !this.#closed) await onFrame({ from, bytes });
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
    try {
      assertEndpointId(peerId, 'peerId');
      if (!(bytes instanceof Uint8Array)) throw new HopsafeError('ERR_INPUT', 'bytes must be a Uint8Array');
      if (bytes.length > this.maxFrameSize)
        throw new HopsafeError('ERR_PAYLOAD_TOO_LARGE', `amqp: frame of ${bytes.length} bytes exceeds maxFrameSize ${this.maxFrameSize}`);
      if (this.#closed) throw new HopsafeError('ERR_CLOSED', 'amqp transport is closed');
      if (this.#self === undefined) throw new HopsafeError('ERR_STATE', 'amqp transport: call open() before send()');
    } catch (e) {
      return Promise.reject(e);
    }
    const key = routingKey(this.#prefix, peerId, this.#self);
    return new Promise<void>((resolve, reject) => {
      const p: PendingSend = { key, bytes: Buffer.from(bytes), resolve, reject };
      const ch = this.#ch;
      if (ch !== undefined && this.#queue.length === 0 && this.#retry.length === 0) {
        this.#publish(ch, p);
      } else if (this.#queue.length >= this.#maxQueue) {
        reject(new HopsafeError('ERR_QUEUE_FULL', `amqp: ${this.#maxQueue} frames already queued while disconnected`));
      } else if (this.#status.current === 'disconnected' && this.#attempt >= this.#maxAttempts) {
        reject(new HopsafeError('ERR_TRANSPORT', 'amqp: disconnected (gave up reconnecting)'));
      } else {
        this.#queue.push(p);
      }
    });
  }

  #publish(ch: ConfirmChannel, p: PendingSend): void {
    const onConfirm = (err: unknown): void => {
      if (err === null || err === undefined) return p.resolve();
      if (this.#closed) return p.reject(new HopsafeError('ERR_CLOSED', 'amqp transport closed before the broker confirmed'));
      if (err instanceof Error && err.message === 'message nacked')
        return p.reject(new HopsafeError('ERR_TRANSPORT', 'amqp: broker nacked the frame'));
      this.#retry.push(p); // channel lost before the confirm: publish again after reconnecting
    };
    try {
      ch.publish(
        this.#exchange,
        p.key,
        p.bytes,
        this.#durable ? PUBLISH_DURABLE : PUBLISH_TRANSIENT,
        onConfirm,
      );
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
    if (model !== undefined) await model.close().catch(() => undefined);
    this.#status.set('closed');
  }

  onStatus(listener: (status: TransportStatus) => void): void {
    this.#status.on(listener);
  }

}

/** Creates an AMQP transport (RabbitMQ). Nothing connects until `open`. [SPEC 8.3] */
export function amqpTransport(options: AmqpTransportOptions = {}): Transport & { readonly queueName: string | undefined } {
  return new AmqpTransport(options);
}
