/** Messages between the E2E benchmark parent and its publisher/subscriber worker processes. */
import type { SideSamples } from './e2e-timing.js';

export type TransportSpec =
  | { readonly kind: 'mqtt'; readonly url: string; readonly prefix: string; readonly qos: 0 | 1 }
  | { readonly kind: 'amqp'; readonly url: string; readonly exchange: string }
  | { readonly kind: 'xmpp'; readonly service: string; readonly domain: string; readonly password: string };

/** `confidentiality_single`: confidentiality with coalescing off (coalesce.maxRecords 1, SPEC 3.7): one record per transport message. */
export type E2eMode = 'plain' | 'integrity' | 'confidentiality' | 'confidentiality_single';

export type WorkerCommand =
  | {
      readonly cmd: 'setup';
      readonly transport: TransportSpec;
      readonly mode: E2eMode;
      readonly id: string;
      readonly peer: string;
      readonly identity?: { readonly certificate: string; readonly privateKey: string };
      readonly roots?: readonly string[];
    }
  /** Publisher: sends `count` messages one after the other (opens the session). */
  | { readonly cmd: 'warmup'; readonly mode: E2eMode; readonly count: number }
  /** Publisher: sends as fast as the transport acknowledges, `window` unacknowledged at most, for `ms`. */
  | { readonly cmd: 'flood'; readonly mode: E2eMode; readonly ms: number; readonly window: number }
  /** Publisher: sends at `perSecond` for `ms`. */
  | { readonly cmd: 'paced'; readonly mode: E2eMode; readonly ms: number; readonly perSecond: number }
  /** Subscriber: forget what arrived so far. Every mode set up stays open until teardown. */
  | { readonly cmd: 'reset' }
  /** Subscriber: what arrived since the last reset (with `detail`, the per-message samples too). */
  | { readonly cmd: 'report'; readonly detail?: boolean }
  | { readonly cmd: 'teardown' };

export interface SubReport {
  readonly count: number;
  readonly firstNs: number;
  readonly lastNs: number;
  /** Arrival time of the message at 95 % of the count (throughput ignores the trailing 5 %: stragglers, redeliveries). */
  readonly p95Ns: number;
  readonly p95Index: number;
  /** One-way latencies in µs (publisher hrtime stamped in the payload → subscriber hrtime); only with `detail`. */
  readonly latenciesUs?: number[];
  /** Transport delivery (endpoint.onFrame entry) → 'message' event, ns, per payload stamp (e2e-timing.ts); only with `detail`. */
  readonly added?: SideSamples;
}

export type WorkerReply =
  | {
      readonly ok: true;
      readonly sent?: number;
      /** `flood` / `paced` through an endpoint: records of the run that left inside BATCH frames (SPEC 3.7). */
      readonly coalesced?: number;
      readonly report?: SubReport;
      /** `paced`: endpoint.send() call → frame handed to the transport, ns, per payload stamp (e2e-timing.ts). */
      readonly added?: SideSamples;
    }
  | { readonly ok: false; readonly error: string };

export const PAYLOAD_SIZE = 256;
