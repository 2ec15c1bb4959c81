/** What one bench run measures and for how long. */
export interface BenchOptions {
  readonly quick: boolean;
  /** Multiplies every time budget (the smoke test uses a tiny one). */
  readonly scale: number;
  /** Time budget of one rate measurement (ms). */
  readonly rateMs: number;
  /** Duration of one E2E throughput or latency phase (ms). */
  readonly e2eMs: number;
  /** Sessions in the scale benchmark. */
  readonly sessions: number;
  /** Iterations of session establishment over MQTT per approach. */
  readonly establishRuns: number;
  /** Offered handshake-flood rates (frames/s). */
  readonly floodRates: readonly number[];
  /** Payload sizes of the per-message benchmarks. */
  readonly sizes: readonly number[];
  /** E2E: only these broker rows (`mqtt_aedes`, `nats_core`, …; `--e2e`); default all. */
  readonly e2eTargets?: readonly string[];
}

export function benchOptions(quick: boolean, scale = 1): BenchOptions {
  const s = (x: number): number => Math.max(1, Math.round(x * scale));
  return {
    quick,
    scale,
    rateMs: s(quick ? 100 : 1000),
    e2eMs: s(quick ? 900 : 4000),
    sessions: quick ? Math.max(48, 16 * Math.round((500 * scale) / 16)) : 100_000,
    establishRuns: Math.max(2, Math.round((quick ? 5 : 20) * Math.min(1, scale))),
    floodRates: quick ? [250, 1_000] : [100, 250, 500, 1_000, 2_000, 5_000],
    sizes: [64, 256, 1024, 16 * 1024],
  };
}

export const sizeLabel = (n: number): string => (n >= 1024 ? `${n / 1024}KiB` : `${n}B`);
