/**
 * [SPEC 7.6] One peer's sent-but-unacknowledged messages, on top of the AckTracker: bounded, timed out on an
 * injected clock, and settled as the peer's ACK records, alerts and the end of sessions tell. Sans-I/O: the
 * caller asks `deadline` when to call `expire` next; every outcome is returned, never emitted.
 */
import type { ErrorCode } from '../errors/index.js';
import type { AckRange } from '../codec/ack.js';
import { AckTracker } from './acknowledgement.js';

export interface Outgoing {
  readonly data: Uint8Array;
  /** Present for `send(…, { confirm: true })`. */
  readonly settle?: { readonly resolve: () => void; readonly reject: (e: unknown) => void };
  /** [SPEC 13.4] A GroupControl message: settled like any record, never reported to the application. */
  readonly control?: true;
}

/** `code` undefined = confirmed; otherwise why the messages were not. */
export interface Outcome {
  readonly code: ErrorCode | undefined;
  readonly items: Outgoing[];
}

export interface ConfirmationLimits {
  readonly track: number;
  readonly timeoutMs: number;
  /** [SPEC 7.6] How long a gap the peer's ACKs show may stay open before the record is ERR_NOT_CONFIRMED. */
  readonly gapMs: number;
}

export class Confirmations {
  private readonly tracker = new AckTracker<Outgoing>();

  constructor(private readonly limits: ConfirmationLimits) {}

  get size(): number {
    return this.tracker.size;
  }

  /** When the oldest message times out, or a gap closes, whichever first (undefined: nothing tracked). */
  get deadline(): number | undefined {
    const oldest = this.tracker.oldestSentAt;
    if (oldest === undefined) return undefined;
    const gap = this.tracker.oldestGap;
    return Math.min(oldest + this.limits.timeoutMs, gap === undefined ? Infinity : gap + this.limits.gapMs);
  }

  /** Remembers a DATA record just sealed on `session` as (epoch, seq). */
  track(session: object, epoch: number, seq: number, now: number, item: Outgoing, out: Outcome[]): void {
    // Bounded: the oldest are given up on first (reported, never silently forgotten), a sixteenth of the bound at a
    // time, so a sender that outruns its peer's acknowledgements gets one report per track/16 messages, not one each.
    if (this.tracker.size >= this.limits.track) {
      const given: Outgoing[] = [];
      for (let n = Math.ceil(this.limits.track / 16); n > 0; n--) {
        const oldest = this.tracker.shift();
        if (!oldest) break;
        given.push(oldest);
      }
      if (given.length) out.push({ code: 'ERR_QUEUE_FULL', items: given });
    }
    this.tracker.add(session, epoch, seq, now, item);
  }

  onAck(session: object, ranges: readonly AckRange[], now: number, out: Outcome[]): void {
    const r = this.tracker.ack(session, ranges, now);
    if (r.confirmed.length) out.push({ code: undefined, items: r.confirmed });
    if (r.notConfirmed.length) out.push({ code: 'ERR_NOT_CONFIRMED', items: r.notConfirmed });
  }

  /** [SPEC 8.7] The peer's policy refused record (epoch, seq) of `session`. */
  refused(session: object, epoch: number, seq: number, out: Outcome[]): void {
    const item = this.tracker.takeNewest((e) => e.session === session && e.epoch === epoch && e.seq === seq);
    if (item) out.push({ code: 'ERR_FORBIDDEN', items: [item] });
  }

  /** The session ended (closed, replaced, revoked, expired): nothing more will be acknowledged on it. */
  sessionEnded(session: object, code: ErrorCode, out: Outcome[]): void {
    const items = this.tracker.take((e) => e.session === session);
    if (items.length) out.push({ code, items });
  }

  /**
   * [SPEC 7.6] ERR_NOT_CONFIRMED for records the peer's ACKs have shown missing (a later record of the epoch
   * accepted) for `gapMs` without acknowledging them since; ERR_TIMEOUT for what waited `timeoutMs` or longer.
   */
  expire(now: number, out: Outcome[]): void {
    const gaps = this.tracker.takeGaps(now - this.limits.gapMs);
    if (gaps.length) out.push({ code: 'ERR_NOT_CONFIRMED', items: gaps });
    const cutoff = now - this.limits.timeoutMs;
    const items = this.tracker.take((e) => e.sentAt <= cutoff);
    if (items.length) out.push({ code: 'ERR_TIMEOUT', items });
  }

  /** Reports everything left (e.g. on close). */
  close(code: ErrorCode, out: Outcome[]): void {
    const items = this.tracker.take(() => true);
    if (items.length) out.push({ code, items });
  }

  /** Messages still waiting for an acknowledgement, oldest first. */
  pending(): Uint8Array[] {
    return this.tracker
      .items()
      .filter((i) => i.control !== true)
      .map((i) => i.data);
  }
}
