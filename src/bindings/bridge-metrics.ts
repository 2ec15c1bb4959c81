/**
 * Prometheus metrics of a bridge (`createBridge({ metrics })`), read from `bridge.stats()` when the registry is
 * collected: nothing is done per forwarded frame. Bridges given the same registry (and prefix) share the metric
 * objects, one series per bridge (label `bridge` = `metrics.name`). [SPEC 8.5]
 */
import { Registry } from 'prom-client';
import { z } from 'zod';
import { HopsafeError } from '../errors/index.js';
import { assertFree, isRegistry, perCollection, pulled, PREFIX_PATTERN } from '../endpoint/metrics-pull.js';
import type { BridgeStats } from './bridge.js';

/**
 * Where a bridge's Prometheus metrics go (the `metrics` option of {@link BridgeOptions}; `true` means all defaults).
 * They are read from `bridge.stats()` when the registry is collected. [SPEC 8.5]
 */
export interface BridgeMetricsOptions {
  /** prom-client Registry to register in (e.g. the application's). Default: one of the bridge's own (`bridge.metrics()`). */
  readonly registry?: Registry;
  /** Prefix of every metric name. Default `hopsafe_`. */
  readonly prefix?: string;
  /** Value of the `bridge` label. Default `bridge`. */
  readonly name?: string;
}

const schema = z
  .object({
    registry: z.custom<Registry>((v) => v instanceof Registry || isRegistry(v), 'must be a prom-client Registry').optional(),
    prefix: z.string().max(64).regex(PREFIX_PATTERN, 'must be a Prometheus metric name prefix').optional(),
    name: z.string().min(1).max(64).optional(),
  })
  .strict();

/** `true` or an object: on; `false`/absent: off. */
export function parseBridgeMetricsOptions(input: unknown): BridgeMetricsOptions | undefined {
  if (input === undefined || input === false) return undefined;
  if (input === true) return {};
  const r = schema.safeParse(input);
  if (!r.success)
    throw new HopsafeError(
      'ERR_CONFIG',
      `bridge: ${r.error.issues.map((i) => `${['metrics', ...i.path].join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data as BridgeMetricsOptions;
}

interface Source {
  readonly name: string;
  stats(): BridgeStats;
}

const NAMES = ['bridge_frames_forwarded_total', 'bridge_frames_dropped_total', 'bridge_bytes_forwarded_total', 'bridge_proxies'] as const;
const sets = new WeakMap<Registry, Map<string, { sources: Set<Source>; probe: unknown }>>();

function sourcesFor(registry: Registry, p: string): Set<Source> {
  let byPrefix = sets.get(registry);
  if (!byPrefix) sets.set(registry, (byPrefix = new Map()));
  const existing = byPrefix.get(p);
  if (existing && registry.getSingleMetric(`${p}bridge_proxies`) === existing.probe) return existing.sources;
  assertFree(
    registry,
    NAMES.map((n) => p + n),
  );
  const sources = new Set<Source>();
  const snapshot = perCollection(() => [...sources].map((s) => ({ name: s.name, st: s.stats() })));
  pulled(
    'counter',
    registry,
    `${p}bridge_frames_forwarded_total`,
    'Frames forwarded, by the side they arrived on.',
    ['bridge', 'side'],
    (add) => {
      for (const { name, st } of snapshot()) for (const [side, v] of Object.entries(st.perSide)) add({ bridge: name, side }, v.forwarded);
    },
  );
  pulled(
    'counter',
    registry,
    `${p}bridge_frames_dropped_total`,
    'Frames not forwarded, by reason: tap (an interceptor dropped it), unroutable (sender not on the side it came from), failed (the target side refused the send), oversize.',
    ['bridge', 'reason'],
    (add) => {
      for (const { name, st } of snapshot()) {
        add({ bridge: name, reason: 'tap' }, st.dropped);
        add({ bridge: name, reason: 'unroutable' }, st.unroutable);
        add({ bridge: name, reason: 'failed' }, st.failed);
        add({ bridge: name, reason: 'oversize' }, st.oversize);
      }
    },
  );
  pulled('counter', registry, `${p}bridge_bytes_forwarded_total`, 'Bytes forwarded.', ['bridge'], (add) => {
    for (const { name, st } of snapshot()) add({ bridge: name }, st.bytes);
  });
  pulled(
    'gauge',
    registry,
    `${p}bridge_proxies`,
    'Proxy transports open (one per bridged id on every side it does not live on).',
    ['bridge'],
    (add) => {
      for (const { name, st } of snapshot()) add({ bridge: name }, st.proxies);
    },
  );
  byPrefix.set(p, { sources, probe: registry.getSingleMetric(`${p}bridge_proxies`) });
  return sources;
}

/** Registers a bridge's metrics; `detach` removes its series. */
export function attachBridgeMetrics(o: BridgeMetricsOptions, stats: () => BridgeStats): { registry: Registry; detach(): void } {
  const registry = o.registry ?? new Registry();
  const sources = sourcesFor(registry, o.prefix ?? 'hopsafe_');
  const source: Source = { name: o.name ?? 'bridge', stats };
  sources.add(source);
  return { registry, detach: () => void sources.delete(source) };
}
