/**
 * Inbound bounds shared by the bindings. [SPEC 8.9]
 *
 * - `InboundGuard`: a frame larger than the transport's `maxFrameSize` is dropped before it is copied or decoded
 *   and never reaches onFrame; it is counted and logged (sender, size, bound — never bytes).
 * - `UnsettledBound`: at most `max` onFrame calls may be pending (not settled); past that the binding stops
 *   reading from its connection until one settles, so a flood of frames cannot queue without bound in memory.
 */
import type { Logger } from 'pino';
import type { InboundStats } from './transport.js';

export class InboundGuard {
  #oversize = 0;
  readonly #maxFrameSize: number;
  readonly #log: Logger | undefined;

  /** `log`: the binding's logger (bound to its transport name); none = count only. */
  constructor(maxFrameSize: number, log?: Logger) {
    this.#maxFrameSize = maxFrameSize;
    this.#log = log;
  }

  /**
   * [SPEC 8.9] True when an inbound frame of `size` bytes (for XMPP: the most its base64 text can decode to)
   * exceeds maxFrameSize and must be dropped; the drop is counted and logged without any payload.
   */
  oversize(size: number, from: string | undefined): boolean {
    if (size <= this.#maxFrameSize) return false;
    this.#oversize++;
    // (The logger is the binding's, already bound to { transport }.)
    this.#log?.warn(
      { from, size, maxFrameSize: this.#maxFrameSize, dropped: this.#oversize },
      'inbound frame larger than maxFrameSize dropped',
    );
    return true;
  }

  stats(): InboundStats {
    return { oversize: this.#oversize };
  }
}

/** [SPEC 8.9] Counts the onFrame calls not yet settled and tells the binding when to stop and resume reading. */
export class UnsettledBound {
  readonly max: number;
  #pending = 0;
  #resumes: Array<() => void> = [];

  constructor(max: number) {
    this.max = max;
  }

  /** onFrame calls (or queued frames) not yet settled. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Tracks one handed-over frame until `settled` settles (fulfilled or rejected alike). Returns true while fewer
   * than `max` are pending: the binding may go on reading. Returns false at the bound: the binding stops reading,
   * and `resume` is called once the pending count is below `max` again.
   */
  admit(settled: Promise<unknown>, resume: () => void): boolean {
    this.#pending++;
    const release = (): void => {
      this.#pending--;
      if (this.#resumes.length > 0 && this.#pending < this.max) {
        const resumes = this.#resumes;
        this.#resumes = [];
        for (const r of resumes) r();
      }
    };
    settled.then(release, release);
    if (this.#pending < this.max) return true;
    this.#resumes.push(resume);
    return false;
  }
}
