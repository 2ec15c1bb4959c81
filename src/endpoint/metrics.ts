/**
 * Prometheus metrics of endpoints (prom-client), off unless `createEndpoint({ metrics })` asks for them.
 *
 * - Counters and gauges are read from the endpoint's `stats()`, `queues()` and its transport's `inboundStats()` when
 *   the registry is collected (a scrape): nothing is added to the send or receive path for them.
 * - The three latency histograms are observed by the endpoint shell as things happen (only when metrics are on).
 * - Endpoints given the same registry (and prefix) share the metric objects: one series per endpoint, label
 *   `endpoint` = its id. A closed endpoint's series leave the registry.
 *
 * Label values are bounded: endpoint ids, HopsafeError codes (a fixed set), and the fixed words below.
 * Never a key, a payload or a peer id.
 */
import { Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { HopsafeError } from '../errors/index.js';
import type { InboundStats } from '../transport/transport.js';
import type { EndpointQueues, EndpointStats } from './stats.js';
import { assertFree, isRegistry as registryLike, perCollection, pulled, PREFIX_PATTERN, type Add } from './metrics-pull.js';

/**
 * Where and how an endpoint exposes Prometheus metrics (the `metrics` option of {@link EndpointOptions}; `true`
 * means all defaults). Metric names, labels and help texts are listed in the README; label values are endpoint ids,
 * error codes and fixed words, never a key, payload or peer id.
 */
export interface MetricsOptions {
  /**
   * prom-client Registry the metrics are registered in, e.g. the application's own (or prom-client's global
   * `register`), so they appear in its /metrics. Default: a registry of this endpoint's own, read with
   * `endpoint.metrics()`.
   */
  readonly registry?: Registry;
  /** Prefix of every metric name. Default `hopsafe_`. */
  readonly prefix?: string;
  /** Histogram bucket bounds in seconds (increasing). Endpoints sharing a registry and prefix must agree. */
  readonly buckets?: { readonly handshake?: readonly number[]; readonly record?: readonly number[] };
}

/** What an endpoint lets the metrics read. */
export interface MetricsSource {
  readonly id: string;
  stats(): EndpointStats;
  queues(): EndpointQueues;
  inbound(): InboundStats | undefined;
}

export const DEFAULT_PREFIX = 'hopsafe_';
/** Handshakes: one round trip plus two signature verifications; from a millisecond (loopback) to seconds (remote broker). */
export const HANDSHAKE_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Records: tens of microseconds of crypto, plus the transport's acknowledgement on the send side. */
export const RECORD_BUCKETS: readonly number[] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

const isRegistry = (v: unknown): v is Registry => v instanceof Registry || registryLike(v);

const bucketsSchema = z
  .array(z.number().positive().finite())
  .min(1)
  .max(64)
  .refine((b) => b.every((x, i) => i === 0 || x > (b[i - 1] as number)), 'bucket bounds must increase');

const metricsOptionsSchema = z
  .object({
    registry: z.custom<Registry>(isRegistry, 'must be a prom-client Registry').optional(),
    prefix: z.string().max(64).regex(PREFIX_PATTERN, 'must be a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)').optional(),
    buckets: z.object({ handshake: bucketsSchema.optional(), record: bucketsSchema.optional() }).strict().optional(),
  })
  .strict();

/** `metrics` of the endpoint options: `true` or an object turns them on; `false`/absent: off (undefined). */
export function parseMetricsOptions(input: unknown): MetricsOptions | undefined {
  if (input === undefined || input === false) return undefined;
  if (input === true) return {};
  const r = metricsOptionsSchema.safeParse(input);
  if (!r.success)
    throw new HopsafeError(
      'ERR_CONFIG',
      `metrics: ${r.error.issues.map((i) => `${['metrics', ...i.path].join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data as MetricsOptions;
}

interface Snapshot {
  readonly id: string;
  readonly stats: EndpointStats;
  readonly queues: EndpointQueues;
  readonly inbound: InboundStats | undefined;
}

/** The metric objects of one (registry, prefix), shared by the endpoints registered in it. */
interface MetricSet {
  readonly sources: Set<MetricsSource>;
  readonly handshake: Histogram<'endpoint'>;
  readonly record: Histogram<'endpoint' | 'direction'>;
  readonly confirm: Histogram<'endpoint'>;
  readonly buckets: { readonly handshake: readonly number[]; readonly record: readonly number[] };
}

const sets = new WeakMap<Registry, Map<string, MetricSet>>();

const QUEUES = ['waiting', 'tracked', 'outbox', 'sending', 'inbound'] as const satisfies readonly (keyof EndpointQueues)[];

/** Names (after the prefix) of the metrics of a set, to refuse a clash before any is registered. */
const NAMES = [
  'sessions',
  'peers',
  'handshakes_pending',
  'queue_depth',
  'held_bytes',
  'handshakes_initiated_total',
  'handshakes_total',
  'records_sent_total',
  'records_received_total',
  'records_confirmed_total',
  'records_unconfirmed_total',
  'rejects_total',
  'key_updates_total',
  'batches_total',
  'batched_records_total',
  'transport_dropped_frames_total',
  'transport_inbound_unsettled',
  'handshake_duration_seconds',
  'record_duration_seconds',
  'confirm_duration_seconds',
] as const;

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function createSet(registry: Registry, p: string, buckets: MetricSet['buckets']): MetricSet {
  assertFree(
    registry,
    NAMES.map((n) => p + n),
  );
  const sources = new Set<MetricsSource>();
  const snapshot = perCollection(() =>
    [...sources].map((src) => ({ id: src.id, stats: src.stats(), queues: src.queues(), inbound: src.inbound() })),
  );
  const registers = [registry];
  type Fill<L extends string> = (add: Add<L>, s: Snapshot) => void;
  const each =
    <L extends string>(fill: Fill<L>) =>
    (add: Add<L | 'endpoint'>): void => {
      for (const s of snapshot()) fill((l, v) => add({ ...l, endpoint: s.id } as Partial<Record<L | 'endpoint', string>>, v), s);
    };
  const counter = <L extends string>(name: string, help: string, labels: readonly L[], fill: Fill<L>): void =>
    pulled<L | 'endpoint'>('counter', registry, p + name, help, ['endpoint', ...labels], each(fill));
  const gauge = <L extends string>(name: string, help: string, labels: readonly L[], fill: Fill<L>): void =>
    pulled<L | 'endpoint'>('gauge', registry, p + name, help, ['endpoint', ...labels], each(fill));
  const byCode = (add: (l: { code: string }, v: number) => void, m: Partial<Record<string, number>>): void => {
    for (const [code, v] of Object.entries(m)) if (v !== undefined) add({ code }, v);
  };

  gauge('sessions', 'Established sessions.', [], (add, s) => add({}, s.stats.sessions));
  gauge('peers', 'Peers in the endpoint table (session, handshake, queued messages or outcomes owed).', [], (add, s) =>
    add({}, s.queues.peers),
  );
  gauge('handshakes_pending', 'Handshakes this endpoint started that wait for their response.', [], (add, s) =>
    add({}, s.queues.handshaking),
  );
  gauge(
    'queue_depth',
    'Items waiting inside the endpoint: waiting (messages before a session), tracked (sent, not yet acknowledged), outbox (records to be batched), sending (transport sends unsettled), inbound (frames behind the same sender).',
    ['queue'],
    (add, s) => {
      for (const q of QUEUES) add({ queue: q }, s.queues[q]);
    },
  );
  gauge('held_bytes', 'Bytes of frames held ahead of their key update, all sessions together.', [], (add, s) =>
    add({}, s.queues.heldBytes),
  );
  counter('handshakes_initiated_total', 'Handshakes this endpoint started (HS_INIT sent).', [], (add, s) =>
    add({}, s.stats.handshakes.initiated),
  );
  counter(
    'handshakes_total',
    'Handshakes finished, by outcome (ok: session established, either role; failed: refused or timed out).',
    ['outcome'],
    (add, s) => {
      add({ outcome: 'ok' }, s.stats.handshakes.completed);
      add({ outcome: 'failed' }, s.stats.handshakes.failed);
    },
  );
  counter('records_sent_total', 'Application messages protected and handed to the transport.', [], (add, s) => add({}, s.stats.sent));
  counter('records_received_total', 'Application messages verified and delivered.', [], (add, s) => add({}, s.stats.received));
  counter('records_confirmed_total', 'Sent messages the peer acknowledged end to end.', [], (add, s) => add({}, s.stats.confirmed));
  counter('records_unconfirmed_total', 'Sent messages reported unconfirmed, by error code.', ['code'], (add, s) =>
    byCode(add, s.stats.unconfirmedByCode),
  );
  counter('rejects_total', 'Frames and messages refused, by error code.', ['code'], (add, s) => byCode(add, s.stats.rejected));
  counter('key_updates_total', 'Key updates, by direction (sent, received).', ['direction'], (add, s) => {
    add({ direction: 'sent' }, s.stats.keyUpdates.sent);
    add({ direction: 'received' }, s.stats.keyUpdates.received);
  });
  counter('batches_total', 'BATCH frames sent (coalesced records).', [], (add, s) => add({}, s.stats.batches));
  counter('group_frames_total', 'Group frames (SPEC 13), by outcome (sent, received, rejected, held, dropped).', ['outcome'], (add, s) => {
    add({ outcome: 'sent' }, s.stats.groups.sent);
    add({ outcome: 'received' }, s.stats.groups.received);
    add({ outcome: 'rejected' }, s.stats.groups.rejected);
    add({ outcome: 'held' }, s.stats.groups.held);
    add({ outcome: 'dropped' }, s.stats.groups.dropped);
  });
  counter('batched_records_total', 'Records that left in BATCH frames.', [], (add, s) => add({}, s.stats.coalesced));
  counter(
    'transport_dropped_frames_total',
    'Inbound frames the transport dropped before the endpoint saw them, by reason.',
    ['reason'],
    (add, s) => {
      if (s.inbound) add({ reason: 'oversize' }, s.inbound.oversize);
    },
  );
  gauge(
    'transport_inbound_unsettled',
    'Inbound frames handed to the endpoint and not settled (transports that bound them).',
    [],
    (add, s) => {
      if (s.inbound?.queued !== undefined) add({}, s.inbound.queued);
    },
  );

  return {
    sources,
    buckets,
    handshake: new Histogram({
      name: `${p}handshake_duration_seconds`,
      help: 'Handshakes this endpoint started: first HS_INIT sent to session established.',
      labelNames: ['endpoint'],
      buckets: [...buckets.handshake],
      registers,
    }),
    record: new Histogram({
      name: `${p}record_duration_seconds`,
      help: 'send: send() on an established session to the transport accepting the frame (seal, batching, transport send); receive: record frame arrival to its delivery (queueing, verify, decrypt).',
      labelNames: ['endpoint', 'direction'],
      buckets: [...buckets.record],
      registers,
    }),
    confirm: new Histogram({
      name: `${p}confirm_duration_seconds`,
      help: 'send(…, { confirm: true }) on an established session to the end-to-end acknowledgement.',
      labelNames: ['endpoint'],
      buckets: [...buckets.handshake],
      registers,
    }),
  };
}

/** The metric set of (registry, prefix), created on first use. */
function setFor(registry: Registry, prefix: string, o: MetricsOptions): MetricSet {
  let byPrefix = sets.get(registry);
  if (!byPrefix) sets.set(registry, (byPrefix = new Map()));
  const existing = byPrefix.get(prefix);
  // (reused only while the registry still holds it: `registry.clear()` drops the set)
  if (existing && registry.getSingleMetric(`${prefix}record_duration_seconds`) === existing.record) {
    const b = o.buckets;
    if (
      (b?.handshake && !sameBuckets(b.handshake, existing.buckets.handshake)) ||
      (b?.record && !sameBuckets(b.record, existing.buckets.record))
    )
      throw new HopsafeError(
        'ERR_CONFIG',
        'metrics.buckets: differ from those of the endpoints already registered in this registry with this prefix',
      );
    return existing;
  }
  const set = createSet(registry, prefix, {
    handshake: o.buckets?.handshake ?? HANDSHAKE_BUCKETS,
    record: o.buckets?.record ?? RECORD_BUCKETS,
  });
  byPrefix.set(prefix, set);
  return set;
}

/** One endpoint's metrics: registered in the set, observed by the endpoint shell. */
export class EndpointMetrics {
  readonly registry: Registry;
  private readonly set: MetricSet;
  private readonly source: MetricsSource;
  private readonly sent: { observe(v: number): void };
  private readonly received: { observe(v: number): void };
  private attached = true;

  constructor(options: MetricsOptions, source: MetricsSource) {
    this.registry = options.registry ?? new Registry();
    this.set = setFor(this.registry, options.prefix ?? DEFAULT_PREFIX, options);
    this.source = source;
    this.set.sources.add(source);
    this.sent = this.set.record.labels({ endpoint: source.id, direction: 'send' });
    this.received = this.set.record.labels({ endpoint: source.id, direction: 'receive' });
  }

  /** Durations in milliseconds (performance.now() differences). */
  handshake(ms: number): void {
    if (this.attached) this.set.handshake.observe({ endpoint: this.source.id }, ms / 1000);
  }

  recordSent(ms: number): void {
    if (this.attached) this.sent.observe(ms / 1000);
  }

  recordReceived(ms: number): void {
    if (this.attached) this.received.observe(ms / 1000);
  }

  confirmed(ms: number): void {
    if (this.attached) this.set.confirm.observe({ endpoint: this.source.id }, ms / 1000);
  }

  /** The registry in the Prometheus text format (with everything else registered in it). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The endpoint's series leave the registry (its histograms too, unless another open endpoint has the same id). */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    const { sources, handshake, record, confirm } = this.set;
    sources.delete(this.source);
    const id = this.source.id;
    if ([...sources].some((s) => s.id === id)) return;
    handshake.remove({ endpoint: id });
    confirm.remove({ endpoint: id });
    record.remove({ endpoint: id, direction: 'send' });
    record.remove({ endpoint: id, direction: 'receive' });
  }
}

/** The settle of a send timed from now: to the hand-over, or with `confirm` to the peer's acknowledgement. */
export function timedSettle(
  m: EndpointMetrics,
  confirm: boolean,
  resolve: () => void,
  reject: (e: unknown) => void,
): { resolve: () => void; reject: (e: unknown) => void } {
  const t0 = performance.now();
  return {
    resolve: () => {
      const ms = performance.now() - t0;
      if (confirm) m.confirmed(ms);
      else m.recordSent(ms);
      resolve();
    },
    reject,
  };
}
