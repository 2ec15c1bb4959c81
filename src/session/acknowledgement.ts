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

export class AckTracker<T> {
  private entries: Entry<T>[] = [];

  get size(): number {
    return this.entries.length;
  }

  /** Time the oldest unacknowledged record was sent, if any. */
  get oldestSentAt(): number | undefined {
    return this.entries[0]?.sentAt;
  }

  add(session: object, epoch: number, seq: number, sentAt: number, item: T): void {
    this.entries.push({ session, epoch, seq, sentAt, item });
  }

  /** [SPEC 7.6] Applies one Ack received on `session`. */
  ack(session: object, ranges: readonly AckRange[]): AckOutcome<T> {
    const confirmed: T[] = [];
    const notConfirmed: T[] = [];
    if (ranges.length === 0) return { confirmed, notConfirmed };
    // The peer keeps the previous epoch open during its grace period (SPEC 7.3) and sends a range for it only once
    // it accepted something there; two epochs below the lowest range are closed for good.
    const closedBelow = Math.min(...ranges.map((r) => r.epoch)) - 1;
    const keep: Entry<T>[] = [];
    for (const e of this.entries) {
      if (e.session !== session) {
        keep.push(e);
        continue;
      }
      const r = ranges.find((x) => x.epoch === e.epoch);
      if (r && acknowledges(r, e.seq)) confirmed.push(e.item);
      else if ((r && r.highest - e.seq >= ACK_RANGE_SPAN) || e.epoch < closedBelow) notConfirmed.push(e.item);
      else keep.push(e);
    }
    if (confirmed.length || notConfirmed.length) this.entries = keep;
    return { confirmed, notConfirmed };
  }

  /** Removes and returns the entries matching `pred` (e.g. all of a session that ended), oldest first. */
  take(pred: (e: { readonly session: object; readonly epoch: number; readonly seq: number; readonly sentAt: number }) => boolean): T[] {
    const out: Entry<T>[] = [];
    const keep: Entry<T>[] = [];
    for (const e of this.entries) (pred(e) ? out : keep).push(e);
    if (out.length) this.entries = keep;
    return out.map((e) => e.item);
  }

  /** Removes and returns the newest entry matching `pred`. */
  takeNewest(pred: (e: { readonly session: object; readonly epoch: number; readonly seq: number }) => boolean): T | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
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
    return this.entries.shift()?.item;
  }

  /** The items, oldest first, without removing them. */
  items(): T[] {
    return this.entries.map((e) => e.item);
  }
}
