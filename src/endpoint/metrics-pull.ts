/**
 * prom-client counters and gauges whose values are read when the registry is collected (a scrape), from counts kept
 * elsewhere (an endpoint's or a bridge's stats): nothing is done per event for them. Used by ./metrics.ts and
 * ../bindings/bridge-metrics.ts.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { HopsafeError } from '../errors/index.js';

export type Add<L extends string> = (labels: Partial<Record<L, string>>, value: number) => void;

/** A counter or gauge set afresh at every collection by `fill` (values of equal label sets add up). */
export function pulled<L extends string>(
  kind: 'counter' | 'gauge',
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  fill: (add: Add<L>) => void,
): void {
  const config = { name, help, labelNames: [...labelNames], registers: [registry] };
  if (kind === 'counter')
    new Counter<L>({
      ...config,
      collect() {
        this.reset();
        fill((l, v) => this.inc(l, v));
      },
    });
  else
    new Gauge<L>({
      ...config,
      collect() {
        this.reset();
        fill((l, v) => this.inc(l, v));
      },
    });
}

/** Refuses names already in `registry` before any is registered (prom-client would throw half way). */
export function assertFree(registry: Registry, names: readonly string[]): void {
  for (const n of names)
    if (registry.getSingleMetric(n))
      throw new HopsafeError('ERR_CONFIG', `metrics: ${n} is already registered in this registry (choose another metrics.prefix)`);
}

/** A Registry, also of another copy of prom-client (the application's): they work the same way. */
export function isRegistry(v: unknown): v is Registry {
  return (
    typeof v === 'object' &&
    v !== null &&
    ['registerMetric', 'getSingleMetric', 'metrics', 'removeSingleMetric'].every(
      (k) => typeof (v as Record<string, unknown>)[k] === 'function',
    )
  );
}

/** [a-zA-Z_:][a-zA-Z0-9_:]* or empty. */
export const PREFIX_PATTERN = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;

/**
 * Memoizes `read` for one collection: registry.metrics() collects every metric in one synchronous pass, so all of
 * them see the same reading (taken again at the next collection).
 */
export function perCollection<T>(read: () => T): () => T {
  let value: { v: T } | undefined;
  return () => {
    if (!value) {
      value = { v: read() };
      queueMicrotask(() => (value = undefined));
    }
    return value.v;
  };
}
