/**
 * Anti-replay sliding window (RFC 4303 §3.4.3 style), one per direction and epoch. [SPEC 7.4]
 * `check` is called before the MAC/AEAD verification, `commit` only after it succeeded, so
 * forged frames can never move the window.
 */
export const REPLAY_WINDOW = 64;

export class ReplayWindow {
  /** Highest sequence number accepted so far (-1: none). */
  private top = -1;
  private readonly seen = new Uint8Array(REPLAY_WINDOW);

  /** True when `seq` may still be accepted (not seen, not older than the window). */
  check(seq: number): boolean {
    if (seq > this.top) return true;
    if (this.top - seq >= REPLAY_WINDOW) return false;
    return this.seen[seq % REPLAY_WINDOW] === 0;
  }

  commit(seq: number): void {
    if (seq > this.top) {
      const gap = seq - this.top;
      if (gap >= REPLAY_WINDOW) this.seen.fill(0);
      else for (let s = this.top + 1; s < seq; s++) this.seen[s % REPLAY_WINDOW] = 0;
      this.top = seq;
    }
    this.seen[seq % REPLAY_WINDOW] = 1;
  }

  get highest(): number {
    return this.top;
  }
}
