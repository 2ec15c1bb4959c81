/**
 * Smoke test of the benchmarks (`npm run bench`): the quick bench on a tiny budget (a subset: handshake, record,
 * establishment over aedes, scale in a child), then the JSON contract of issue 7 validated with zod. Plus the helpers the
 * numbers depend on (ratios, percentiles, the SVG writer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../bench/main.js';
import { benchReportSchema, REQUIRED_RATIOS, REQUIRED_RESULTS } from '../../bench/contract.js';
import { Collector } from '../../bench/collector.js';
import { percentile, cdfPoints } from '../../bench/measure.js';
import { lineChart } from '../../bench/svg.js';
import { benchmarksMarkdown, latencySvg, throughputSvg } from '../../bench/report.js';
import { requireOrSkip } from '../support/services.js';
import { NATS_SERVICE, natsAvailable } from '../support/nats.js';

test('quick bench on a tiny budget (handshake, record, establish, scale) writes a report that satisfies the JSON contract', {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-bench-'));
  try {
    const out = join(dir, 'r.json');
    const code = await run(['--quick', '--scale', '0.05', '--only', 'handshake,record,establish,scale', '--out', out, '--quiet']);
    assert.equal(code, 0);
    const report = benchReportSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    for (const k of REQUIRED_RATIOS) assert.ok(k in report.ratios, `ratio ${k}`);
    const names = new Map(report.results.map((r) => [r.name, r]));
    for (const k of REQUIRED_RESULTS) assert.ok(names.has(k), `result ${k}`);
    assert.equal(report.mode, 'quick');
    // Benchmarks that ran produced numbers; no benchmark failed.
    assert.deepEqual(
      report.results.filter((r) => r.name.startsWith('bench_') && r.name.endsWith('_failed')),
      [],
    );
    // Measured in-process: numbers (a median with its spread), never skipped.
    for (const k of [
      'handshakes_per_s_over_tls13_mutual',
      'handshakes_per_s_over_tls13_mutual_cold_cache',
      'handshakes_per_s_over_crypto_floor',
      'record_integrity_over_bare_hmac_16KiB',
      'time_to_first_message_tls13_over_hopsafe',
    ]) {
      const v = report.ratios[k];
      assert.ok(v && 'value' in v && v.value > 0 && v.min <= v.value && v.value <= v.max, `${k}: ${JSON.stringify(v)}`);
    }
    const floor = names.get('handshake_crypto_floor_per_s');
    assert.ok(
      floor && 'value' in floor && /sign×2/.test(floor.note ?? '') && /verify×/.test(floor.note ?? ''),
      'the floor names the operations it replays',
    );
    const resp = names.get('responder_cpu_us_per_handshake');
    assert.ok(resp && 'value' in resp && resp.value > 0, 'responder CPU per handshake');
    const rt = names.get('handshake_round_trips');
    assert.ok(rt && 'value' in rt && rt.value === 1, 'the broker saw one handshake round trip');
    const oc = names.get('record_overhead_bytes_confidentiality');
    assert.ok(oc && 'value' in oc && oc.value > 16 && oc.value <= 64);
    // The broker rows were not selected: skipped with the reason, never a number.
    const e2e = report.ratios.mqtt_aedes_e2e_over_plain_confidentiality_256B;
    assert.ok(e2e && 'skipped' in e2e && /--only/.test(e2e.skipped));
    // The scale row at this budget is an extrapolation and says so.
    for (const k of ['sessions_10k_setup_s', 'memory_bytes_per_session_10k', 'memory_bytes_per_session_100k']) {
      const row = names.get(k);
      assert.ok(row && 'value' in row && /EXTRAPOLATED/.test(row.note ?? ''), `${k} is labelled as extrapolated`);
    }
    // The report renderers accept it.
    assert.match(benchmarksMarkdown(report), /## Targets/);
    assert.match(throughputSvg(report), /^<svg[\s\S]*<\/svg>$/);
    assert.match(latencySvg(report), /no data in this run/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const E2E_RATIOS = [
  'mqtt_aedes_e2e_over_plain_confidentiality_single_256B',
  'mqtt_mosquitto_e2e_over_plain_confidentiality_single_256B',
  'amqp_rabbitmq_e2e_over_plain_confidentiality_single_256B',
  'mqtt_mosquitto_qos0_e2e_over_plain_confidentiality_single_256B',
  'mqtt_mosquitto_e2e_over_plain_tls_confidentiality_single_256B',
];

test('quick E2E bench on a small budget: every broker ratio of issue 19 from 3 interleaved rounds, CPU per message, the TLS baseline', {
  timeout: 300_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-bench-e2e-'));
  try {
    const out = join(dir, 'r.json');
    const code = await run(['--quick', '--scale', '0.3', '--only', 'e2e', '--out', out, '--quiet']);
    assert.equal(code, 0);
    const report = benchReportSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    const names = new Map(report.results.map((r) => [r.name, r]));
    assert.deepEqual(
      report.results.filter((r) => r.name === 'bench_e2e_failed'),
      [],
    );
    for (const k of E2E_RATIOS) {
      const v = report.ratios[k];
      assert.ok(v, `ratio ${k} present`);
      // A broker that is not reachable here is skipped with its reason; a measured ratio has three rounds.
      if ('value' in v) assert.ok(v.rounds === 3 && v.min <= v.value && v.value <= v.max, `${k}: ${JSON.stringify(v)}`);
      else assert.ok(v.skipped.length > 0 && !/--only/.test(v.skipped), `${k}: ${v.skipped}`);
    }
    // aedes is embedded: always measured. Its coalescing-off lane has CPU per message on both sides, against plain.
    const aedes = report.ratios.mqtt_aedes_e2e_over_plain_confidentiality_single_256B;
    assert.ok(aedes && 'value' in aedes, 'aedes measured');
    for (const side of ['publisher', 'subscriber']) {
      const row = names.get(`mqtt_aedes_confidentiality_single_256B_${side}_cpu_us_per_msg`);
      assert.ok(row && 'value' in row && row.value > 0 && row.rounds?.length === 3, `${side} CPU per message`);
    }
    for (const k of ['hopsafe_cpu_us_per_msg_send_confidentiality_256B', 'hopsafe_cpu_us_per_msg_receive_confidentiality_256B']) {
      const row = names.get(k);
      assert.ok(row && 'value' in row && /mqtt_aedes/.test(row.note ?? ''), `${k} measured over the broker rows`);
    }
    // The coalescing modes are compared with the plain lane that batches the same way, and still with plain.
    assert.ok('mqtt_aedes_e2e_over_plain_batched_confidentiality_256B' in report.ratios);
    assert.ok('mqtt_aedes_e2e_over_plain_confidentiality_256B' in report.ratios);
    const md = benchmarksMarkdown(report);
    assert.match(md, /## 6b\. Hop-by-hop TLS/);
    assert.match(md, /pub CPU µs\/msg/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--e2e selects broker rows: core NATS and JetStream measured in 3 rounds, the other brokers skipped naming --e2e; an unknown row is exit 2', {
  timeout: 180_000,
}, async (t) => {
  assert.equal(await run(['--only', 'e2e', '--e2e', 'nats_nope', '--quiet']), 2);
  if (!requireOrSkip(t, NATS_SERVICE, await natsAvailable())) return;
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-bench-nats-'));
  try {
    const out = join(dir, 'r.json');
    const code = await run(['--quick', '--scale', '0.2', '--only', 'e2e', '--e2e', 'nats_core,nats_jetstream', '--out', out, '--quiet']);
    assert.equal(code, 0);
    const report = benchReportSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
    const names = new Map(report.results.map((r) => [r.name, r]));
    for (const b of ['nats_core', 'nats_jetstream']) {
      for (const lane of ['plain', 'confidentiality_single']) {
        const row = names.get(`${b}_${lane}_256B_msgs_per_s`);
        assert.ok(row && 'value' in row && row.value > 0, `${b} ${lane} measured`);
      }
      const v = report.ratios[`${b}_e2e_over_plain_confidentiality_single_256B`];
      assert.ok(v && 'value' in v && v.rounds === 3, `${b}: ${JSON.stringify(v)}`);
      const cpu = names.get(`${b}_confidentiality_single_256B_subscriber_cpu_us_per_msg`);
      assert.ok(cpu && 'value' in cpu && cpu.value > 0, `${b} CPU per message`);
    }
    const aedes = report.ratios.mqtt_aedes_e2e_over_plain_confidentiality_256B;
    assert.ok(aedes && 'skipped' in aedes && /--e2e nats_core,nats_jetstream/.test(aedes.skipped));
    assert.match(benchmarksMarkdown(report), /nats_core/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('contract: a skipped row carries a reason, never a number; missing required keys fail', () => {
  assert.equal(benchReportSchema.safeParse({ machine: {}, results: [], ratios: {} }).success, false);
  const base = {
    machine: { cpu: 'x', cores: 2, memoryBytes: 1, os: 'l', node: '20', openssl: '3', v8: '1', date: 'd' },
    mode: 'quick',
    durationS: 1,
    results: REQUIRED_RESULTS.map((name) => ({ name, skipped: 'absent' })),
    ratios: Object.fromEntries(REQUIRED_RATIOS.map((k) => [k, { skipped: 'absent' }])),
  };
  assert.equal(benchReportSchema.safeParse(base).success, true);
  assert.equal(benchReportSchema.safeParse({ ...base, results: [...base.results, { name: 'x', skipped: '' }] }).success, false);
  assert.equal(
    benchReportSchema.safeParse({ ...base, results: [...base.results, { name: 'y', unit: 'u', value: Number.NaN }] }).success,
    false,
  );
  const { handshakes_per_s_over_tls13_mutual: _, ...fewer } = base.ratios;
  assert.equal(benchReportSchema.safeParse({ ...base, ratios: fewer }).success, false);
  // A measured ratio carries its spread: a bare number, or a median outside [min, max], is rejected.
  const ok = { value: 1, min: 0.9, max: 1.2, rounds: 3 };
  assert.equal(benchReportSchema.safeParse({ ...base, ratios: { ...base.ratios, x: ok } }).success, true);
  assert.equal(benchReportSchema.safeParse({ ...base, ratios: { ...base.ratios, x: 1 } }).success, false);
  assert.equal(benchReportSchema.safeParse({ ...base, ratios: { ...base.ratios, x: { ...ok, min: 1.1 } } }).success, false);
  for (const k of ['hopsafe_cpu_us_per_msg_send_confidentiality_256B', 'memory_bytes_per_session_100k'])
    assert.ok((REQUIRED_RESULTS as readonly string[]).includes(k));
  for (const k of [...E2E_RATIOS, 'handshakes_per_s_over_crypto_floor', 'record_integrity_over_bare_hmac_16KiB'])
    assert.ok((REQUIRED_RATIOS as readonly string[]).includes(k), k);
});

test('collector: ratios of measured rows; a skipped operand makes the ratio skipped with its reason', () => {
  const c = new Collector();
  c.add('a', 'x', 6);
  c.add('b', 'x', 3);
  c.skip('s', 'broker unreachable');
  c.ratio('ab', 'a', 'b');
  c.ratio('as', 'a', 's');
  c.ratio('am', 'a', 'missing');
  assert.deepEqual(c.ratios.ab, { value: 2, min: 2, max: 2, rounds: 1 });
  // Rows measured in the same interleaved rounds: the median of the per-round ratios, with their range.
  c.add('p', 'x', 10, undefined, [10, 20, 30]);
  c.add('q', 'x', 10, undefined, [10, 10, 10]);
  c.ratio('pq', 'p', 'q');
  assert.deepEqual(c.ratios.pq, { value: 2, min: 1, max: 3, rounds: 3 });
  assert.deepEqual(c.ratios.as, { skipped: 's: broker unreachable' });
  assert.deepEqual(c.ratios.am, { skipped: 'missing not measured' });
  c.add('nan', 'x', Number.NaN);
  assert.ok(!('value' in (c.results.find((r) => r.name === 'nan') ?? {})));
});

test('percentile (nearest rank) and CDF points', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 50);
  assert.equal(percentile(xs, 99), 99);
  assert.equal(percentile(xs, 100), 100);
  assert.ok(Number.isNaN(percentile([], 50)));
  const pts = cdfPoints(xs, 10);
  assert.deepEqual(pts[pts.length - 1], [100, 1]);
  assert.ok(pts.every(([, f], i) => i === 0 || f >= (pts[i - 1] as [number, number])[1]));
});

test('svg writer: one path per series with data, legend entries, escaped text', () => {
  const svg = lineChart(
    [
      {
        name: 'a<b',
        points: [
          [1, 10],
          [10, 100],
        ],
      },
      { name: 'empty', points: [] },
    ],
    { title: 'T&T', xLabel: 'x', yLabel: 'y', logX: true, logY: true },
  );
  assert.equal((svg.match(/<path /g) ?? []).length, 1);
  assert.match(svg, /a&lt;b/);
  assert.match(svg, /T&amp;T/);
  assert.match(svg, /empty/);
});

test('child processes inherit module loaders only (an inline -e script must not re-run in every child)', async () => {
  const { childExecArgv } = await import('../../bench/fork-args.js');
  assert.deepEqual(childExecArgv(['--import', 'tsx', '--input-type=module', '-e', 'x()', '--cpu-prof']), ['--import', 'tsx']);
  assert.deepEqual(childExecArgv(['--import=tsx', '-r', 'a.cjs', '--expose-gc', '-p', '1']), ['--import=tsx', '-r', 'a.cjs']);
  assert.deepEqual(childExecArgv([]), []);
});

test('[issue 19] run-to-run comparison: deviation of each run from the median of the medians, ±5 % verdict, missing rows', async () => {
  const { compareRuns } = await import('../../bench/compare-runs.js');
  const report = JSON.parse(readFileSync('bench/results/latest.json', 'utf8'));
  const base = benchReportSchema.parse(report);
  const scaled = (k: number, drop?: string) => ({
    ...base,
    ratios: Object.fromEntries(
      Object.entries(base.ratios)
        .filter(([n]) => n !== drop)
        .map(([n, v]) => [n, 'value' in v ? { ...v, value: v.value * k } : v]),
    ),
  });
  const name = REQUIRED_RATIOS[0];
  const st = compareRuns([scaled(1), scaled(1.04), scaled(0.9, name)]);
  assert.equal(st.runs.length, 3);
  const first = st.rows.find((r) => r.name === name)!;
  assert.equal(first.deviationPct, null, 'a run without the row: no verdict');
  const other = st.rows.find((r) => r.name === REQUIRED_RATIOS[1])!;
  if ('value' in (base.ratios[REQUIRED_RATIOS[1]] ?? {})) {
    // medians 1, 1.04, 0.9 (× v): the median of the medians is 1 × v, the largest deviation 10 %
    assert.ok(Math.abs(other.deviationPct! - 10) < 1e-6, String(other.deviationPct));
    const md = benchmarksMarkdown({ ...base, stability: st });
    assert.match(md, /## Run-to-run stability/);
    assert.match(md, /the goal is not met/);
  }
  const same = compareRuns([base, base, base]);
  assert.ok(same.rows.every((r) => r.deviationPct === 0 || r.deviationPct === null));
});
