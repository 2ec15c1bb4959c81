/**
 * The kit's side of the broker: every frame the IUT publishes goes to the kit alone, and the kit delivers frames to
 * the IUT as any sender. On the embedded broker (aedes, the default) a tap takes the IUT's frames so that nothing it
 * sends reaches anyone but the kit; on an external AMQP or NATS server (`--broker`, wire-brokers.ts) the kit is the
 * only subscriber of what the IUT sends to kit ids and publishes raw frames to the IUT's inbox.
 * Every frame either way is written to the transcript of the running case. [SPEC 8.2, 8.3, 8.11, Annex C.1]
 */
import { startBroker } from '../broker/index.js';
import { toHex } from '../bytes/index.js';
import { frameTypeName } from '../adversary/regions.js';
import { TOPIC_PREFIX } from './contract.js';
import { GROUP_LEVEL } from '../transport/transport.js';
import { frameByte, FrameType } from '../codec/frame.js';
import { HopsafeError } from '../errors/index.js';
import { connectAmqpBackend, connectNatsBackend } from './wire-brokers.js';

/** Names of the group frame types (SPEC 13.3, 13.4), which the adversary's table of pairwise types leaves out. */
const GROUP_TYPE_NAMES: Record<number, string> = {
  [frameByte(FrameType.GROUP_DATA)]: 'GROUP_DATA',
  [frameByte(FrameType.GROUP_CTRL)]: 'GROUP_CTRL',
};

/** Frames the IUT published to `to` (a kit id). */
export type IutFrameSink = (to: string, bytes: Uint8Array) => void;

/** One broker the kit runs or connects to. */
export interface WireBackend {
  /** The URL the IUT connects to (kit.json `broker`). */
  readonly url: string;
  /** The topic prefix / AMQP exchange / NATS subject prefix the IUT uses (kit.json `prefix`). */
  readonly prefix: string;
  /** [SPEC 8.9, Annex C.2] The IUT's default `maxFrameSize` on this mapping: larger frames it drops unread. */
  readonly frameLimit: number;
  /** The largest frame the server itself carries (NATS: its `max_payload`); Infinity when no smaller than the rest. */
  readonly maxPublish: number;
  /** Delivers `bytes` to the IUT as if `from` had sent them (written out: `from` may be an id the mapping refuses). */
  inject(from: string, bytes: Uint8Array): Promise<void>;
  /**
   * [SPEC 13.9] Publishes `bytes` on the group address `address` (`{publisher}/{groupId hex}`); absent where the kit
   * has no group mapping for this broker (case group 14 is then informational).
   */
  readonly injectGroup?: (address: string, bytes: Uint8Array) => Promise<void>;
  close(): Promise<void>;
}

/** The schemes of `--broker` (an external server; the default is the embedded MQTT broker). */
export const EXTERNAL_BROKER_SCHEMES: readonly string[] = ['amqp', 'amqps', 'nats'];

export interface WireEvent {
  /** Milliseconds since the case started. */
  readonly atMs: number;
  readonly dir: 'sent' | 'received';
  readonly from: string;
  readonly to: string;
  readonly type: string;
  readonly length: number;
  /** The frame in hex (at most the first 512 bytes; `length` says how long it was). */
  readonly hex: string;
}

const MAX_HEX_BYTES = 512;

export class Wire {
  private readonly inboxes = new Map<string, (bytes: Uint8Array) => void>();
  private transcript: WireEvent[] = [];
  private t0 = Date.now();
  /** Frames the IUT published, in all (also before any case ran). */
  published = 0;

  private backend!: WireBackend;

  private constructor(readonly iut: string) {}

  /** The frame sink the backend calls for every frame the IUT published (bytes already copied). */
  private readonly sink: IutFrameSink = (to, bytes) => {
    this.published++;
    this.log('received', this.iut, to, bytes);
    this.inboxes.get(to)?.(bytes);
  };

