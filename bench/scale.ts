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

export function runScaleWorker(n: number, mode: 'sessions' | 'endpoint' = 'sessions'): Promise<ScaleReport> {
  const here = import.meta.url;
  const file = fileURLToPath(new URL(here.endsWith('.ts') ? './scale-worker.ts' : './scale-worker.js', here));
  return new Promise((resolve, reject) => {
    const child = fork(file, [String(n), mode], { execArgv: [...childExecArgv(), '--expose-gc'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let report: ScaleReport | undefined;
    child.on('message', (m: ScaleReport) => (report = m));
    child.on('error', reject);
    child.on('exit', (code) => (report ? resolve(report) : reject(new Error(`scale worker exited with ${String(code)}`))));
  });
}

export async function benchScale(c: Collector, o: BenchOptions, progress: Progress): Promise<void> {
  progress.status(`scale: ${o.sessions.toLocaleString('en')} peers on one endpoint`);
  const e = await runScaleWorker(o.sessions, 'endpoint');
  progress.status(`scale: ${o.sessions.toLocaleString('en')} sessions on one handshake context (sans-I/O)`);
  const r = await runScaleWorker(o.sessions, 'sessions');
  const ep = `${e.sessions.toLocaleString('en')} peers, each with its own certificate, on ONE Endpoint (memory hub, 16 handshakes in flight, rate limits lifted), one message each; peers' side dropped after its handshake`;
  const what = `${r.sessions.toLocaleString('en')} responder sessions kept by one handshake context (sans-I/O; X25519_AES128GCM_SHA256; replay-cache entries included)`;
  const perE = (e.heapBytes + e.arrayBufferBytes) / e.sessions;
  const per = (r.heapBytes + r.arrayBufferBytes) / r.sessions;
  if (e.sessions === 10_000) {
    c.add('memory_bytes_per_session_10k', 'bytes', perE, `(heapUsed + arrayBuffers) growth after GC / peers: ${ep}`);
    c.add('sessions_10k_setup_s', 's', e.setupS, `wall clock, handshakes and peers' certificate loading included: ${ep}`);
    c.add('sessions_10k_setup_cpu_s', 's', e.setupCpuS, 'CPU seconds of the same (user + system), both sides in one process');
    c.add('session_state_bytes_per_session_10k', 'bytes', per, `protocol state alone: ${what}`);
    c.add('session_state_10k_setup_s', 's', r.setupS, `wall clock: ${what}`);
  } else {
    const label = `EXTRAPOLATED from ${e.sessions.toLocaleString('en')} peers (time × ${10_000 / e.sessions}), not measured at 10,000`;
    c.add(`memory_bytes_per_session_${e.sessions}`, 'bytes', perE, ep);
    c.add(`sessions_${e.sessions}_setup_s`, 's', e.setupS, ep);
    c.add('memory_bytes_per_session_10k', 'bytes', perE, label);
    c.add('sessions_10k_setup_s', 's', (e.setupS * 10_000) / e.sessions, `wall clock, ${label}`);
    c.add('sessions_10k_setup_cpu_s', 's', (e.setupCpuS * 10_000) / e.sessions, `CPU seconds, ${label}`);
    c.add(`session_state_bytes_per_session_${r.sessions}`, 'bytes', per, `protocol state alone: ${what}`);
  }
  c.add('memory_heap_bytes_per_session', 'bytes', e.heapBytes / e.sessions, 'heapUsed part (endpoint)');
  c.add('memory_arraybuffer_bytes_per_session', 'bytes', e.arrayBufferBytes / e.sessions, 'arrayBuffers part (endpoint; key material in Buffers)');
}
