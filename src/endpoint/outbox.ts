/**
 * [SPEC 3.7, 8] Coalescing of one peer's record frames. The first record of an event-loop turn goes to the
 * transport at once (a lone message waits for nothing); records sealed later in the same turn wait until the
 * turn ends (setImmediate) and leave together as BATCH frames of at most `maxRecords` records and `maxBytes`
 * bytes. Order is kept: a frame is handed to the transport only after every frame pushed before it.
 */
import { batchEntryOverhead, encodeBatch } from '../codec/batch.js';

export interface CoalesceLimits {
  /** Records per BATCH frame; 1 turns coalescing off (every record is its own transport message). */
  readonly maxRecords: number;
  /** Largest BATCH frame in bytes (the endpoint caps it at the transport's maxFrameSize). */
  readonly maxBytes: number;
}

/** One batch being filled: every record in it settles with the transport send that carries it. */
interface Filling {
  readonly frames: Uint8Array[];
  bytes: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

export class Outbox {
  private filling: Filling | undefined;
  /** A frame went out in the current turn; later ones of the turn are coalesced. */
  private busy = false;
  private immediate: NodeJS.Immediate | undefined;

  constructor(
    private readonly limits: CoalesceLimits,
    private readonly send: (frame: Uint8Array) => Promise<void>,
    /** Called when a turn ended with nothing left to send (the owner may drop this outbox). */
    private readonly onIdle: () => void,
  ) {}

  /** Hands `frame` (a record frame) to the transport now or at the end of the turn; settles with that send. */
  push(frame: Uint8Array): Promise<void> {
    if (this.limits.maxRecords < 2) return this.send(frame);
    if (!this.busy) {
      this.busy = true;
      this.immediate = setImmediate(this.endOfTurn);
      return this.send(frame);
    }
    const entry = batchEntryOverhead(frame.length) + frame.length;
    let f = this.filling;
    if (f && (f.frames.length >= this.limits.maxRecords || f.bytes + entry > this.limits.maxBytes)) {
      this.flush();
      f = undefined;
    }
    if (1 + entry > this.limits.maxBytes) {
      // Too large to share a frame: goes alone, after what was pushed before it.
      this.flush();
      return this.send(frame);
    }
    f ??= this.filling = newFilling();
    f.frames.push(frame);
    f.bytes += entry;
    return f.done;
  }

  /** Hands what waits to the transport now (end of turn, a full batch, closing). */
  flush(): void {
    const f = this.filling;
    if (!f) return;
    this.filling = undefined;
    const [only] = f.frames;
    const out = f.frames.length === 1 && only ? only : encodeBatch(f.frames);
    this.send(out).then(f.resolve, f.reject);
  }

  /** Flushes and forgets the turn (the peer or the endpoint is going away). */
  close(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.busy = false;
    this.flush();
  }

  private readonly endOfTurn = (): void => {
    this.immediate = undefined;
    this.flush();
    this.busy = false;
    this.onIdle();
  };
}

function newFilling(): Filling {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every pusher gets `done` and handles it; this keeps a batch nobody awaits any more from being unhandled.
  done.catch(() => undefined);
  return { frames: [], bytes: 1, done, resolve, reject };
}
