/** Messages between the E2E benchmark parent and its publisher/subscriber worker processes. */
import type { SideSamples } from './e2e-timing.js';

export type TransportSpec =
  | {
      readonly kind: 'mqtt';
      readonly url: string;
      readonly prefix: string;
      readonly qos: 0 | 1;
      /** Hop-by-hop TLS to the broker (mqtts://): PEM paths of the CA and of this client's certificate and key. */
      readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
    }
  | { readonly kind: 'amqp'; readonly url: string; readonly exchange: string }
  | { readonly kind: 'xmpp'; readonly service: string; readonly domain: string; readonly password: string }
  /** NATS (SPEC 8.11): core (at-most-once, send settles on the flush PONG) or JetStream (`stream`: settles on the publish ack). */
  | { readonly kind: 'nats'; readonly servers: string; readonly prefix: string; readonly stream?: string };

/**
 * `confidentiality_single`: confidentiality with coalescing off (coalesce.maxRecords 1, SPEC 3.7): one record per transport message.
 * `plain_batched`: no session, but payloads batched the way the endpoint's outbox batches records (plain-batcher.ts),
 * the baseline of the coalescing default modes.
 */
export type E2eMode = 'plain' | 'plain_batched' | 'integrity' | 'confidentiality' | 'confidentiality_single';

export const isPlain = (m: E2eMode): boolean => m === 'plain' || m === 'plain_batched';

export type WorkerCommand =
  | {
      readonly cmd: 'setup';
      /** Name of the lane (several lanes may share a mode over different transports). */
      readonly lane: string;
      readonly transport: TransportSpec;
      readonly mode: E2eMode;
      readonly id: string;
      readonly peer: string;
      readonly identity?: { readonly certificate: string; readonly privateKey: string };
      readonly roots?: readonly string[];
    }
  /** Publisher: sends `count` messages one after the other (opens the session); replies with the ms of the first. */
  | { readonly cmd: 'warmup'; readonly lane: string; readonly count: number }
  /** Publisher: sends as fast as the transport acknowledges, `window` unacknowledged at most, for `ms`. */
  | { readonly cmd: 'flood'; readonly lane: string; readonly ms: number; readonly window: number }
  /** Publisher: sends at `perSecond` for `ms` (the reply carries the CPU µs the process spent on it). */
  | { readonly cmd: 'paced'; readonly lane: string; readonly ms: number; readonly perSecond: number }
  /** Subscriber: forget what arrived so far (and restart its CPU clock). */
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
  /** CPU µs (user + system) of the process from the reset to the `cpuCount`-th arrival (cpuCount: a multiple of 16). */
  readonly cpuUs: number;
  readonly cpuCount: number;
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
      /** `paced`: CPU µs (user + system) of the publisher process over the run, until every send settled. */
      readonly cpuUs?: number;
      /** `setup`: ms to open the transport (connect, TLS, subscribe); `warmup`: ms until the first send settled. */
      readonly ms?: number;
    }
  | { readonly ok: false; readonly error: string };

export const PAYLOAD_SIZE = 256;
