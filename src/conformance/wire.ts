/**
 * The kit's side of the broker: the embedded broker (aedes) with a tap that takes every frame the IUT publishes
 * (nothing the IUT sends reaches anyone but the kit) and `inject` to deliver frames to the IUT as any sender.
 * Every frame either way is written to the transcript of the running case. [SPEC 8.2, Annex C.1]
 */
import { startBroker, type RunningBroker } from '../broker/index.js';
import { toHex } from '../bytes/index.js';
import { frameTypeName } from '../adversary/regions.js';
import { TOPIC_PREFIX } from './contract.js';
import { GROUP_LEVEL } from '../transport/transport.js';
import { frameByte, FrameType } from '../codec/frame.js';

/** Names of the group frame types (SPEC 13.3, 13.4), which the adversary's table of pairwise types leaves out. */
const GROUP_TYPE_NAMES: Record<number, string> = {
  [frameByte(FrameType.GROUP_DATA)]: 'GROUP_DATA',
  [frameByte(FrameType.GROUP_CTRL)]: 'GROUP_CTRL',
};

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

  private constructor(
    readonly broker: RunningBroker,
    readonly iut: string,
  ) {
    broker.tap((f) => {
      if (f.from !== this.iut) return undefined;
      this.published++;
      const bytes = f.bytes.slice();
      this.log('received', f.from, f.to, bytes);
      this.inboxes.get(f.to)?.(bytes);
      return null; // the kit is the only receiver
    });
  }

  static async start(iut: string, port: number): Promise<Wire> {
    return new Wire(await startBroker({ port }), iut);
  }

  get url(): string {
    return this.broker.url;
  }

  /** Frames the IUT sends to kit id `id` go to `handler`. */
  listen(id: string, handler: (bytes: Uint8Array) => void): () => void {
    this.inboxes.set(id, handler);
    return () => {
      if (this.inboxes.get(id) === handler) this.inboxes.delete(id);
    };
  }

  /**
   * Delivers `bytes` to the IUT as if `from` had published them, on `{prefix}/{iut}/{from}` (written out: `from` may
   * be an id the mapping refuses, e.g. one over the 64-character limit of SPEC 5.2).
   */
  async send(from: string, bytes: Uint8Array): Promise<void> {
    this.log('sent', from, this.iut, bytes);
    await this.broker.inject({ topic: `${TOPIC_PREFIX}/${this.iut}/${from}`, bytes });
  }

  /**
   * [SPEC 13.9] Publishes `bytes` on the group address `address` (`{publisher}/{groupId hex}`), i.e. the MQTT topic
   * `{prefix}/~g/{address}`, as the publisher would. Written out: the kit also publishes what a publisher must not.
   */
  async publishGroup(address: string, bytes: Uint8Array): Promise<void> {
    this.log('sent', address.split('/')[0] ?? address, `${GROUP_LEVEL}/${address}`, bytes);
    await this.broker.inject({ topic: `${TOPIC_PREFIX}/${GROUP_LEVEL}/${address}`, bytes });
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
    return this.broker.close();
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
