/**
 * [SPEC 7.6] The sender's side of end-to-end acknowledgements: which DATA records were sent and not yet
 * acknowledged by the peer. Pure bookkeeping (no timers, no I/O); the endpoint decides what to do with
 * the items it gets back. Entries are kept in sending order.
 */
import { acknowledges, ACK_RANGE_SPAN, type AckRange } from '../codec/ack.js';

interface Entry<T> {
  /** The session the record was sealed in (records of different sessions never match). */
  readonly session: object;
  readonly epoch: number;
  readonly seq: number;
  readonly sentAt: number;
  readonly item: T;
  /** [SPEC 7.6] When an Ack first showed a later record of this epoch accepted and this one not. */
  gapSince?: number;
}

export interface AckOutcome<T> {
  /** Acknowledged: the peer accepted these records. */
  readonly confirmed: T[];
  /**
   * The peer's acknowledgement shows it can no longer accept these records: 64 or more later records of the
   * same epoch were accepted (outside its replay window, SPEC 7.4), or the epoch is closed at the peer.
   * An acknowledgement lost on the way can also land a delivered record here: "not confirmed", not "lost".
   */
  readonly notConfirmed: T[];
}

/**
 * Entries live in `entries[head..]` in sending order, so for one session the epochs never decrease and the
 * sequence numbers grow within an epoch: an Ack is applied from the oldest entry and stops at the first entry
 * of its session that it cannot cover yet (everything after is newer). Applying one costs what it decides,
 * not what is outstanding.
 */
export class AckTracker<T> {
  /** Slots before `head` are cleared (undefined) so their items can be collected. */
  private entries: (Entry<T> | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.entries.length - this.head;
  }

  /** Time the oldest unacknowledged record was sent, if any. */
  get oldestSentAt(): number | undefined {
    return this.entries[this.head]?.sentAt;
  }

  add(session: object, epoch: number, seq: number, sentAt: number, item: T): void {
    this.entries.push({ session, epoch, seq, sentAt, item });
  }

  /** Earliest time an Ack showed a gap at a record still waiting (a lower bound: entries may have left since). */
  private gapFrom: number | undefined;

  /** [SPEC 7.6] The earliest `gapSince` of the waiting entries (a lower bound, refreshed by `takeGaps`). */
  get oldestGap(): number | undefined {
    return this.gapFrom;
  }

  /** [SPEC 7.6] Applies one Ack received on `session` at `now`. */
  ack(session: object, ranges: readonly AckRange[], now: number): AckOutcome<T> {
    const confirmed: T[] = [];
    const notConfirmed: T[] = [];
    if (ranges.length === 0) return { confirmed, notConfirmed };
    const top = ranges.reduce((a, b) => (b.epoch > a.epoch ? b : a));
    // The peer keeps the previous epoch open during its grace period (SPEC 7.3) and sends a range for it only once
    // it accepted something there; two epochs below the lowest range are closed for good.
    const closedBelow = Math.min(...ranges.map((r) => r.epoch)) - 1;
    const es = this.entries;
    let w = this.head; // kept entries of the scanned prefix are compacted to [head, w)
    let i = this.head;
    for (; i < es.length; i++) {
      const e = es[i] as Entry<T>;
      if (e.session === session) {
        if (e.epoch > top.epoch || (e.epoch === top.epoch && e.seq > top.highest)) break; // not covered yet, nor anything newer
        const r = e.epoch === top.epoch ? top : ranges.find((x) => x.epoch === e.epoch);
        if (r && acknowledges(r, e.seq)) {
          confirmed.push(e.item);
          continue;
        }
        if ((r && r.highest - e.seq >= ACK_RANGE_SPAN) || e.epoch < closedBelow) {
          notConfirmed.push(e.item);
          continue;
        }
        // A later record of its epoch was accepted and this one not (yet): altered, lost or overtaken.
        if (r && r.highest > e.seq && e.gapSince === undefined) {
          e.gapSince = now;
          if (this.gapFrom === undefined || now < this.gapFrom) this.gapFrom = now;
        }
      }
      es[w++] = e;
    }
    // Close the gap [w, i): move the kept prefix up against the unscanned rest.
    const kept = w - this.head;
    if (w < i) {
      for (let k = kept - 1; k >= 0; k--) es[i - kept + k] = es[this.head + k] as Entry<T>;
      for (let k = this.head; k < i - kept; k++) es[k] = undefined; // release references
      this.head = i - kept;
    }
    this.compact();
    return { confirmed, notConfirmed };
  }

  /** Removes and returns the entries matching `pred` (e.g. all of a session that ended), oldest first. */
  take(pred: (e: { readonly session: object; readonly epoch: number; readonly seq: number; readonly sentAt: number }) => boolean): T[] {
    const out: T[] = [];
    const keep: Entry<T>[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const e = this.entries[i] as Entry<T>;
      if (pred(e)) out.push(e.item);
      else keep.push(e);
    }
    if (out.length) {
      this.entries = keep;
      this.head = 0;
    }
    return out;
  }

  /** [SPEC 7.6] Removes and returns the entries whose gap was first shown at or before `cutoff`, oldest first. */
  takeGaps(cutoff: number): T[] {
    if (this.gapFrom === undefined || this.gapFrom > cutoff) return [];
    const out = this.take((e) => (e as Entry<T>).gapSince !== undefined && ((e as Entry<T>).gapSince as number) <= cutoff);
    let from: number | undefined;
    for (let i = this.head; i < this.entries.length; i++) {
      const g = (this.entries[i] as Entry<T>).gapSince;
      if (g !== undefined && (from === undefined || g < from)) from = g;
    }
    this.gapFrom = from;
    return out;
  }

  /** Removes and returns the newest entry matching `pred`. */
  takeNewest(pred: (e: { readonly session: object; readonly epoch: number; readonly seq: number }) => boolean): T | undefined {
    for (let i = this.entries.length - 1; i >= this.head; i--) {
      const e = this.entries[i] as Entry<T>;
      if (pred(e)) {
        this.entries.splice(i, 1);
        return e.item;
      }
    }
    return undefined;
  }

  /** Removes and returns the oldest entry (bounded tracking). */
  shift(): T | undefined {
    if (this.head >= this.entries.length) return undefined;
    const e = this.entries[this.head] as Entry<T>;
    this.entries[this.head++] = undefined;
    this.compact();
    return e.item;
  }

  /** The items, oldest first, without removing them. */
  items(): T[] {
    return this.entries.slice(this.head).map((e) => (e as Entry<T>).item);
  }

  private compact(): void {
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
