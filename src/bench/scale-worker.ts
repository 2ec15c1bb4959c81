/**
 * Child process of the scale benchmark (forked with --expose-gc): establishes `n` sessions on
 * one responder handshake context (sans-I/O, full 1-RT handshakes with one initiator identity),
 * keeps the responder's sessions, and measures heap + ArrayBuffer growth after GC.
 */
import { createTestPki } from '../testing/index.js';
import { complete, initiate, respond, responseFrame } from '../session/handshake.js';
import type { Session } from '../session/session.js';
import { ID_A, ID_B, makePair } from './contexts.js';
import { DEFAULT_SUITES } from '../crypto/suites.js';

export interface ScaleReport {
  readonly sessions: number;
  readonly setupS: number;
  /** CPU seconds of this process over the set-up. */
  readonly setupCpuS: number;
  readonly heapBytes: number;
  readonly arrayBufferBytes: number;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with --expose-gc');
  g();
  g();
}

async function main(n: number): Promise<ScaleReport> {
  const pki = await createTestPki({ endpoints: [{ id: ID_A }, { id: ID_B }] });
  const pair = makePair(pki, [DEFAULT_SUITES[0] as string]);
  const kept: Session[] = [];
  // One handshake first so caches, JIT and lazy module state are not counted as per-session memory.
  const warm = initiate(pair.a, ID_B, Date.now());
  await respond(pair.b, warm.frame, ID_A, Date.now());
  gc();
  const before = process.memoryUsage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const now = Date.now();
    const { pending, frame } = initiate(pair.a, ID_B, now);
    const r = await respond(pair.b, frame, ID_A, now);
    const c = await complete(pair.a, pending, responseFrame(r.token), ID_B, now);
    c.session.destroy(); // the initiators are the many peers: only the one endpoint's side is kept
    kept.push(r.session);
  }
  const setupS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const setupCpuS = (cpu.user + cpu.system) / 1e6;
  gc();
  const after = process.memoryUsage();
  if (kept.length !== n) throw new Error('sessions lost');
  return {
    sessions: n,
    setupS,
    setupCpuS,
    heapBytes: after.heapUsed - before.heapUsed,
    arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
  };
}

const n = Number(process.argv[2] ?? '10000');
main(n).then(
  (r) => {
    process.send?.(r);
    process.disconnect?.();
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
