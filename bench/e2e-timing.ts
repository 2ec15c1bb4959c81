/**
 * Direct measurement of the latency hopsafe itself adds to one message (issue 7: "p99 added latency
 * ≤ 100 µs at half load"), without touching the endpoint: the E2E worker wraps the Transport it hands
 * to createEndpoint.
 *
 * - Publisher: from the `endpoint.send()` call to the protected frame being handed to the transport's
 *   `send` (session lookup, policy, seal, acknowledgement tracking, and, when the record is coalesced with
 *   others, SPEC 3.7, its wait for the batch). `timeSend` runs the call and reads
 *   the hand-over the wrapped `send` noted meanwhile; a record coalesced for later is timed to the next
 *   DATA or BATCH frame handed over (its batch: the outbox hands frames over in order). A frame handed over
 *   during the call is the one carrying the call's record: the outbox flushes a full or overdue batch after adding
 *   the record; only a batch full by bytes leaves before it (never with the bench's 256-byte payloads).
 * - Subscriber: from the transport delivering the frame (entry of the frame handler passed to `open`,
 *   i.e. endpoint.onFrame) to the 'message' event (header checks, replay window, open, acknowledgement
 *   scheduling, and the wait in the endpoint's inbound queue: behind earlier frames of the sender and,
 *   since the endpoint handles a frame in a promise continuation, behind what the transport client does
 *   first with the other packets it read at once — mqtt.js parses and PUBACKs a whole socket read before
 *   any continuation runs). The endpoint handles one sender's
 *   frames one at a time in arrival order, and a frame's handler promise settles before the next frame
 *   of that sender is handled, so the oldest frame whose promise has not settled is the one whose
 *   message is being emitted. Frames that carry no message (ACK records, handshake frames) settle
 *   without a sample.
 */
import type { FrameHandler, Transport } from '../src/transport/transport.js';
import { frameByte, FrameType } from '../src/codec/frame.js';

const DATA_BYTE = frameByte(FrameType.DATA);
const BATCH_BYTE = frameByte(FrameType.BATCH);

export type Clock = () => bigint;
const hrtime: Clock = () => process.hrtime.bigint();

export interface TimedTransport {
  /** Hand this to createEndpoint (or use it plainly: the wrappers then measure only themselves). */
  readonly transport: Transport;
  /**
   * Runs `send` (which calls endpoint.send or transport.send) and returns its result with the ns from the
   * call to the last frame handed to the wrapped transport during the call. When none was (the record waits
   * to be coalesced), `ns` is undefined and `later` gets the ns to the next DATA or BATCH frame handed over.
   */
  timeSend<T>(send: () => T, later?: (ns: number) => void): { readonly result: T; readonly ns: number | undefined };
  /** Call from the 'message' listener: ns since the frame carrying it was delivered, or undefined. */
  delivered(): number | undefined;
}

interface Arrival {
  readonly at: bigint;
  used: boolean;
  settled: boolean;
}

export function timedTransport(inner: Transport, now: Clock = hrtime): TimedTransport {
  let sending = false;
  let handedOver: bigint | undefined;
  // timeSend calls whose record was not handed over during the call, oldest first.
  let waiting: { readonly t0: bigint; readonly later: (ns: number) => void }[] = [];
  // Frames whose handler promise has not settled, oldest first, from index `head` on. They settle in order
  // (one sender), so settling is O(1): mark, then move `head` past the settled ones; compact now and then.
  let arrivals: Arrival[] = [];
  let head = 0;
  // The frame being handed over right now: the endpoint handles a record for an idle peer synchronously, so its
  // message event fires inside the handler call, before the handler's promise settles.
  let current: Arrival | undefined;
  const settle = (a: Arrival): void => {
    a.settled = true;
    while (head < arrivals.length && (arrivals[head] as Arrival).settled) head++;
    if (head > 1024 && head * 2 > arrivals.length) {
      arrivals = arrivals.slice(head);
      head = 0;
    }
  };
  const transport: Transport = {
    name: inner.name,
    maxFrameSize: inner.maxFrameSize,
    open(localId: string, onFrame: FrameHandler): Promise<void> {
      return inner.open(localId, (frame) => {
        const a: Arrival = { at: now(), used: false, settled: false };
        arrivals.push(a);
        let r: void | Promise<void>;
        current = a;
        try {
          r = onFrame(frame);
        } catch (e) {
          settle(a);
          throw e;
        } finally {
          current = undefined;
        }
        if (a.used) settle(a); // its message came during the call: done for correlation
        if (r === undefined) {
          settle(a);
          return r;
        }
        return r.finally(() => settle(a));
      });
    },
    send(peerId: string, bytes: Uint8Array): Promise<void> {
      if (!sending && waiting.length === 0) return inner.send(peerId, bytes); // untimed: no clock read
      const t = now();
      if (sending) handedOver = t;
      // Records coalesced earlier leave with this frame (the outbox hands frames over in order), also when a
      // full or overdue batch is flushed from inside a later send() call.
      if (waiting.length > 0 && (bytes[0] === BATCH_BYTE || bytes[0] === DATA_BYTE)) {
        const w = waiting;
        waiting = [];
        for (const x of w) x.later(Number(t - x.t0));
      }
      return inner.send(peerId, bytes);
    },
    close: () => inner.close(),
    ...(inner.onStatus ? { onStatus: (l: Parameters<NonNullable<Transport['onStatus']>>[0]) => inner.onStatus?.(l) } : {}),
  };
  return {
    transport,
    timeSend<T>(send: () => T, later?: (ns: number) => void) {
      handedOver = undefined;
      sending = true;
      const t0 = now();
      let result: T;
      try {
        result = send();
      } finally {
        sending = false;
      }
      const h = handedOver;
      handedOver = undefined;
      if (h === undefined && later) waiting.push({ t0, later });
      return { result, ns: h === undefined ? undefined : Number(h - t0) };
    },
    delivered() {
      if (current && !current.used) {
        current.used = true;
        return Number(now() - current.at);
      }
      const a = arrivals[head];
      if (!a || a.used) return undefined;
      a.used = true;
      return Number(now() - a.at);
    },
  };
}

/** Per-message samples of one side: the payload's publisher stamp (ns) and the time measured (ns). */
export interface SideSamples {
  readonly stamps: number[];
  readonly ns: number[];
}

export interface AddedLatency {
  /** Publisher + subscriber time of the messages measured on both sides (µs, ascending). */
  readonly sumUs: number[];
  readonly publisherUs: number[];
  readonly subscriberUs: number[];
}

/** Joins the two sides on the publisher stamp each payload carries. */
export function combineAdded(pub: SideSamples, sub: SideSamples): AddedLatency {
  const byStamp = new Map<number, number>();
  pub.stamps.forEach((s, i) => {
    byStamp.set(s, pub.ns[i] ?? Number.NaN);
  });
  const sumUs: number[] = [];
  sub.stamps.forEach((s, i) => {
    const p = byStamp.get(s);
    const q = sub.ns[i];
    if (p !== undefined && q !== undefined && Number.isFinite(p)) sumUs.push((p + q) / 1000);
  });
  const asc = (a: number, b: number): number => a - b;
  return {
    sumUs: sumUs.sort(asc),
    publisherUs: pub.ns.map((x) => x / 1000).sort(asc),
    subscriberUs: sub.ns.map((x) => x / 1000).sort(asc),
  };
}
