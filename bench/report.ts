/** BENCHMARKS.md and the SVG plots, generated from one run's JSON. */
import type { BenchReport, Ratio, ResultRow } from './contract.js';
import { describeMachine } from './machine.js';
import { sizeLabel } from './options.js';
import { lineChart, type Series } from './svg.js';

const SIZES = [64, 256, 1024, 16 * 1024];

function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en');
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

function val(r: BenchReport, name: string): number | undefined {
  const x = r.results.find((y) => y.name === name);
  return x && 'value' in x ? x.value : undefined;
}

function cell(r: BenchReport, name: string): string {
  const x = r.results.find((y) => y.name === name);
  if (!x) return '–';
  return 'value' in x ? num(x.value) : `skipped: ${x.skipped}`;
}

/** Spread of a ratio's rounds around its median exceeds ±10 % (issue 19). */
export function wideSpread(x: Ratio): boolean {
  if (!('value' in x) || x.value === 0) return false;
  return Math.max(x.value - x.min, x.max - x.value) / Math.abs(x.value) > 0.1;
}

const SPREAD_FLAG = '⚠ spread > ±10 %';

function spreadText(x: Ratio): string {
  if (!('value' in x)) return '';
  if (x.rounds < 2) return ' (1 round)';
  return ` (${num(x.min)}–${num(x.max)}, ${x.rounds} rounds${wideSpread(x) ? `, ${SPREAD_FLAG}` : ''})`;
}

function ratioCell(x: Ratio | undefined): string {
  if (x === undefined) return '–';
  return 'value' in x ? `${num(x.value)}×${spreadText(x)}` : `skipped: ${x.skipped}`;
}

interface Target {
  readonly what: string;
  readonly goal: string;
  readonly value: (r: BenchReport) => number | Ratio | undefined;
  readonly ok: (v: number) => boolean;
  readonly unit: string;
  /** Appended to the measured value (e.g. that it was extrapolated). */
  readonly remark?: (r: BenchReport) => string;
}

const TARGETS: readonly Target[] = [
  ...[
    'mqtt_aedes_e2e_over_plain_integrity_256B',
    'mqtt_aedes_e2e_over_plain_confidentiality_256B',
    'mqtt_mosquitto_e2e_over_plain_confidentiality_256B',
    'amqp_rabbitmq_e2e_over_plain_confidentiality_256B',
    'xmpp_prosody_e2e_over_plain_confidentiality_256B',
  ].map(
    (k): Target => ({
      what: `E2E/plain throughput, ${k.replace(/_e2e_over_plain_/, ' ').replace(/_256B/, ', 256 B')}`,
      goal: '≥ 0.90',
      value: (r) => r.ratios[k],
      ok: (v) => v >= 0.9,
      unit: '×',
    }),
  ),
  {
    what: 'Handshakes/s over TLS 1.3 mutual (warm chain cache)',
    goal: '≥ 1.5×',
    value: (r) => r.ratios.handshakes_per_s_over_tls13_mutual,
    ok: (v) => v >= 1.5,
    unit: '×',
  },
  {
    what: 'Handshakes/s over TLS 1.3 mutual (cold chain cache)',
    goal: '≥ 1.5×',
    value: (r) => r.ratios.handshakes_per_s_over_tls13_mutual_cold_cache,
    ok: (v) => v >= 1.5,
    unit: '×',
  },
  {
    what: 'Integrity record over JWS ES256, msgs/s at 256 B',
    goal: '≥ 10×',
    value: (r) => r.ratios.record_over_jws_es256_msgs_per_s,
    ok: (v) => v >= 10,
    unit: '×',
  },
  {
    what: 'AEAD record overhead',
    goal: '≤ 32 B',
    value: (r) => val(r, 'record_overhead_bytes_confidentiality'),
    ok: (v) => v <= 32,
    unit: 'B',
  },
  ...(['integrity', 'confidentiality'] as const).map(
    (m): Target => ({
      what: `Framework overhead over the bare primitive, ${m}, node, 256 B`,
      goal: '≤ 50 %',
      value: (r) => val(r, `record_framework_overhead_pct_${m}_node_256B`),
      ok: (v) => v <= 50,
      unit: '%',
    }),
  ),
  {
    what: 'Memory per peer session on one endpoint (10k)',
    goal: '≤ 4096 B',
    value: (r) => val(r, 'memory_bytes_per_session_10k'),
    ok: (v) => v <= 4096,
    unit: 'B',
  },
  {
    what: '10k peers set up on one endpoint (wall clock)',
    goal: '≤ 30 s',
    value: (r) => val(r, 'sessions_10k_setup_s'),
    ok: (v) => v <= 30,
    unit: 's',
  },
  {
    what: '10k peers set up on one endpoint (CPU seconds)',
    goal: '≤ 30 s',
    value: (r) => val(r, 'sessions_10k_setup_cpu_s'),
    ok: (v) => v <= 30,
    unit: 's',
  },
  ...['mqtt_aedes', 'mqtt_mosquitto', 'amqp_rabbitmq', 'xmpp_prosody'].map(
    (b): Target => ({
      what: `p99 added latency at half load, ${b.replace('_', ' ')}, confidentiality (E2E p99 − plain p99)`,
      goal: '≤ 100 µs',
      value: (r) => val(r, `${b}_confidentiality_256B_added_p99_latency_us`),
      ok: (v) => v <= 100,
      unit: 'µs',
    }),
  ),
  ...['mqtt_aedes', 'mqtt_mosquitto', 'amqp_rabbitmq', 'xmpp_prosody'].map(
    (b): Target => ({
      what: `p99 added latency at half load, ${b.replace('_', ' ')}, confidentiality (hopsafe's own work, timed in the processes)`,
      goal: '≤ 100 µs',
      value: (r) => val(r, `${b}_confidentiality_256B_hopsafe_added_p99_latency_us`),
      ok: (v) => v <= 100,
      unit: 'µs',
    }),
  ),
];

