#!/usr/bin/env node
// Runs every test/**/*.test.ts with node:test (TypeScript through tsx). Node 20 has no glob
// support in --test, so the file list is built here. Extra args narrow the run to paths.
//
// Two phases: every selected file except `*.serial.test.ts` runs first, two files at a time; then the
// selected `*.serial.test.ts` files (tests that must run alone, e.g. timing-sensitive ones; none today —
// no test may stop or reconfigure a shared service, see README) run one at a time. A serial file given by path runs too (in the serial phase).
// Each phase prints node:test's usual output (spec on a TTY, tap otherwise) without its closing
// summary; ONE summary totalling both phases ("tests N", "pass N", "fail N", ...) is printed at the
// end in the same format. With a --test-reporter flag of your own, each phase prints its own summary.
// The exit code is non-zero when either phase failed.
//
// This file is also the node:test reporter of each phase (its default export; the main program only
// runs when this file is executed directly).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { spec, tap } from 'node:test/reporters';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SUMMARY_KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];
const SUMMARY = new RegExp(`^(${SUMMARY_KEYS.join('|')}) (\\d+(?:\\.\\d+)?)$`);

/** Runs `events` through the reporter node:test picks by default for this stdout (spec on a TTY, tap otherwise). */
async function* report(events) {
  if (process.stdout.isTTY) yield* Readable.from(events).pipe(spec());
  else yield* tap(events);
}

/**
 * The phase reporter: the default reporter minus the run's closing summary (the top-level diagnostics
 * "tests N", "pass N", ...), which goes as JSON to $HOPSAFE_TEST_TOTALS for the main program to total.
 */
export default async function* summaryHeldBack(source) {
  const out = process.env.HOPSAFE_TEST_TOTALS;
  async function* events() {
    const totals = {};
    for await (const event of source) {
      if (out && event.type === 'test:diagnostic' && event.data.nesting === 0) {
        const m = SUMMARY.exec(event.data.message);
        if (m) {
          totals[m[1]] = Number(m[2]);
          continue;
        }
      }
      yield event;
    }
    if (out) writeFileSync(out, JSON.stringify(totals));
  }
  yield* report(events());
}

/** Prints diagnostics the way the reporter prints node:test's own (spec: "ℹ tests 3", tap: "# tests 3"). */
async function diagnostics(messages) {
  const events = messages.map((message) => ({ type: 'test:diagnostic', data: { nesting: 0, message } }));
  for await (const chunk of report(events)) if (!String(chunk).startsWith('TAP version')) process.stdout.write(chunk);
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

async function main() {
  const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
  const files = [
    ...new Set(
      (roots.length ? roots : ['test']).flatMap((r) => (statSync(r).isDirectory() ? walk(r) : [r])).map((f) => relative(process.cwd(), f)),
    ),
  ].sort();
  if (files.length === 0) {
    console.error('no test files found');
    return 1;
  }
  const isSerial = (f) => f.endsWith('.serial.test.ts');
  const phases = [
    { name: 'parallel', files: files.filter((f) => !isSerial(f)), concurrency: 2 },
    { name: 'serial', files: files.filter(isSerial), concurrency: 1 },
  ].filter((p) => p.files.length > 0);

  const ownReporter = flags.some((f) => f.startsWith('--test-reporter'));
  const tmp = mkdtempSync(join(tmpdir(), 'hopsafe-run-tests-'));
  let failed = false;
  const totals = Object.fromEntries(SUMMARY_KEYS.map((k) => [k, 0]));
  const missing = [];
  try {
    for (const [i, phase] of phases.entries()) {
      if (phases.length > 1)
        await diagnostics([`${phase.name} phase: ${phase.files.length} file(s), --test-concurrency=${phase.concurrency}`]);
      const totalsFile = join(tmp, `${i}.json`);
      const reporting = ownReporter ? [] : [`--test-reporter=${fileURLToPath(import.meta.url)}`, '--test-reporter-destination=stdout'];
      // the phase's concurrency goes after the caller's flags, so the serial phase stays serial
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--test', ...reporting, ...flags, `--test-concurrency=${phase.concurrency}`, ...phase.files],
        { stdio: 'inherit', env: { ...process.env, HOPSAFE_TEST_TOTALS: totalsFile } },
      );
      if (r.status !== 0) failed = true;
      if (ownReporter) continue;
      try {
        const t = JSON.parse(readFileSync(totalsFile, 'utf8'));
        for (const k of SUMMARY_KEYS) totals[k] += t[k] ?? 0;
      } catch {
        missing.push(phase.name);
        failed = true;
      }
    }
    if (!ownReporter) {
      const lines = SUMMARY_KEYS.map((k) => `${k} ${k === 'duration_ms' ? Number(totals[k].toFixed(6)) : totals[k]}`);
      if (missing.length) lines.push(`no summary from the ${missing.join(' and ')} phase (its test runner did not finish)`);
      await diagnostics(lines);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
