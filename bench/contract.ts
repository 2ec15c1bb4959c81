/** The JSON contract of `npm run bench -- --out FILE` (issue 7), validated with zod before it is written. */
import { z } from 'zod';

export const measuredRowSchema = z.object({
  name: z.string().min(1),
  unit: z.string().min(1),
  value: z.number().finite(),
  /** What was measured, in words (shown in BENCHMARKS.md). */
  note: z.string().optional(),
  /** Per-round values when the row was measured in interleaved rounds (`value` is then their median). */
  rounds: z.array(z.number().finite()).optional(),
});
export const skippedRowSchema = z.object({
  name: z.string().min(1),
  skipped: z.string().min(1),
});
export const resultRowSchema = z.union([measuredRowSchema, skippedRowSchema]);
/**
 * A ratio: the median of the per-round ratios of its two rows (interleaved rounds, issue 19) with their spread;
 * `rounds` 1 when a row was measured once (then min = max = value).
 */
export const measuredRatioSchema = z
  .object({ value: z.number().finite(), min: z.number().finite(), max: z.number().finite(), rounds: z.number().int().positive() })
  .refine((r) => r.min <= r.value && r.value <= r.max, 'min ≤ value ≤ max');
export const ratioSchema = z.union([measuredRatioSchema, z.object({ skipped: z.string().min(1) })]);

export const machineSchema = z.object({
  cpu: z.string(),
  cores: z.number().int().positive(),
  memoryBytes: z.number().positive(),
  os: z.string(),
  node: z.string(),
  openssl: z.string(),
  v8: z.string(),
  date: z.string(),
});

/** Ratio keys every run must carry (a number, or `{ skipped }` with the reason). */
export const REQUIRED_RATIOS = [
  'mqtt_aedes_e2e_over_plain_integrity_256B',
  'mqtt_aedes_e2e_over_plain_confidentiality_256B',
  'mqtt_mosquitto_e2e_over_plain_confidentiality_256B',
  'amqp_rabbitmq_e2e_over_plain_confidentiality_256B',
  'xmpp_prosody_e2e_over_plain_confidentiality_256B',
  'handshakes_per_s_over_tls13_mutual',
  'time_to_first_message_tls13_over_hopsafe',
  'record_over_jws_es256_msgs_per_s',
  // issue 19
  'mqtt_aedes_e2e_over_plain_confidentiality_single_256B',
  'mqtt_mosquitto_e2e_over_plain_confidentiality_single_256B',
  'amqp_rabbitmq_e2e_over_plain_confidentiality_single_256B',
  'mqtt_mosquitto_qos0_e2e_over_plain_confidentiality_single_256B',
  'handshakes_per_s_over_crypto_floor',
  'handshakes_per_s_over_tls13_mutual_cold_cache',
  'record_integrity_over_bare_hmac_16KiB',
  'mqtt_mosquitto_e2e_over_plain_tls_confidentiality_single_256B',
] as const;

/** Result names every run must carry (measured or skipped). */
export const REQUIRED_RESULTS = [
  'record_overhead_bytes_confidentiality',
  'record_overhead_bytes_integrity',
  'handshake_round_trips',
  'memory_bytes_per_session_10k',
  'sessions_10k_setup_s',
  // issue 19
  'hopsafe_cpu_us_per_msg_send_confidentiality_256B',
  'hopsafe_cpu_us_per_msg_receive_confidentiality_256B',
  'memory_bytes_per_session_100k',
] as const;

/**
 * Run-to-run reproducibility (issue 19): the medians of the same rows in several full runs, and whether every run's
 * median lies within ±5 % of the median of the runs' medians. Written by `npm run bench:compare`.
 */
export const stabilitySchema = z.object({
  runs: z.array(z.object({ date: z.string(), durationS: z.number(), mode: z.enum(['quick', 'full']) })).min(2),
  tolerancePct: z.number().positive(),
  rows: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(['ratio', 'result']),
      medians: z.array(z.number().nullable()),
      /** Largest deviation of one run's median from the median of the medians, %. Null when a run lacks the row. */
      deviationPct: z.number().nullable(),
    }),
  ),
});

export const benchReportSchema = z
  .object({
    machine: machineSchema,
    mode: z.enum(['quick', 'full']),
    durationS: z.number().nonnegative(),
    results: z.array(resultRowSchema),
    ratios: z.record(z.string(), ratioSchema),
    /** Latency samples (µs, ascending, down-sampled) for the CDF plot, per series. */
    latencyCdf: z.record(z.string(), z.array(z.tuple([z.number(), z.number()]))).optional(),
    stability: stabilitySchema.optional(),
  })
  .superRefine((r, ctx) => {
    for (const k of REQUIRED_RATIOS)
      if (!(k in r.ratios)) ctx.addIssue({ code: 'custom', message: `missing ratio ${k}`, path: ['ratios', k] });
    const names = new Set(r.results.map((x) => x.name));
    for (const k of REQUIRED_RESULTS)
      if (!names.has(k)) ctx.addIssue({ code: 'custom', message: `missing result ${k}`, path: ['results'] });
    if (names.size !== r.results.length) ctx.addIssue({ code: 'custom', message: 'duplicate result names', path: ['results'] });
  });

export type MeasuredRow = z.infer<typeof measuredRowSchema>;
export type SkippedRow = z.infer<typeof skippedRowSchema>;
export type ResultRow = z.infer<typeof resultRowSchema>;
export type Ratio = z.infer<typeof ratioSchema>;
export type MeasuredRatio = z.infer<typeof measuredRatioSchema>;
export type BenchReport = z.infer<typeof benchReportSchema>;
export type Stability = z.infer<typeof stabilitySchema>;