function targetRows(r: BenchReport, targets: readonly Target[]): string[] {
  const out = ['| Target | Goal | Measured (median; min–max of the rounds) | |', '|---|---|---|---|'];
  for (const t of targets) {
    const x = t.value(r);
    if (x === undefined) {
      out.push(`| ${t.what} | ${t.goal} | not measured | – |`);
      continue;
    }
    if (typeof x !== 'number' && !('value' in x)) {
      out.push(`| ${t.what} | ${t.goal} | skipped: ${x.skipped} | – |`);
      continue;
    }
    const v = typeof x === 'number' ? x : x.value;
    const shown = `${num(v)} ${t.unit}${typeof x === 'number' ? '' : spreadText(x)}${t.remark?.(r) ?? ''}`;
    if (t.unit === 'µs' && v < 0) out.push(`| ${t.what} | ${t.goal} | ${shown} | within noise: E2E below plain in this run |`);
    else if (t.goal === 'reported') out.push(`| ${t.what} | ${t.goal} | ${shown} | – |`);
    else out.push(`| ${t.what} | ${t.goal} | ${shown} | ${t.ok(v) ? 'met' : '**missed**'} |`);
  }
  return out;
}

/** A measured row as a target value, its rounds as the spread. */
function rowRatio(r: BenchReport, name: string): Ratio | undefined {
  const x = r.results.find((y) => y.name === name);
  if (!x) return undefined;
  if (!('value' in x)) return { skipped: x.skipped };
  const rs = x.rounds && x.rounds.length > 0 ? x.rounds : [x.value];
  return { value: x.value, min: Math.min(x.value, ...rs), max: Math.max(x.value, ...rs), rounds: rs.length };
}

const SINGLE_BROKERS = ['mqtt_aedes', 'mqtt_mosquitto', 'amqp_rabbitmq', 'mqtt_mosquitto_qos0'] as const;

