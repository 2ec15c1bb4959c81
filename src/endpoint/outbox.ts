/**
 * [SPEC 3.7, 8] Coalescing of one peer's record frames, only while the transport lags. While fewer than
 * `minInFlight` transport sends to the peer are unsettled (the broker keeps up), a record goes to the transport
 * at once. Past that, records wait and leave together as BATCH frames of at most `maxRecords` records and
 * `maxBytes` bytes: when the synchronous code and promise continuations running now are done
 * (process.nextTick), when the batch is full, or as soon as a record joins it `maxDelayUs` after its first one.
 * Order is kept: a frame is handed to the transport only after every frame pushed before it.
 */
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
    private readonly send: (frame: Uint8Array) => Promise<void>,
    /** Called when nothing waits and nothing is in flight (the owner may drop this outbox). */
    private readonly onIdle: (box: Outbox) => void,
    /** Called for every BATCH frame handed to the transport, with its record count. */
    private readonly onBatch: (records: number) => void,
    /** Builds the transport message of 2+ frames: a BATCH frame (the benchmarks' plain lane batches its own way). */
    private readonly encode: (frames: readonly Uint8Array[]) => Uint8Array = encodeBatch,
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
    let out: Uint8Array;
    if (f.frames.length === 1 && only) out = only;
    else {
      out = this.encode(f.frames);
      this.onBatch(f.frames.length);
    }
    this.transmit(out).then(f.resolve, f.reject);
  }

  private transmit(frame: Uint8Array): Promise<void> {
    this.inFlight++;
    let p: Promise<void>;
    try {
      p = this.send(frame);
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
