/**
 * The browser bundle's stand-in for src/endpoint/metrics.ts: Prometheus metrics (prom-client, Node-only) are not
 * available in the browser, so prom-client never reaches the bundle. Metrics off (the default) behaves as in Node;
 * `metrics: true | {…}` is ERR_UNSUPPORTED. The bundler maps src/endpoint/metrics.ts here (scripts/build-browser.mjs).
 */
import { HopsafeError } from '../../errors/index.js';
import type { EndpointMetrics as NodeEndpointMetrics, MetricsOptions } from '../../endpoint/metrics.js';

export type { MetricsOptions } from '../../endpoint/metrics.js';

/** `metrics` of the endpoint options: only off (false / absent) in the browser. */
export function parseMetricsOptions(input: unknown): MetricsOptions | undefined {
  if (input === undefined || input === false) return undefined;
  throw new HopsafeError('ERR_UNSUPPORTED', 'metrics (prom-client) are not available in the browser bundle');
}

/** Never constructed: parseMetricsOptions refuses every metrics option. */
export class EndpointMetrics {
  constructor() {
    throw new HopsafeError('ERR_UNSUPPORTED', 'metrics (prom-client) are not available in the browser bundle');
  }
}

/** Never called (there is no EndpointMetrics): the plain settle. */
export function timedSettle(
  _m: NodeEndpointMetrics,
  _confirm: boolean,
  resolve: () => void,
  reject: (e: unknown) => void,
): { resolve: () => void; reject: (e: unknown) => void } {
  return { resolve, reject };
}