/** Issue 19: cost targets, each measured in the same run. */
const TARGETS_19: readonly Target[] = [
  {
    what: "hopsafe's own CPU per message, sending, confidentiality, coalescing off (median over broker rows)",
    goal: '≤ 3 µs',
    value: (r) => rowRatio(r, 'hopsafe_cpu_us_per_msg_send_confidentiality_256B'),
    ok: (v) => v <= 3,
    unit: 'µs',
  },
  {
    what: "hopsafe's own CPU per message, receiving, confidentiality, coalescing off (median over broker rows)",
    goal: '≤ 3 µs',
    value: (r) => rowRatio(r, 'hopsafe_cpu_us_per_msg_receive_confidentiality_256B'),
    ok: (v) => v <= 3,
    unit: 'µs',
  },
  ...SINGLE_BROKERS.map(
    (b): Target => ({
      what: `E2E/plain throughput, coalescing off, ${b.replace(/_/g, ' ')}`,
      goal: '≥ 0.90',
      value: (r) => r.ratios[`${b}_e2e_over_plain_confidentiality_single_256B`],
      ok: (v) => v >= 0.9,
      unit: '×',
    }),
  ),
  {
    what: 'Integrity record over bare HMAC ×2, 16 KiB (≥ 0.83 = overhead ≤ 20 %; frames in reused memory, as over every shipped transport)',
    goal: '≥ 0.83',
    value: (r) => r.ratios.record_integrity_over_bare_hmac_16KiB,
    ok: (v) => v >= 0.83,
    unit: '×',
    remark: (r) => {
      const f = r.ratios.record_integrity_fresh_frames_over_bare_hmac_16KiB;
      return f && 'value' in f ? `; with a fresh frame per record ${f.value.toFixed(2)}×` : '';
    },
  },
  {
    what: 'Handshakes per CPU-second over the crypto floor',
    goal: '≥ 0.60',
    value: (r) => r.ratios.handshakes_per_s_over_crypto_floor,
    ok: (v) => v >= 0.6,
    unit: '×',
  },
  {
    what: 'Handshakes/s over TLS 1.3 mutual (warm chain cache)',
    goal: '≥ 4×',
    value: (r) => r.ratios.handshakes_per_s_over_tls13_mutual,
    ok: (v) => v >= 4,
    unit: '×',
  },
  {
    what: 'Handshakes/s over TLS 1.3 mutual (cold chain cache)',
    goal: '≥ 3×',
    value: (r) => r.ratios.handshakes_per_s_over_tls13_mutual_cold_cache,
    ok: (v) => v >= 3,
    unit: '×',
  },
  {
    what: 'Memory per peer on one endpoint, 100 000 peers',
    goal: '≤ 2048 B',
    value: (r) => val(r, 'memory_bytes_per_session_100k'),
    ok: (v) => v <= 2048,
    unit: 'B',
    remark: (r) => {
      const x = r.results.find((y) => y.name === 'memory_bytes_per_session_100k');
      return x && 'note' in x && /EXTRAPOLATED/.test(x.note ?? '') ? ' (EXTRAPOLATED from a smaller run, see section 7)' : '';
    },
  },
  {
    what: 'hopsafe over plain TCP vs plain MQTT over TLS (private Mosquitto), coalescing off',
    goal: 'reported',
    value: (r) => r.ratios.mqtt_mosquitto_e2e_over_plain_tls_confidentiality_single_256B,
    ok: () => true,
    unit: '×',
  },
];

function notes(rows: readonly ResultRow[]): string {
  return rows
    .map(
      (x) =>
        `| \`${x.name}\` | ${'value' in x ? `${num(x.value)} ${x.unit}` : `skipped: ${x.skipped}`} | ${'note' in x && x.note ? x.note.replace(/\|/g, '\\|') : ''} |`,
    )
    .join('\n');
}

