/**
 * Child process of the scale benchmark (forked with --expose-gc). Two modes:
 * - `endpoint`: one real Endpoint (memory hub) accepts `n` peers, each with its own certificate, through
 *   onFrame like any transport would deliver them; the peers' side is sans-I/O and dropped after its
 *   handshake, so the growth measured after GC is what the one endpoint keeps per peer.
 * - `sessions`: `n` sessions on one responder handshake context (sans-I/O), the protocol state alone.
 */
import { createEndpoint } from '../src/endpoint/endpoint.js';
import { createMemoryHub } from '../src/bindings/memory.js';
import { createNodeProvider } from '../src/crypto/node.js';
import { suiteByName } from '../src/crypto/suites.js';
import { createTrustStore, loadIdentity } from '../src/pki/index.js';
import { HandshakeReplayCache } from '../src/session/freshness.js';
import { utf8 } from '../src/bytes/index.js';
import { createTestPki } from '../src/testing/index.js';
import { complete, initiate, respond, responseFrame } from '../src/session/handshake.js';
import type { Session } from '../src/session/session.js';
import { ID_A, ID_B, makePair } from './contexts.js';
import { DEFAULT_SUITES } from '../src/crypto/suites.js';

export interface ScaleReport {
  readonly sessions: number;
  readonly setupS: number;
  /** CPU seconds of this process over the set-up. */
  readonly setupCpuS: number;
  readonly heapBytes: number;
  readonly arrayBufferBytes: number;
  /** `sessions` mode: CPU seconds spent inside respond() alone (the responder's share of the set-up). */
  readonly responderCpuS?: number;
  /** `endpoint` mode: the same figures measured on the way, when the endpoint held exactly this many peers. */
  readonly checkpoints?: readonly Omit<ScaleReport, 'checkpoints'>[];
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('run with --expose-gc');
  g();
  g();
}

async function mainEndpoint(n: number, checkpointAt: readonly number[]): Promise<ScaleReport> {
  const ids = Array.from({ length: n + 1 }, (_, i) => `der-${i}`);
  const pki = await createTestPki({ endpoints: [{ id: 'cc', roles: ['OPERATOR'] }, ...ids.map((id) => ({ id, roles: ['VIEWER'] }))] });
  const provider = createNodeProvider();
  const hub = createMemoryHub();
  // Rate limits lifted: this measures capacity, not the flood protection (benchmarked separately). maxPeers above n:
  // the default (100 000) is this row's own size, and the warm-up peer makes n + 1 (a refused peer hung the worker).
  const cc = await createEndpoint({
    id: 'cc',
    identity: pki.identities.cc!,
    trust: { roots: pki.roots },
    transport: hub.transport(),
    handshakesPerSecond: 1e9,
    maxConcurrentHandshakes: 1e9,
    maxPeers: n + 16,
  });
  let delivered = 0;
  cc.on('message', () => void delivered++);
  const store = createTrustStore({ roots: pki.roots }, { provider });
  const suites = [suiteByName(DEFAULT_SUITES[0] as string)];
  const peer = async (id: string): Promise<void> => {
    const ctx = {
      provider,
      identity: loadIdentity(pki.identities[id]!, id, { provider }),
      verifier: store,
      suites,
      protection: 'confidentiality' as const,
      acceptProtection: ['confidentiality' as const],
      replayCache: new HandshakeReplayCache(30_000),
    };
    const t = hub.transport();
    let done!: (f: Uint8Array) => void;
    const resp = new Promise<Uint8Array>((r) => (done = r));
    await t.open(id, (f) => done(f.bytes));
    const { pending, frame } = initiate(ctx, 'cc', Date.now());
    await t.send('cc', frame);
    const c = await complete(ctx, pending, await resp, 'cc', Date.now());
    await t.send('cc', c.session.seal(utf8('hello'))); // one message each, so every session is really used
    c.session.destroy();
    await t.close();
  };
  await peer(ids[n] as string); // warm-up (JIT, caches) outside the measurement
  await hub.drain();
  // The peers' PEM fixtures are V8 concatenated strings, flattened (≈0.9 KB copied each) the first time a peer
  // loads its identity: test-fixture memory, not the endpoint's. Flatten them all before measuring.
  for (const id of ids) for (const pem of Object.values(pki.identities[id] ?? {})) if (typeof pem === 'string') /-/.test(pem);
  gc();
  const before = process.memoryUsage();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const checkpoints: Omit<ScaleReport, 'checkpoints'>[] = [];
  // Time spent in the checkpoints' GC and memory reads, left out of the set-up figures.
  let pausedMs = 0;
  let pausedCpuUs = 0;
  for (let i = 0; i < n; i += 16) {
    const j = Math.min(n, i + 16);
    await Promise.all(ids.slice(i, j).map(peer));
    const cp = checkpointAt.find((k) => k > i && k <= j && k < n);
    if (cp !== undefined) {
      // Batches are 16 peers and checkpoints multiples of 16: the endpoint holds cp + 1 peers (the warm-up one).
      await hub.drain();
      const setupS = (performance.now() - t0 - pausedMs) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const p0 = performance.now();
      const pc = process.cpuUsage();
      gc();
      const m = process.memoryUsage();
      checkpoints.push({
        sessions: j,
        setupS,
        setupCpuS: (cpu.user + cpu.system - pausedCpuUs) / 1e6,
        heapBytes: m.heapUsed - before.heapUsed,
        arrayBufferBytes: m.arrayBuffers - before.arrayBuffers,
      });
      pausedMs += performance.now() - p0;
      const pd = process.cpuUsage(pc);
      pausedCpuUs += pd.user + pd.system;
    }
  }
  await hub.drain();
  const setupS = (performance.now() - t0 - pausedMs) / 1000;
  const cpuAll = process.cpuUsage(cpu0);
  const cpu = { user: cpuAll.user - pausedCpuUs, system: cpuAll.system };
  gc();
  const after = process.memoryUsage();
  if (cc.stats().sessions !== n + 1 || delivered !== n + 1)
    throw new Error(`expected ${n + 1} sessions and messages, got ${cc.stats().sessions} / ${delivered}`);
  return {
    sessions: n,
    setupS,
    setupCpuS: (cpu.user + cpu.system) / 1e6,
    heapBytes: after.heapUsed - before.heapUsed,
    arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
    checkpoints,
  };
}

async function main(n: number): Promise<ScaleReport> {
  const pki = await createTestPki({ endpoints: [{ id: ID_A }, { id: ID_B }] });
  const pair = makePair(pki, [DEFAULT_SUITES[0] as string]);
  const kept: Session[] = [];
  let responderUs = 0;
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
    const rc0 = process.cpuUsage();
    const r = await respond(pair.b, frame, ID_A, now);
    const rc = process.cpuUsage(rc0);
    responderUs += rc.user + rc.system;
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
    responderCpuS: responderUs / 1e6,
  };
}

const n = Number(process.argv[2] ?? '10000');
const checkpointAt = (process.argv[4] ?? '').split(',').filter(Boolean).map(Number);
(process.argv[3] === 'endpoint' ? mainEndpoint(n, checkpointAt) : main(n)).then(
  (r) => {
    process.send?.(r);
    process.disconnect?.();
  },
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
