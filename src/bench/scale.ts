/**
 * Benchmark 7: many concurrent sessions held by one endpoint's handshake context (sans-I/O),
 * memory per session from heapUsed + arrayBuffers deltas after GC in a child started with
 * --expose-gc, and the time to establish all of them (full handshakes, one at a time).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import type { ScaleReport } from './scale-worker.js';
import { childExecArgv } from './fork-args.js';

export function runScaleWorker(n: number): Promise<ScaleReport> {
  const here = import.meta.url;
  const file = fileURLToPath(new URL(here.endsWith('.ts') ? './scale-worker.ts' : './scale-worker.js', here));
  return new Promise((resolve, reject) => {
    const child = fork(file, [String(n)], { execArgv: [...childExecArgv(), '--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let report: ScaleReport | undefined;
    child.on('message', (m: ScaleReport) => (report = m));
    child.on('error', reject);
    child.on('exit', (code) => (report ? resolve(report) : reject(new Error(`scale worker exited with ${String(code)}`))));
  });
}

export async function benchScale(c: Collector, o: BenchOptions, progress: Progress): Promise<void> {
  progress.status(`scale: ${o.sessions.toLocaleString('en')} sessions on one endpoint`);
  const r = await runScaleWorker(o.sessions);
  const per = (r.heapBytes + r.arrayBufferBytes) / r.sessions;
  const what = `${r.sessions.toLocaleString('en')} responder sessions kept by one handshake context (sans-I/O; X25519_AES128GCM_SHA256; replay-cache entries included)`;
  if (r.sessions === 10_000) {
    c.add('memory_bytes_per_session_10k', 'bytes', per, `(heapUsed + arrayBuffers) growth after GC / sessions: ${what}`);
    c.add('sessions_10k_setup_s', 's', r.setupS, `wall clock; full handshakes one after the other, both sides in one process: ${what}`);
    c.add('sessions_10k_setup_cpu_s', 's', r.setupCpuS, 'CPU seconds of the same (user + system), independent of other load on the machine');
  } else {
    const label = `EXTRAPOLATED from ${r.sessions.toLocaleString('en')} sessions (time × ${10_000 / r.sessions}), not measured at 10,000`;
    c.add(`memory_bytes_per_session_${r.sessions}`, 'bytes', per, what);
    c.add(`sessions_${r.sessions}_setup_s`, 's', r.setupS, what);
    c.add('memory_bytes_per_session_10k', 'bytes', per, label);
    c.add('sessions_10k_setup_s', 's', (r.setupS * 10_000) / r.sessions, `wall clock, ${label}`);
    c.add('sessions_10k_setup_cpu_s', 's', (r.setupCpuS * 10_000) / r.sessions, `CPU seconds, ${label}`);
  }
  c.add('memory_heap_bytes_per_session', 'bytes', r.heapBytes / r.sessions, 'heapUsed part');
  c.add('memory_arraybuffer_bytes_per_session', 'bytes', r.arrayBufferBytes / r.sessions, 'arrayBuffers part (key material in Buffers)');
}
