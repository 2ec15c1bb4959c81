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

test('quick bench on a tiny budget (handshake, record, establish, scale) writes a report that satisfies the JSON contract', { timeout: 60_000 }, async () => {
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
    assert.deepEqual(report.results.filter((r) => r.name.startsWith('bench_') && r.name.endsWith('_failed')), []);
    for (const k of ['handshakes_per_s_over_tls13_mutual', 'time_to_first_message_tls13_over_hopsafe'])
      assert.equal(typeof report.ratios[k], 'number', k);
    const rt = names.get('handshake_round_trips');
    assert.ok(rt && 'value' in rt && rt.value === 1, 'the broker saw one handshake round trip');
    const oc = names.get('record_overhead_bytes_confidentiality');
    assert.ok(oc && 'value' in oc && oc.value > 16 && oc.value <= 64);
    // The broker rows were not selected: skipped with the reason, never a number.
    const e2e = report.ratios.mqtt_aedes_e2e_over_plain_confidentiality_256B;
    assert.ok(typeof e2e === 'object' && /--only/.test(e2e.skipped));
    // The scale row at this budget is an extrapolation and says so.
    const mem = names.get('sessions_10k_setup_s');
    assert.ok(mem && 'note' in mem && /EXTRAPOLATED/.test(mem.note ?? ''));
    // The report renderers accept it.
    assert.match(benchmarksMarkdown(report), /## Targets/);
    assert.match(throughputSvg(report), /^<svg[\s\S]*<\/svg>$/);
    assert.match(latencySvg(report), /no data in this run/);
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
  assert.equal(benchReportSchema.safeParse({ ...base, results: [...base.results, { name: 'y', unit: 'u', value: Number.NaN }] }).success, false);
  const { handshakes_per_s_over_tls13_mutual: _, ...fewer } = base.ratios;
  assert.equal(benchReportSchema.safeParse({ ...base, ratios: fewer }).success, false);
});

test('collector: ratios of measured rows; a skipped operand makes the ratio skipped with its reason', () => {
  const c = new Collector();
  c.add('a', 'x', 6);
  c.add('b', 'x', 3);
  c.skip('s', 'broker unreachable');
  c.ratio('ab', 'a', 'b');
  c.ratio('as', 'a', 's');
  c.ratio('am', 'a', 'missing');
  assert.equal(c.ratios.ab, 2);
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
      { name: 'a<b', points: [[1, 10], [10, 100]] },
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
