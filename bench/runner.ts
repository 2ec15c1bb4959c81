/** Runs the selected benchmarks, validates the JSON contract, writes the JSON, BENCHMARKS.md and the plots. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createTestPki, type TestPki } from '../src/testing/index.js';
import { Collector } from './collector.js';
import { benchReportSchema, REQUIRED_RATIOS, REQUIRED_RESULTS, type BenchReport } from './contract.js';
import { describeMachine, machineInfo } from './machine.js';
import type { BenchOptions } from './options.js';
import { Progress } from './progress.js';
import { benchHandshakes } from './handshake.js';
import { benchRecords } from './record.js';
import { benchJose } from './jose.js';
import { benchEstablish } from './establish.js';
import { benchKeyUpdate } from './keyupdate.js';
import { benchE2e } from './e2e.js';
import { benchScale } from './scale.js';
import { benchFlood } from './flood.js';
import { benchBridge } from './bridge.js';
import { benchGroups } from './groups.js';
import { benchmarksMarkdown, latencySvg, throughputSvg } from './report.js';

type Bench = (c: Collector, o: BenchOptions, pki: TestPki, p: Progress) => Promise<void>;

/** Benchmarks in run order; names are what `--only` takes. */
export const BENCHMARKS: readonly (readonly [string, Bench])[] = [
  ['handshake', benchHandshakes],
  ['record', benchRecords],
  ['jose', benchJose],
  ['keyupdate', benchKeyUpdate],
  ['establish', benchEstablish],
  ['scale', (c, o, _pki, p) => benchScale(c, o, p)],
  ['flood', benchFlood],
  ['e2e', (c, o, _pki, p) => benchE2e(c, o, p)],
  ['bridge', (c, o, _pki, p) => benchBridge(c, o, p)],
  ['groups', (c, o, _pki, p) => benchGroups(c, o, p)],
];

export interface RunOptions {
  readonly bench: BenchOptions;
  readonly only?: readonly string[];
  readonly out: string;
  /** Directory for BENCHMARKS.md (and the plots next to `out`); undefined = JSON only. */
  readonly reportDir?: string;
  readonly quiet?: boolean;
  readonly log?: (line: string) => void;
}

/** Regenerates BENCHMARKS.md (in `reportDir`) and the plots (next to `file`) from a results file. */
export function renderReport(file: string, reportDir: string, log: (line: string) => void = (l) => console.log(l)): BenchReport {
  const report = benchReportSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  writeArtifacts(report, dirname(file), reportDir);
  log(`wrote ${join(reportDir, 'BENCHMARKS.md')}, ${join(dirname(file), 'throughput.svg')}, ${join(dirname(file), 'latency-cdf.svg')}`);
  return report;
}

function writeArtifacts(report: BenchReport, plots: string, reportDir: string): void {
  writeFileSync(join(plots, 'throughput.svg'), throughputSvg(report));
  writeFileSync(join(plots, 'latency-cdf.svg'), latencySvg(report));
  writeFileSync(join(reportDir, 'BENCHMARKS.md'), benchmarksMarkdown(report));
}

export async function runBench(o: RunOptions): Promise<BenchReport> {
  const log = o.log ?? ((l: string) => console.log(l));
  const machine = machineInfo();
  log(`machine: ${describeMachine(machine)}`);
  const selected = BENCHMARKS.filter(([n]) => !o.only || o.only.includes(n));
  const c = new Collector();
  const progress = new Progress(selected.length, process.stderr, o.quiet ?? false);
  const t0 = performance.now();
  const pki = await createTestPki({ endpoints: [{ id: 'bench-a' }, { id: 'bench-b' }, { id: 'bench-c' }] });
  for (const [name, run] of selected) {
    progress.status(name);
    const t = performance.now();
    try {
      await run(c, o.bench, pki, progress);
    } catch (e) {
      c.skip(`bench_${name}_failed`, e instanceof Error ? e.message : String(e));
    }
    c.add(`bench_seconds_${name}`, 's', (performance.now() - t) / 1000, 'wall time of this benchmark in this run');
    progress.tick();
  }
  progress.finish();
  const failed = (name: string): string | undefined => {
    const r = c.results.find((x) => x.name === `bench_${name}_failed`);
    return r && 'skipped' in r ? r.skipped : undefined;
  };
  const limits = [o.only ? `--only ${o.only.join(',')}` : '', o.bench.e2eTargets ? `--e2e ${o.bench.e2eTargets.join(',')}` : '']
    .filter(Boolean)
    .join(' ');
  const why = `not run: ${limits || 'its benchmark failed'}${
    selected.map(([n]) => failed(n)).filter(Boolean).length
      ? ` (failures: ${selected
          .map(([n]) => failed(n))
          .filter(Boolean)
          .join('; ')})`
      : ''
  }`;
  for (const k of REQUIRED_RATIOS) if (!(k in c.ratios)) c.skipRatio(k, why);
  for (const k of REQUIRED_RESULTS) if (!c.has(k)) c.skip(k, why);
  const report = benchReportSchema.parse({
    machine,
    mode: o.bench.quick ? 'quick' : 'full',
    durationS: (performance.now() - t0) / 1000,
    results: c.results,
    ratios: c.ratios,
    latencyCdf: c.latencyCdf,
  });
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${o.out}`);
  if (o.reportDir !== undefined) {
    const plots = dirname(o.out);
    writeArtifacts(report, plots, o.reportDir);
    log(`wrote ${join(o.reportDir, 'BENCHMARKS.md')}, ${join(plots, 'throughput.svg')}, ${join(plots, 'latency-cdf.svg')}`);
  }
  for (const [k, v] of Object.entries(report.ratios))
    log(
      `${k.padEnd(56)} ${'value' in v ? `${v.value.toFixed(3)} [${v.min.toFixed(3)}–${v.max.toFixed(3)}, ${v.rounds} round${v.rounds > 1 ? 's' : ''}]` : `skipped (${v.skipped})`}`,
    );
  log(`done in ${report.durationS.toFixed(1)} s`);
  return report;
}
