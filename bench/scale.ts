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

export function runScaleWorker(
  n: number,
  mode: 'sessions' | 'endpoint' = 'sessions',
  checkpoints: readonly number[] = [],
): Promise<ScaleReport> {
  const here = import.meta.url;
  const file = fileURLToPath(new URL(here.endsWith('.ts') ? './scale-worker.ts' : './scale-worker.js', here));
  return new Promise((resolve, reject) => {
    // 100 000 peers' test certificates and keys plus the endpoint's state outgrow the default heap limit.
    const heap = n > 20_000 ? ['--max-old-space-size=12288'] : [];
    const child = fork(file, [String(n), mode, checkpoints.join(',')], {
      execArgv: [...childExecArgv(), '--expose-gc', ...heap],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let report: ScaleReport | undefined;
    child.on('message', (m: ScaleReport) => (report = m));
    child.on('error', reject);
    child.on('exit', (code) => (report ? resolve(report) : reject(new Error(`scale worker exited with ${String(code)}`))));
  });
}

const K10 = 10_000;
const K100 = 100_000;

export async function benchScale(c: Collector, o: BenchOptions, progress: Progress): Promise<void> {
  progress.status(
    `scale: ${o.sessions.toLocaleString('en')} peers on one endpoint${o.sessions > K10 ? ' (10,000 checkpoint on the way)' : ''}`,
  );
  const e = await runScaleWorker(o.sessions, 'endpoint', o.sessions > K10 ? [K10] : []);
  // The protocol state alone, sans-I/O: at most 10,000 (its per-session figure does not depend on the count).
  const nState = Math.min(o.sessions, K10);
  progress.status(`scale: ${nState.toLocaleString('en')} sessions on one handshake context (sans-I/O)`);
  const r = await runScaleWorker(nState, 'sessions');
  const ep = (k: number): string =>
    `${k.toLocaleString('en')} peers, each with its own certificate, on ONE Endpoint (memory hub, 16 handshakes in flight, rate limits lifted), one message each; peers' side dropped after its handshake`;
  const what = `${r.sessions.toLocaleString('en')} responder sessions kept by one handshake context (sans-I/O; X25519_AES128GCM_SHA256; replay-cache entries included)`;
  const per = (x: Pick<ScaleReport, 'heapBytes' | 'arrayBufferBytes' | 'sessions'>): number =>
    (x.heapBytes + x.arrayBufferBytes) / x.sessions;
  const at = (k: number): Omit<ScaleReport, 'checkpoints'> | undefined =>
    e.sessions === k ? e : e.checkpoints?.find((x) => x.sessions === k);
  for (const [k, tag] of [
    [K10, '10k'],
    [K100, '100k'],
  ] as const) {
    const m = at(k);
    if (m) {
      c.add(
        `memory_bytes_per_session_${tag}`,
        'bytes',
        per(m),
        `(heapUsed + arrayBuffers) growth after GC / peers: ${ep(k)}${m === e ? '' : ` (measured on the way to ${e.sessions.toLocaleString('en')})`}`,
      );
      c.add(`sessions_${tag}_setup_s`, 's', m.setupS, `wall clock, handshakes and peers' certificate loading included: ${ep(k)}`);
      c.add(`sessions_${tag}_setup_cpu_s`, 's', m.setupCpuS, 'CPU seconds of the same (user + system), both sides in one process');
    } else {
      const label = `EXTRAPOLATED from ${e.sessions.toLocaleString('en')} peers (memory per peer as measured, time × ${k / e.sessions}), not measured at ${k.toLocaleString('en')}`;
      c.add(`memory_bytes_per_session_${tag}`, 'bytes', per(e), label);
      c.add(`sessions_${tag}_setup_s`, 's', (e.setupS * k) / e.sessions, `wall clock, ${label}`);
      c.add(`sessions_${tag}_setup_cpu_s`, 's', (e.setupCpuS * k) / e.sessions, `CPU seconds, ${label}`);
    }
  }
  if (at(K10) === undefined) c.add(`memory_bytes_per_session_${e.sessions}`, 'bytes', per(e), ep(e.sessions));
  c.add(
    r.sessions === K10 ? 'session_state_bytes_per_session_10k' : `session_state_bytes_per_session_${r.sessions}`,
    'bytes',
    per(r),
    `protocol state alone: ${what}`,
  );
  c.add(r.sessions === K10 ? 'session_state_10k_setup_s' : `session_state_${r.sessions}_setup_s`, 's', r.setupS, `wall clock: ${what}`);
  if (r.responderCpuS !== undefined)
    c.add(
      'responder_cpu_us_per_handshake',
      'µs',
      (r.responderCpuS * 1e6) / r.sessions,
      `CPU µs inside respond() per handshake (verify ClearToken1 + peer chain, key exchange, derive, sign ClearToken2, session state), mean over ${what}`,
    );
  c.add(
    'responder_share_of_setup_cpu',
    'ratio',
    (r.responderCpuS ?? Number.NaN) / r.setupCpuS,
    'respond() CPU / CPU of the whole sans-I/O set-up (both sides)',
  );
  c.add(
    'memory_heap_bytes_per_session',
    'bytes',
    e.heapBytes / e.sessions,
    `heapUsed part (endpoint, ${e.sessions.toLocaleString('en')} peers)`,
  );
  c.add(
    'memory_arraybuffer_bytes_per_session',
    'bytes',
    e.arrayBufferBytes / e.sessions,
    `arrayBuffers part (endpoint, ${e.sessions.toLocaleString('en')} peers; key material in Buffers)`,
  );
}