/** [issue 19] The comparison of separate full runs (`npm run bench:compare`), when the results carry one. */
function stabilitySection(r: BenchReport): string[] {
  const st = r.stability;
  if (!st) return [];
  const within = st.rows.filter((x) => x.deviationPct !== null && x.deviationPct <= st.tolerancePct);
  const L = [
    '## Run-to-run stability',
    '',
    `${st.runs.length} separate ${st.runs.every((x) => x.mode === 'full') ? 'full ' : ''}runs (${st.runs.map((x) => `${x.date}, ${num(x.durationS)} s`).join('; ')}; the last is this report).`,
    `Goal (issue 19): every run's median within ±${st.tolerancePct} % of the median of the runs' medians. **${within.length} of ${st.rows.length} rows are** — ${
      within.length === st.rows.length ? 'the goal is met' : 'the goal is not met for the rows marked ✗'
    }.`,
    '',
    `| Row | ${st.runs.map((_, i) => `Run ${i + 1}`).join(' | ')} | Largest deviation | |`,
    `|---|${st.runs.map(() => '---|').join('')}---|---|`,
  ];
  for (const x of st.rows) {
    const ok = x.deviationPct !== null && x.deviationPct <= st.tolerancePct;
    L.push(
      `| ${x.name} | ${x.medians.map((m) => (m === null ? '–' : num(m))).join(' | ')} | ${x.deviationPct === null ? 'missing in a run' : `${x.deviationPct.toFixed(1)} %`} | ${ok ? '✓' : '✗'} |`,
    );
  }
  L.push('');
  return L;
}

