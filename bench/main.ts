/**
 * `npm run bench -- [--quick] [--out FILE] [--only NAME,...] [--scale X] [--quiet] [--render FILE]`: the benchmark
 * suite of issue 7 (not a command of the installed CLI: bench/ is not product code; tsconfig.bench.json
 * builds it with the sources into .bench-build/). Without --out it writes bench/results/latest.json, the SVG plots next to it and
 * BENCHMARKS.md in the current directory; with --out FILE it writes only that JSON file.
 */
import { parseArgs } from 'node:util';
import { BENCHMARKS, renderReport, runBench } from './runner.js';
import { benchOptions } from './options.js';
import { targets } from './e2e-targets.js';

const USAGE = `usage: npm run bench -- [--quick] [--out FILE] [--only NAME,...] [--e2e ROW,...] [--scale X] [--quiet] [--render FILE]

  --quick        short run (≤ 90 s on an idle 2-core machine; the scale rows use 496 peers, the 10k/100k figures extrapolated and labelled)
  --out FILE     write the JSON results to FILE only (default: bench/results/latest.json + BENCHMARKS.md + plots)
  --only LIST    comma-separated subset of: ${BENCHMARKS.map(([n]) => n).join(', ')}
  --e2e LIST     the e2e benchmark measures only these broker rows: ${targets()
    .map((t) => `${t.system}_${t.broker}`)
    .join(', ')}
  --scale X      multiply every time budget by X (e.g. 0.1 for a smoke test)
  --quiet        no progress bar
  --render FILE  only regenerate BENCHMARKS.md and the plots (next to FILE) from a results file`;

const OPTIONS = {
  quick: { type: 'boolean', default: false },
  out: { type: 'string' },
  only: { type: 'string' },
  e2e: { type: 'string' },
  scale: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  render: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function run(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: false }>>['values'];
  try {
    args = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.render !== undefined) {
    renderReport(args.render, '.');
    return 0;
  }
  const names = BENCHMARKS.map(([n]) => n);
  const only = args.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((n) => !names.includes(n)) ?? [];
  if (unknown.length > 0) {
    console.error(`bench: unknown benchmark(s) ${unknown.join(', ')}; choose from ${names.join(', ')}`);
    return 2;
  }
  const rows = targets().map((t) => `${t.system}_${t.broker}`);
  const e2eTargets = args.e2e
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknownRows = e2eTargets?.filter((n) => !rows.includes(n)) ?? [];
  if (unknownRows.length > 0) {
    console.error(`bench: unknown e2e row(s) ${unknownRows.join(', ')}; choose from ${rows.join(', ')}`);
    return 2;
  }
  const scale = args.scale === undefined ? 1 : Number(args.scale);
  if (!Number.isFinite(scale) || scale <= 0) {
    console.error('bench: --scale must be a positive number');
    return 2;
  }
  await runBench({
    bench: { ...benchOptions(args.quick ?? false, scale), ...(e2eTargets ? { e2eTargets } : {}) },
    ...(only ? { only } : {}),
    out: args.out ?? 'bench/results/latest.json',
    ...(args.out === undefined ? { reportDir: '.' } : {}),
    quiet: args.quiet ?? false,
  });
  return 0;
}

// Entry point: `npm run bench -- …` (or `node --import tsx bench/main.ts …`).
if (/[\\/]bench[\\/]main\.(ts|js)$/.test(process.argv[1] ?? '')) {
  void run(process.argv.slice(2)).then((code) => (process.exitCode = code));
}
