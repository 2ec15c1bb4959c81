/**
 * `npm run bench:compare -- RUN1.json RUN2.json … LATEST.json` (issue 19): run-to-run reproducibility of separate full
 * runs. For every required ratio and issue-19 result, the median of each run, and the largest deviation of one run's
 * median from the median of the runs' medians; a row passes when that is ≤ 5 %. The comparison is written into the
 * LAST file (its `stability` field) and BENCHMARKS.md is rendered from it, so the report says whether the runs agreed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { REQUIRED_RATIOS, REQUIRED_RESULTS, benchReportSchema, type BenchReport, type Stability } from './contract.js';
import { median } from './measure.js';
import { renderReport } from './runner.js';

const TOLERANCE_PCT = 5;
/** The issue-19 results whose run-to-run stability is reported next to the ratios. */
const RESULTS = REQUIRED_RESULTS.filter((n) => /cpu_us_per_msg|memory_bytes_per_session/.test(n));

function ratioOf(r: BenchReport, name: string): number | null {
  const x = r.ratios[name];
  return x && 'value' in x && Number.isFinite(x.value) ? x.value : null;
}

function resultOf(r: BenchReport, name: string): number | null {
  const x = r.results.find((y) => y.name === name);
  return x && 'value' in x && Number.isFinite(x.value) ? x.value : null;
}

/** The comparison of `runs` (oldest first). */
export function compareRuns(runs: readonly BenchReport[]): Stability {
  const row = (name: string, kind: 'ratio' | 'result', medians: (number | null)[]): Stability['rows'][number] => {
    const known = medians.filter((m): m is number => m !== null);
    if (known.length !== medians.length) return { name, kind, medians, deviationPct: null };
    const mid = median(known);
    const deviationPct = Math.max(...known.map((m) => Math.abs(m / mid - 1) * 100));
    return { name, kind, medians, deviationPct };
  };
  return {
    runs: runs.map((r) => ({ date: r.machine.date, durationS: r.durationS, mode: r.mode })),
    tolerancePct: TOLERANCE_PCT,
    rows: [
      ...REQUIRED_RATIOS.map((n) =>
        row(
          n,
          'ratio',
          runs.map((r) => ratioOf(r, n)),
        ),
      ),
      ...RESULTS.map((n) =>
        row(
          n,
          'result',
          runs.map((r) => resultOf(r, n)),
        ),
      ),
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2);
  if (files.length < 2) {
    console.error('usage: npm run bench:compare -- RUN1.json RUN2.json [...] LATEST.json');
    process.exit(2);
  }
  const runs = files.map((f) => benchReportSchema.parse(JSON.parse(readFileSync(f, 'utf8'))));
  const stability = compareRuns(runs);
  const last = files[files.length - 1] as string;
  const latest = { ...runs[runs.length - 1], stability };
  writeFileSync(last, `${JSON.stringify(latest, null, 2)}\n`);
  const off = stability.rows.filter((r) => r.deviationPct === null || r.deviationPct > TOLERANCE_PCT);
  console.log(`${stability.rows.length - off.length} of ${stability.rows.length} rows within ±${TOLERANCE_PCT} % over ${runs.length} runs`);
  for (const r of off) console.log(`  ${r.name}: ${r.deviationPct === null ? 'missing in a run' : `${r.deviationPct.toFixed(1)} %`}`);
  renderReport(last, '.');
}
