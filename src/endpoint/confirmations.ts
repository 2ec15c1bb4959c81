/**
 * [SPEC 7.6] One peer's sent-but-unacknowledged messages, on top of the sans-I/O AckTracker: bounded, with a
 * timeout, and settled as the peer's ACK records, alerts and the end of sessions tell.
 */
import type { ErrorCode } from '../errors/index.js';
import type { AckRange } from '../codec/ack.js';
import { AckTracker } from '../session/acknowledgement.js';

export interface Outgoing {
  readonly data: Uint8Array;
  /** Present for `send(…, { confirm: true })`. */
  readonly settle?: { readonly resolve: () => void; readonly reject: (e: unknown) => void };
}

/** `undefined` = confirmed; otherwise why the messages were not. */
export type Settle = (code: ErrorCode | undefined, items: Outgoing[]) => void;

export interface ConfirmationLimits {
  readonly track: number;
  readonly timeoutMs: number;
}

export class Confirmations {
  private readonly tracker = new AckTracker<Outgoing>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: ConfirmationLimits,
    private readonly clock: () => number,
    private readonly settle: Settle,
  ) {}

  /** Remembers a DATA record just sealed on `session` as (epoch, seq). */
  track(session: object, epoch: number, seq: number, item: Outgoing): void {
    // Bounded: the oldest are given up on first (reported, never silently forgotten), a sixteenth of the bound at a
    // time, so a sender that outruns its peer's acknowledgements gets one report per track/16 messages, not one each.
    if (this.tracker.size >= this.limits.track) {
      const given: Outgoing[] = [];
      for (let n = Math.ceil(this.limits.track / 16); n > 0; n--) {
        const oldest = this.tracker.shift();
        if (!oldest) break;
        given.push(oldest);
      }
      if (given.length) this.settle('ERR_QUEUE_FULL', given);
    }
    this.tracker.add(session, epoch, seq, this.clock(), item);
    this.arm();
  }

  onAck(session: object, ranges: readonly AckRange[]): void {
    const r = this.tracker.ack(session, ranges);
    this.disarmIfEmpty();
    if (r.confirmed.length) this.settle(undefined, r.confirmed);
    if (r.notConfirmed.length) this.settle('ERR_NOT_CONFIRMED', r.notConfirmed);
  }

  /** [SPEC 8.7] The peer's policy refused the record `seq` (newest match: the alert carries no epoch). */
  refused(session: object, seq: number): void {
    const item = this.tracker.takeNewest((e) => e.session === session && e.seq === seq);
    this.disarmIfEmpty();
    if (item) this.settle('ERR_FORBIDDEN', [item]);
  }

  /** The session ended (closed, replaced, revoked): nothing more will be acknowledged on it. */
  sessionEnded(session: object, code: ErrorCode): void {
    const items = this.tracker.take((e) => e.session === session);
    this.disarmIfEmpty();
    if (items.length) this.settle(code, items);
  }

  /** Messages still waiting for an acknowledgement, oldest first. */
  pending(): Uint8Array[] {
    return this.tracker.items().map((i) => i.data);
  }

  get size(): number {
    return this.tracker.size;
  }

  /** Reports everything left (e.g. on close) and stops the timer. */
  close(code: ErrorCode): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const items = this.tracker.take(() => true);
    if (items.length) this.settle(code, items);
  }

  /** Nothing left to time out: no timer (it is referenced and would keep the process up for `timeoutMs`). */
  private disarmIfEmpty(): void {
    if (this.tracker.size > 0 || !this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const oldest = this.tracker.oldestSentAt;
    if (this.timer || oldest === undefined) return;
    // Referenced: an outcome still owed to the application is pending work (close() clears it).
    this.timer = setTimeout(() => this.expire(), Math.max(0, oldest + this.limits.timeoutMs - this.clock()));
  }

  private expire(): void {
    this.timer = undefined;
    const cutoff = this.clock() - this.limits.timeoutMs;
    const items = this.tracker.take((e) => e.sentAt <= cutoff);
    if (items.length) this.settle('ERR_TIMEOUT', items);
    this.arm();
  }
}
