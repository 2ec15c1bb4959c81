/**
 * [SPEC 3.7, 8] Coalescing of one peer's record frames, only while the transport lags. While fewer than
 * `minInFlight` transport sends to the peer are unsettled (the broker keeps up), a record goes to the transport
 * at once. Past that, records wait and leave together as BATCH frames of at most `maxRecords` records and
 * `maxBytes` bytes: when the synchronous code and promise continuations running now are done
 * (process.nextTick), when the batch is full, or as soon as a record joins it `maxDelayUs` after its first one.
 * Order is kept: a frame is handed to the transport only after every frame pushed before it.
 *
 * [SPEC 8.10] This module also owns the endpoint's frame pool on the way out: a large BATCH frame is built in pooled
 * memory, and `handOver` — the one place a record or BATCH frame leaves for the transport, with or without an outbox —
 * gives its memory (and that of the records copied into it) back as soon as `send` returned.
 */
import type { FramePool } from '../bytes/frame-pool.js';
import { batchEntryOverhead, encodeBatch } from '../codec/batch.js';

export interface CoalesceLimits {
  /** Records per BATCH frame; 1 turns coalescing off (the endpoint then sends without an outbox). */
  readonly maxRecords: number;
  /** Largest BATCH frame in bytes (the endpoint caps it at the transport's maxFrameSize). */
  readonly maxBytes: number;
  /** A batch leaves as soon as a record is added to it this long (µs) after its first one. */
  readonly maxDelayUs: number;
  /** Unsettled transport sends to the peer from which on records are coalesced. */
  readonly minInFlight: number;
}

/** What frames are handed to: a transport (any Transport is one). */
export interface FrameSink {
  send(peer: string, frame: Uint8Array): Promise<void>;
}

/**
 * [SPEC 8.10] Hands `frame` to `sink` for `peer`, then gives its memory — and that of `copied`, the records of a BATCH
 * `frame` — back to `pool`: the frame pool exists only when the transport copies frames inside `send`
 * (Transport.copiesFrames), and `release` ignores memory the pool did not lend. The frame pool's one release point.
 */
export function handOver(
  sink: FrameSink,
  peer: string,
  frame: Uint8Array,
  pool: FramePool | undefined,
  copied?: readonly Uint8Array[],
): Promise<void> {
  const sent = sink.send(peer, frame);
  if (pool) {
    pool.release(frame);
    if (copied) for (const r of copied) pool.release(r);
  }
  return sent;
}

/** One batch being filled: every record in it settles with the transport send that carries it. */
interface Filling {
  /** performance.now() when its first record was added. */
  readonly since: number;
  readonly frames: Uint8Array[];
  bytes: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

export class Outbox {
  private filling: Filling | undefined;
  /** Transport sends handed over and not settled yet. */
  private inFlight = 0;
  /** A flush at the end of the current run is queued (process.nextTick). */
  private scheduled = false;
  private readonly maxDelayMs: number;

  constructor(
    private readonly limits: CoalesceLimits,
    /** Where the frames go, and to which peer. */
    private readonly sink: FrameSink,
    private readonly peer: string,
    /** Called when nothing waits and nothing is in flight (the owner may drop this outbox). */
    private readonly onIdle: (box: Outbox) => void,
    /** Called for every BATCH frame handed to the transport, with its record count. */
    private readonly onBatch: (records: number) => void,
    /** [SPEC 8.10] The endpoint's frame pool (there is one only over a transport that copies frames in `send`). */
    private readonly pool: FramePool | undefined = undefined,
    /**
     * Builds the transport message of 2+ frames: a BATCH frame, a large one in `pool`'s memory (the benchmarks' plain
     * lane batches its own way).
     */
    private readonly encode: (frames: readonly Uint8Array[], pool?: FramePool) => Uint8Array = encodeBatch,
  ) {
    this.maxDelayMs = limits.maxDelayUs / 1000;
  }

  /** Records waiting for the next BATCH. */
  get waiting(): number {
    return this.filling?.frames.length ?? 0;
  }

  /** Transport sends handed over and not settled yet. */
  get sending(): number {
    return this.inFlight;
  }

  /** Hands `frame` (a record frame) to the transport now or with the next batch; settles with that send. */
  push(frame: Uint8Array): Promise<void> {
    // [SPEC 3.7] The transport keeps up: nothing to gain from waiting.
    if (!this.filling && this.inFlight < this.limits.minInFlight) return this.transmit(frame);
    const entry = batchEntryOverhead(frame.length) + frame.length;
    let f = this.filling;
    if (f && f.bytes + entry > this.limits.maxBytes) {
      this.flush(); // it does not fit: the batch so far leaves first
      f = undefined;
    }
    // Too large to share a frame: goes alone, after what was pushed before it.
    if (1 + entry > this.limits.maxBytes) return this.transmit(frame);
    const now = performance.now();
    f ??= this.filling = newFilling(now);
    f.frames.push(frame);
    f.bytes += entry;
    // Full, or a long burst (much sealing in one run) that should not hold its first records for all of it.
    if (f.frames.length >= this.limits.maxRecords || now - f.since >= this.maxDelayMs) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.endOfRun);
    }
    return f.done;
  }

  /** Hands what waits to the transport now (end of the run, a full or overdue batch, closing). */
  flush(): void {
    const f = this.filling;
    if (!f) return;
    this.filling = undefined;
    const [only] = f.frames;
    if (f.frames.length === 1 && only) {
      this.transmit(only).then(f.resolve, f.reject);
      return;
    }
    const batch = this.encode(f.frames, this.pool);
    this.onBatch(f.frames.length);
    this.transmit(batch, f.frames).then(f.resolve, f.reject);
  }

  /** `copied`: the records `frame` (a BATCH frame) carries. */
  private transmit(frame: Uint8Array, copied?: readonly Uint8Array[]): Promise<void> {
    this.inFlight++;
    let p: Promise<void>;
    try {
      p = handOver(this.sink, this.peer, frame, this.pool, copied);
    } catch (e) {
      // A transport that throws instead of rejecting must not throw out of a process.nextTick flush.
      p = Promise.reject(e);
    }
    p.then(this.settled, this.settled);
    return p;
  }

  private readonly settled = (): void => {
    this.inFlight--;
    if (this.inFlight === 0 && !this.filling && !this.scheduled) this.onIdle(this);
  };

  private readonly endOfRun = (): void => {
    this.scheduled = false;
    this.flush();
    if (this.inFlight === 0 && !this.filling) this.onIdle(this);
  };
}

function newFilling(since: number): Filling {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every pusher gets `done` and handles it; this keeps a batch nobody awaits any more from being unhandled.
  done.catch(() => undefined);
  return { since, frames: [], bytes: 1, done, resolve, reject };
}