export function benchmarksMarkdown(r: BenchReport): string {
  const L: string[] = [];
  const by = (re: RegExp): ResultRow[] => r.results.filter((x) => re.test(x.name));
  L.push('# Benchmarks', '');
  L.push(
    `Generated by \`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\` on ${r.machine.date} in ${num(r.durationS)} s. Do not edit: rerun the bench.`,
    '',
  );
  L.push(`Machine: ${describeMachine(r.machine)}.`, '');
  L.push(
    'Every comparison below was measured side by side **in one run** on this machine; the competing variants were interleaved',
    'in rounds so that load changes hit them alike. Absolute numbers depend on the machine and its load; the ratios are the point.',
    'In-process rates (handshakes, records, JOSE, key update) are per **CPU-second** of the bench process (user + system, all',
    'threads), so that other load on a shared machine does not distort them; the wall-clock rates are in the notes. Broker',
    'throughput and latency are wall clock (several processes).',
    'Raw data: `bench/results/latest.json` in the source repository (not in the npm package).',
    '',
  );
  L.push('## Targets (issue 19)', '', ...targetRows(r, TARGETS_19), '');
  L.push('## Targets (issue 7)', '', ...targetRows(r, TARGETS), '');
  L.push(...stabilitySection(r));
  L.push(
    '## Ratios',
    '',
    'Each ratio is the median of per-round ratios: the two rows were measured in the same interleaved rounds (A, B, A, B, …), and',
    `round i of one is divided by round i of the other; the range is the min–max over the rounds. ${SPREAD_FLAG} marks a ratio whose`,
    'rounds stray more than 10 % from its median: its median is not to be trusted on this machine in this run. "1 round": a row measured once.',
    r.stability
      ? `Run-to-run reproducibility over ${r.stability.runs.length} separate runs: see *Run-to-run stability* below.`
      : 'Run-to-run reproducibility (three full runs within ±5 %) is not checked by a single run: `npm run bench:compare` compares the JSON of separate runs.',
    '',
    '| Ratio | Median | min–max | Rounds | |',
    '|---|---|---|---|---|',
  );
  for (const [k, v] of Object.entries(r.ratios))
    L.push(
      'value' in v
        ? `| \`${k}\` | ${num(v.value)}× | ${num(v.min)}–${num(v.max)} | ${v.rounds} | ${wideSpread(v) ? SPREAD_FLAG : ''} |`
        : `| \`${k}\` | skipped: ${v.skipped} | | | |`,
    );
  const wide = Object.entries(r.ratios).filter(([, v]) => wideSpread(v));
  L.push(
    '',
    wide.length
      ? `${wide.length} ratio(s) flagged: ${wide.map(([k]) => `\`${k}\``).join(', ')}.`
      : 'No ratio has a spread above ±10 % in this run.',
    '',
  );

  L.push('## 1. Handshakes per second (in-process, chain depth 2, P-256 identities)', '');
  L.push(
    '| Variant | Handshakes per CPU-second | Notes |',
    '|---|---|---|',
    notes(by(/^handshakes_per_s_|^tls13_mutual_handshakes_per_s$|^handshake_crypto_floor_|^handshake_cpu_us$/)),
    '',
  );

  L.push('## 2. Record protect + unprotect vs the bare primitive', '');
  const native = r.results.find((x) => x.name === 'native_aead_loaded');
  if (native && 'note' in native)
    L.push(
      `Providers: \`node\` is the default node provider as installed here — ${(native.note ?? '').split(';')[0]}. \`node_crypto\` is the same provider with \`native: false\` (node:crypto alone); \`noble\` is pure JS. Same bytes in all three (SPEC 4.4).`,
      '',
    );
  L.push('| Mode | Provider | Size | Record msgs/CPU-s | Bare primitive msgs/CPU-s | Framework overhead |', '|---|---|---|---|---|---|');
  for (const mode of ['integrity', 'confidentiality'])
    for (const p of ['node', 'node_crypto', 'noble'])
      for (const s of SIZES) {
        const z = sizeLabel(s);
        const bare = mode === 'integrity' ? `bare_hmac_sha256_x2_${p}_${z}_msgs_per_s` : `bare_aes128gcm_seal_open_${p}_${z}_msgs_per_s`;
        L.push(
          `| ${mode} | ${p} | ${z} | ${cell(r, `record_${mode}_${p}_${z}_msgs_per_s`)} | ${cell(r, bare)} | ${cell(r, `record_framework_overhead_pct_${mode}_${p}_${z}`)} % |`,
        );
      }
  L.push(
    '',
    `Record overhead: integrity ${cell(r, 'record_overhead_bytes_integrity')} B (header + HMAC-SHA256), confidentiality ${cell(r, 'record_overhead_bytes_confidentiality')} B (header + GCM tag).`,
    '',
  );

  L.push('## 3. Per message: hopsafe records vs JOSE', '');
  L.push(
    '| Size | Integrity record msgs/CPU-s | JWS ES256 msgs/CPU-s | × | JWS overhead B | AEAD record msgs/CPU-s | JWE ECDH-ES/A256GCM msgs/CPU-s | × | JWE overhead B |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const s of SIZES) {
    const z = sizeLabel(s);
    L.push(
      `| ${z} | ${cell(r, `jose_side_record_integrity_${z}_msgs_per_s`)} | ${cell(r, `jws_es256_${z}_msgs_per_s`)} | ${ratioCell(r.ratios[`record_over_jws_es256_msgs_per_s_${z}`])} | ${cell(r, `jws_es256_overhead_bytes_${z}`)} | ${cell(r, `jose_side_record_confidentiality_${z}_msgs_per_s`)} | ${cell(r, `jwe_ecdh_es_a256gcm_${z}_msgs_per_s`)} | ${ratioCell(r.ratios[`record_over_jwe_msgs_per_s_${z}`])} | ${cell(r, `jwe_ecdh_es_a256gcm_overhead_bytes_${z}`)} |`,
    );
  }
  L.push('');

  L.push('## 4. Session establishment over one MQTT broker (embedded aedes)', '');
  L.push('| Approach | Time to first protected message (median) | Round trips to it | Bytes on the wire to it |', '|---|---|---|---|');
  for (const [k, label] of [
    ['hopsafe_confidentiality', 'hopsafe, confidentiality (HS_INIT → HS_RESP → DATA)'],
    ['hopsafe_integrity', 'hopsafe, integrity (payload signed inside ClearToken1)'],
    ['tls13_mutual_over_mqtt', 'TLS 1.3 mutual, tunnelled through the broker (ATLS)'],
    ['plain_mqtt', 'no security'],
  ] as const)
    L.push(`| ${label} | ${cell(r, `ttfm_${k}_ms`)} ms | ${cell(r, `ttfm_${k}_round_trips`)} | ${cell(r, `ttfm_${k}_wire_bytes`)} |`);
  L.push(
    '',
    `hopsafe handshake: ${cell(r, 'handshake_round_trips')} round trip(s), ${cell(r, 'handshake_wire_bytes')} bytes (HS_INIT + HS_RESP).`,
    '',
  );

  L.push(
    '## 5. Key update',
    '',
    '| Variant | Value | Notes |',
    '|---|---|---|',
    notes(by(/^key_update_|^rehandshake_us$|^tls13_key_update/)),
    '',
  );

  L.push('## 6. End to end through each broker (256 B, QoS 1 unless marked qos0, publisher and subscriber in separate processes)', '');
  L.push(
    'Throughput at saturation, and at one fixed rate per broker (half the slowest plain maximum, the same for every lane): latency and',
    'the **CPU time per message** of the publisher and of the subscriber process (process.cpuUsage, user + system). "hopsafe CPU" is',
    "the lane's CPU per message minus its baseline lane's, per round: the honest cost of the protocol, far less noisy than throughput.",
    'Baselines: `confidentiality single` (coalescing off) against `plain`; the coalescing default modes against `plain batched`, a plain',
    "client batching payloads exactly as the endpoint coalesces records; `plain` is the user's unbatched baseline.",
    '',
  );
  L.push(
    '| Broker | Lane | msgs/s | E2E/plain | E2E/baseline | pub CPU µs/msg | sub CPU µs/msg | hopsafe CPU send µs | hopsafe CPU receive µs | p50 µs | p99 µs | added p50 µs | added p99 µs | hopsafe added p50 µs | hopsafe added p99 µs | set-up ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const b of [
    'mqtt_aedes',
    'mqtt_mosquitto',
    'amqp_rabbitmq',
    'xmpp_prosody',
    'nats_core',
    'nats_jetstream',
    'mqtt_aedes_qos0',
    'mqtt_mosquitto_qos0',
    'mqtt_mosquitto_private',
  ])
    for (const m of [
      'plain',
      'plain_batched',
      'integrity',
      'confidentiality',
      'confidentiality_single',
      'plain_tls',
      'confidentiality_single_tls',
    ]) {
      const k = `${b}_${m}_256B`;
      if (!r.results.some((x) => x.name.startsWith(`${k}_`))) continue;
      const hop = m.startsWith('plain') ? null : m;
      const baseline =
        m === 'integrity' || m === 'confidentiality' ? 'plain_batched' : m === 'confidentiality_single_tls' ? 'plain_tls' : 'plain';
      const vsBase =
        baseline === 'plain'
          ? ''
          : ratioCell(
              r.ratios[`${b}_e2e_over_${baseline}_${m.replace(/_tls$/, '')}_256B`] ??
                r.ratios[`${b.replace('_private', '_tls')}_e2e_over_plain_tls_${m.replace(/_tls$/, '')}_256B`],
            );
      const cpuOwn = (side: string): string =>
        hop
          ? cell(r, `${k}_hopsafe_cpu_us_per_msg_${side}`)
          : m === 'plain'
            ? '–'
            : `${cell(r, `${k}_added_cpu_us_per_msg_${side}`)} (added)`;
      L.push(
        `| ${b.replace(/_/g, ' ')} | ${m.replace(/_/g, ' ')} | ${cell(r, `${k}_msgs_per_s`)} | ${m === 'plain' ? '1' : ratioCell(r.ratios[`${b}_e2e_over_plain_${m}_256B`])} | ${vsBase || '–'} | ${cell(r, `${k}_publisher_cpu_us_per_msg`)} | ${cell(r, `${k}_subscriber_cpu_us_per_msg`)} | ${cpuOwn('send')} | ${cpuOwn('receive')} | ${cell(r, `${k}_p50_latency_us`)} | ${cell(r, `${k}_p99_latency_us`)} | ${cell(r, `${k}_added_p50_latency_us`)} | ${cell(r, `${k}_added_p99_latency_us`)} | ${hop ? cell(r, `${k}_hopsafe_added_p50_latency_us`) : '–'} | ${hop ? cell(r, `${k}_hopsafe_added_p99_latency_us`) : '–'} | ${cell(r, `${k}_setup_ms`)} |`,
      );
    }
  L.push(
    '',
    'Modes: while the broker lags (16 or more sends to the peer unacknowledged), hopsafe lets the records of a burst share broker messages',
    '(SPEC 3.7, default); `confidentiality single` is confidentiality with coalescing off (`coalesce: { maxRecords: 1 }`): one record per',
    'broker message, like the plain baseline. "hopsafe added" of the default modes includes the bounded wait of coalesced records.',
    'Latency: one way, publisher hrtime stamped in the payload, read by the subscriber (same machine, same monotonic clock), at half the plain maximum rate.',
    '"added" = the lane\'s percentile − its baseline lane\'s (plain, or plain batched for the coalescing modes) through the broker (includes broker and scheduling noise of both).',
    '"hopsafe added" = hopsafe\'s own work per message, timed directly in the two processes at the same rate: publisher from the',
    '`endpoint.send()` call to the protected frame handed to the transport, plus subscriber from the transport delivering the frame',
    'to the `message` event (the transport object given to the endpoint is wrapped; no broker time is included).',
    '',
  );
  L.push('| Measure | Value | Notes |', '|---|---|---|', notes(by(/_hopsafe_(added|publisher|subscriber)_p\d+_latency_us$/)), '');

  L.push('## 6b. Hop-by-hop TLS to the broker as the baseline (private Mosquitto started by the bench)', '');
  L.push(
    "One Mosquitto process of the bench's own (temp config and dir, free ports) with a plain TCP listener and a TLS listener that",
    'requires a client certificate (mutual TLS; certificates made with the openssl CLI). The lanes run interleaved over the same broker:',
    'plain MQTT over TCP, plain MQTT over TLS (what a user would choose instead of hopsafe), hopsafe (confidentiality, coalescing off)',
    "over plain TCP, and hopsafe over TLS. Set-up = the publisher's connect (+ TLS handshake) and subscribe, plus its first send",
    "settling (for hopsafe: after the end-to-end handshake through the broker). RabbitMQ's TLS listener is not measured: enabling it",
    'means reconfiguring the system RabbitMQ, which the bench never touches.',
    '',
    '| Lane | msgs/s | over plain TLS | pub CPU µs/msg | sub CPU µs/msg | p50 µs | p99 µs | set-up ms |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const [m, label] of [
    ['plain', 'plain MQTT over TCP'],
    ['plain_tls', 'plain MQTT over TLS'],
    ['confidentiality_single', 'hopsafe over plain TCP'],
    ['confidentiality_single_tls', 'hopsafe over TLS'],
  ] as const) {
    const k = `mqtt_mosquitto_private_${m}_256B`;
    const over =
      m === 'confidentiality_single'
        ? ratioCell(r.ratios.mqtt_mosquitto_e2e_over_plain_tls_confidentiality_single_256B)
        : m === 'confidentiality_single_tls'
          ? ratioCell(r.ratios.mqtt_mosquitto_tls_e2e_over_plain_tls_confidentiality_single_256B)
          : m === 'plain_tls'
            ? '1'
            : '–';
    L.push(
      `| ${label} | ${cell(r, `${k}_msgs_per_s`)} | ${over} | ${cell(r, `${k}_publisher_cpu_us_per_msg`)} | ${cell(r, `${k}_subscriber_cpu_us_per_msg`)} | ${cell(r, `${k}_p50_latency_us`)} | ${cell(r, `${k}_p99_latency_us`)} | ${cell(r, `${k}_setup_ms`)} |`,
    );
  }
  L.push('');

  L.push(
    '## 7. Scale',
    '',
    '| Measure | Value | Notes |',
    '|---|---|---|',
    notes(by(/^memory_|^sessions_|^session_state_|^responder_/)),
    '',
  );
  L.push('## 8. Handshake flood', '', '| Measure | Value | Notes |', '|---|---|---|', notes(by(/^flood_/)), '');
  L.push('## 9. Bridge (issue 6)', '', '| Measure | Value | Notes |', '|---|---|---|', notes(by(/^bridge_/)), '');
  const groupRows = by(/^groups_(aedes|mosquitto)_/).filter((x) => x.name.endsWith('_delivered_per_s'));
  if (groupRows.length > 0) {
    L.push(
      '## 10. Groups: 1 → N fan-out (issue 20, SPEC 13)',
      '',
      "One publisher, N readers, 256 B, QoS 1, 32 messages in flight, 3 interleaved rounds (median [min–max]); the publisher and the readers in two processes (aedes in a third), all on this machine's cores, so the delivered rate is bounded by their sum. Publisher-bound: N / publisher CPU per application message, the rate when only the publisher's CPU bounds it (readers on other machines).",
      '',
      '| Broker | N | Lane | Delivered msgs/s (all readers) | × plain | Publisher-bound msgs/s | × plain (publisher-bound) | Publisher CPU µs per message | Reader CPU µs per delivery | Broker msgs per message | All processes CPU µs per message |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const b of ['aedes', 'mosquitto'])
      for (const n of [1, 10, 100])
        for (const lane of ['plain', 'group_nosig', 'group_sig', 'pairwise']) {
          const k = `groups_${b}_${lane}_n${n}`;
          if (!r.results.some((x) => x.name === `${k}_delivered_per_s`)) continue;
          const over = lane === 'plain' ? '1' : ratioCell(r.ratios[`groups_${b}_${lane}_over_plain_n${n}`]);
          const overBound = lane === 'plain' ? '1' : ratioCell(r.ratios[`groups_${b}_${lane}_over_plain_publisher_bound_n${n}`]);
          L.push(
            `| ${b} | ${n} | ${lane} | ${cell(r, `${k}_delivered_per_s`)} | ${over} | ${cell(r, `${k}_publisher_bound_delivered_per_s`)} | ${overBound} | ${cell(r, `${k}_publisher_cpu_us_per_msg`)} | ${cell(r, `${k}_reader_cpu_us_per_delivery`)} | ${cell(r, `${k}_broker_msgs_per_msg`)} | ${cell(r, `${k}_process_cpu_us_per_msg`)} |`,
          );
        }
    L.push('', '| Measure | Value | Notes |', '|---|---|---|', notes(by(/^groups_publisher_cpu_/)), '');
  }
  L.push(
    '## Plots',
    '',
    'Throughput vs payload size: `bench/results/throughput.svg`; latency CDF: `bench/results/latency-cdf.svg` (in the source repository, not in the npm package).',
    '',
  );
  return L.join('\n');
}

