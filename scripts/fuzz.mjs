#!/usr/bin/env node
// Long fuzz run (issues #8, #14): >= 1,000,000 cases across the targets of test/fuzz/harness.ts, of them
// 1,000,000 on the per-peer machine's receive (issue 14).
// Usage: npm run fuzz [-- --scale 0.1] [-- --seed 42]
// Property per case: returns or throws HopsafeError, within 2 s; the fuzzed endpoint delivers nothing;
// heap growth over the run is reported. Exit code 1 on any violation (known asn1js leaks are counted apart).
import fc from 'fast-check';
import { createHarness, runCase } from '../test/fuzz/harness.ts';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : def;
};
const scale = arg('scale', 1);
const seed = arg('seed', 20261125);
const CASES = {
  decodeSignedClearToken1: 150_000,
  decodeClearToken2: 150_000,
  decodeAlert: 150_000,
  decodeAck: 100_000,
  decodeBatch: 100_000,
  decodeRecordHeader: 200_000,
  decodeGroupControl: 100_000,
  'group.open': 100_000,
  'session.open': 200_000,
  respond: 50_000,
  complete: 50_000,
  'peer.receive': 1_000_000,
  'endpoint.onFrame': 60_000,
};
const CHUNK = 10_000;
const TIMEOUT_MS = 2000;

const gc = globalThis.gc ?? (() => {});
const h = await createHarness();
gc();
const heap0 = process.memoryUsage().heapUsed;
const t0 = performance.now();
const summary = [];
let total = 0;
let failures = 0;
for (const target of h.targets) {
  const n = Math.max(1, Math.round((CASES[target.name] ?? 10_000) * scale));
  const st = { target: target.name, cases: 0, hopsafeOrOk: 0, asn1Leaks: 0, failures: 0, slowestMs: 0, examples: [] };
  const start = performance.now();
  for (let done = 0, chunk = 0; done < n; chunk++) {
    const runs = Math.min(CHUNK, n - done);
    await fc.assert(
      fc.asyncProperty(target.arb, async (input) => {
        const r = await runCase(target, input, TIMEOUT_MS);
        st.cases++;
        st.slowestMs = Math.max(st.slowestMs, r.ms);
        if (!r.ok) {
          st.failures++;
          if (st.examples.length < 3) st.examples.push({ error: r.error, input: Buffer.from(input).toString('hex').slice(0, 400) });
        } else if (r.asn1Leak) {
          st.asn1Leaks++;
          if (st.examples.length < 3) st.examples.push({ asn1Leak: r.error, input: Buffer.from(input).toString('hex').slice(0, 400) });
        } else st.hopsafeOrOk++;
        return true;
      }),
      { numRuns: runs, seed: seed + chunk * 7919 + target.name.length },
    );
    done += runs;
    total += runs;
    const secs = (performance.now() - t0) / 1000;
    process.stdout.write(
      `\r[fuzz] ${target.name.padEnd(24)} ${String(done).padStart(7)}/${n}  total ${total}  ${(total / secs).toFixed(0)} cases/s  failures ${failures + st.failures}  asn1 leaks ${st.asn1Leaks}   `,
    );
  }
  st.casesPerSecond = Math.round(st.cases / ((performance.now() - start) / 1000));
  failures += st.failures;
  summary.push(st);
  process.stdout.write('\n');
}
const delivered = h.delivered();
await h.close();
gc();
const heapGrowthMiB = (process.memoryUsage().heapUsed - heap0) / 1048576;
const secs = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify(
    {
      seed,
      total,
      seconds: Math.round(secs),
      casesPerSecond: Math.round(total / secs),
      failures,
      delivered,
      heapGrowthMiB: Number(heapGrowthMiB.toFixed(1)),
      targets: summary,
    },
    null,
    2,
  ),
);
process.exit(failures > 0 || delivered > 0 ? 1 : 0);
