/**
 * Anti-replay sliding window (RFC 4303 §3.4.3 style), one per direction and epoch. [SPEC 7.4]
 * `check` is called before the MAC/AEAD verification, `commit` only after it succeeded, so
 * forged frames can never move the window.
 */
export const REPLAY_WINDOW = 64;

export class ReplayWindow {
  /** Highest sequence number accepted so far (-1: none). */
  private top = -1;
  /** 64-bit bitmap of accepted sequence numbers, indexed by seq mod 64 (two words: no buffer per window). */
  private lo = 0;
  private hi = 0;

  private bit(seq: number): boolean {
    const i = seq % REPLAY_WINDOW;
    return ((i < 32 ? this.lo : this.hi) & (1 << (i & 31))) !== 0;
  }

  private setBit(seq: number, on: boolean): void {
    const i = seq % REPLAY_WINDOW;
    const m = 1 << (i & 31);
    if (i < 32) this.lo = on ? this.lo | m : this.lo & ~m;
    else this.hi = on ? this.hi | m : this.hi & ~m;
  }

  /** True when `seq` may still be accepted (not seen, not older than the window). */
  check(seq: number): boolean {
    if (seq > this.top) return true;
    if (this.top - seq >= REPLAY_WINDOW) return false;
    return !this.bit(seq);
  }

  commit(seq: number): void {
    if (seq > this.top) {
      const gap = seq - this.top;
      if (gap >= REPLAY_WINDOW) this.lo = this.hi = 0;
      else for (let s = this.top + 1; s < seq; s++) this.setBit(s, false);
      this.top = seq;
    }
    this.setBit(seq, true);
  }

  /** True when `seq` was accepted and is still inside the window. [SPEC 7.6] */
  has(seq: number): boolean {
    return seq <= this.top && this.top - seq < REPLAY_WINDOW && seq >= 0 && this.bit(seq);
  }

  get highest(): number {
    return this.top;
  }
}