  /** The embedded MQTT broker on 127.0.0.1:`port` (0: a free one), topic prefix `hopsafe` (§8.2). */
  static async start(iut: string, port: number): Promise<Wire> {
    const w = new Wire(iut);
    const { DEFAULT_MQTT_MAX_FRAME_SIZE } = await import('../bindings/mqtt.js');
    const broker = await startBroker({ port });
    broker.tap((f) => {
      if (f.from !== iut) return undefined;
      w.sink(f.to, f.bytes.slice());
      return null; // the kit is the only receiver
    });
    w.backend = {
      url: broker.url,
      prefix: TOPIC_PREFIX,
      frameLimit: DEFAULT_MQTT_MAX_FRAME_SIZE,
      maxPublish: Number.POSITIVE_INFINITY,
      // written out: `from` may be an id the mapping refuses, e.g. one over the 64-character limit of SPEC 5.2
      inject: (from, bytes) => broker.inject({ topic: `${TOPIC_PREFIX}/${iut}/${from}`, bytes }),
      injectGroup: (address, bytes) => broker.inject({ topic: `${TOPIC_PREFIX}/${GROUP_LEVEL}/${address}`, bytes }),
      close: () => broker.close(),
    };
    return w;
  }

  /** An external AMQP 0-9-1 (§8.3: exchange `prefix`) or core NATS (§8.11: subject prefix `prefix`) server at `url`. */
  static async connect(iut: string, url: string, prefix: string): Promise<Wire> {
    const w = new Wire(iut);
    const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
    w.backend = scheme.startsWith('amqp')
      ? await connectAmqpBackend(url, prefix, iut, w.sink)
      : await connectNatsBackend(url, prefix, iut, w.sink);
    return w;
  }

  get url(): string {
    return this.backend.url;
  }

  get prefix(): string {
    return this.backend.prefix;
  }

  /** See WireBackend.frameLimit: 256 KiB on MQTT (§8.2), 16 MiB on AMQP (§8.3), 1 MiB on NATS (§8.11). */
  get frameLimit(): number {
    return this.backend.frameLimit;
  }

  get maxPublish(): number {
    return this.backend.maxPublish;
  }

  /** Frames the IUT sends to kit id `id` go to `handler`. */
  listen(id: string, handler: (bytes: Uint8Array) => void): () => void {
    this.inboxes.set(id, handler);
    return () => {
      if (this.inboxes.get(id) === handler) this.inboxes.delete(id);
    };
  }

  /**
   * Delivers `bytes` to the IUT as if `from` had published them, on `{prefix}/{iut}/{from}` (or the AMQP routing key /
   * NATS subject of §8.3 / §8.11), written out: `from` may be an id the mapping refuses, e.g. one over the
   * 64-character limit of SPEC 5.2.
   */
  async send(from: string, bytes: Uint8Array): Promise<void> {
    this.log('sent', from, this.iut, bytes);
    await this.backend.inject(from, bytes);
  }

  /**
   * [SPEC 13.9] Publishes `bytes` on the group address `address` (`{publisher}/{groupId hex}`), i.e. the MQTT topic
   * `{prefix}/~g/{address}`, as the publisher would. Written out: the kit also publishes what a publisher must not.
   */
  async publishGroup(address: string, bytes: Uint8Array): Promise<void> {
    const inject = this.backend.injectGroup;
    if (!inject) throw new HopsafeError('ERR_UNSUPPORTED', 'the kit publishes group frames on its embedded MQTT broker only');
    this.log('sent', address.split('/')[0] ?? address, `${GROUP_LEVEL}/${address}`, bytes);
    await inject(address, bytes);
  }

  /** Whether case group 14 can run on this broker (see WireBackend.injectGroup). */
  get supportsGroups(): boolean {
    return this.backend.injectGroup !== undefined;
  }

  /** Starts a new transcript (one per case); returns the previous one. */
  begin(): WireEvent[] {
    const t = this.transcript;
    this.transcript = [];
    this.t0 = Date.now();
    return t;
  }

  end(): WireEvent[] {
    return this.begin();
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  private log(dir: WireEvent['dir'], from: string, to: string, bytes: Uint8Array): void {
    this.transcript.push({
      atMs: Date.now() - this.t0,
      dir,
      from,
      to,
      type:
        frameTypeName(bytes) ??
        GROUP_TYPE_NAMES[bytes[0] ?? -1] ??
        (bytes.length === 0 ? 'EMPTY' : `0x${(bytes[0] as number).toString(16).padStart(2, '0')}`),
      length: bytes.length,
      hex: toHex(bytes.subarray(0, MAX_HEX_BYTES)),
    });
  }
}