export function throughputSvg(r: BenchReport): string {
  const line = (name: string, key: (z: string) => string): Series => ({
    name,
    points: SIZES.map((s) => [s, val(r, key(sizeLabel(s))) ?? Number.NaN] as const),
  });
  return lineChart(
    [
      line('record integrity (node)', (z) => `record_integrity_node_${z}_msgs_per_s`),
      line('record AEAD (node)', (z) => `record_confidentiality_node_${z}_msgs_per_s`),
      line('bare HMAC ×2 (node)', (z) => `bare_hmac_sha256_x2_node_${z}_msgs_per_s`),
      line('bare AES-GCM seal+open (node)', (z) => `bare_aes128gcm_seal_open_node_${z}_msgs_per_s`),
      line('record AEAD (node:crypto only)', (z) => `record_confidentiality_node_crypto_${z}_msgs_per_s`),
      line('record integrity (noble)', (z) => `record_integrity_noble_${z}_msgs_per_s`),
      line('record AEAD (noble)', (z) => `record_confidentiality_noble_${z}_msgs_per_s`),
      line('JWS ES256 (jose)', (z) => `jws_es256_${z}_msgs_per_s`),
      line('JWE ECDH-ES+A256GCM (jose)', (z) => `jwe_ecdh_es_a256gcm_${z}_msgs_per_s`),
    ],
    {
      title: 'Protect + verify throughput vs payload size',
      xLabel: 'payload size',
      yLabel: 'messages / s (log)',
      logX: true,
      logY: true,
      xTicks: SIZES.map((s) => [s, sizeLabel(s)] as const),
    },
  );
}

export function latencySvg(r: BenchReport): string {
  const series = Object.entries(r.latencyCdf ?? {}).map(([name, points]) => ({ name, points }));
  return lineChart(series, {
    title: 'One-way latency CDF at half the plain maximum rate (256 B)',
    xLabel: 'latency µs (log)',
    yLabel: 'fraction ≤ x',
    logX: true,
  });
}
