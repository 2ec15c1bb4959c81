/**
 * Benchmark 1: full 1-RT handshakes per second (both sides in-process, sans-I/O, chain depth 2,
 * P-256 identities) per suite, with a warm and a cold chain cache, next to Node's TLS 1.3
 * mutual-auth handshakes over an in-memory duplex pair in the same run.
 */
import { SUITES, DEFAULT_SUITES } from '../src/crypto/suites.js';
import { createNodeProvider } from '../src/crypto/node.js';
import { createNobleProvider } from '../src/crypto/noble.js';
import type { TestPki } from '../src/testing/index.js';
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { makePair, handshake } from './contexts.js';
import { cpuNote, interleaved, rateAsync, type Rate } from './measure.js';
import { duplexPair } from './duplex-pair.js';
import { tlsContexts, tlsHandshake } from './tls-mutual.js';
import { describeCalls, PROTOCOL_MINIMUM, recordingProvider, replay } from './crypto-floor.js';

export const DEFAULT_SUITE = DEFAULT_SUITES[0] as string;

export async function benchHandshakes(c: Collector, o: BenchOptions, pki: TestPki, progress: Progress): Promise<void> {
  const node = createNodeProvider();
  const ctx = tlsContexts(pki, 'bench-a', 'bench-b');
  const tlsOnce = async (): Promise<void> => {
    const [x, y] = duplexPair();
    const conn = await tlsHandshake(ctx, x, y);
    conn.client.destroy();
    conn.server.destroy();
  };
  const warm = makePair(pki, [DEFAULT_SUITE]);
  const cold = makePair(pki, [DEFAULT_SUITE]);
  const noble = makePair(pki, [DEFAULT_SUITE], 'confidentiality', createNobleProvider());
  // The crypto floor: the provider operations of one warm handshake (both sides), recorded, replayed on node:crypto.
  const rec = recordingProvider(node);
  const recorded = makePair(pki, [DEFAULT_SUITE], 'confidentiality', rec.provider);
  await handshake(recorded); // fills the chain caches: the floor is the warm handshake's
  rec.clear();
  await handshake(recorded);
  const calls = [...rec.calls];
  const floorOnce = replay(node, calls);
  const extra = Object.entries(PROTOCOL_MINIMUM)
    .map(([m, k]) => [m, calls.filter((x) => x.method === m).length - (k ?? 0)] as const)
    .filter(([, d]) => d > 0);
  progress.status(`handshakes: ${DEFAULT_SUITE} (warm, cold cache, noble) vs TLS 1.3 mutual, interleaved`);
  const [rw, rc, rn, rt, interleavedFloor] = await interleaved(
    [
      async () => void (await handshake(warm)),
      async () => {
        cold.storeA.clearCache();
        cold.storeB.clearCache();
        await handshake(cold);
      },
      async () => void (await handshake(noble)),
      tlsOnce,
      floorOnce,
    ],
    o.rateMs * 8,
  );
  const rf = interleavedFloor;
  c.addRate(`handshakes_per_s_${DEFAULT_SUITE}`, 'handshakes/CPU-s', rw as Rate, cpuNote(rw as Rate, 'node:crypto, warm chain cache'));
  c.addRate(
    `handshakes_per_s_${DEFAULT_SUITE}_cold_cache`,
    'handshakes/CPU-s',
    rc as Rate,
    cpuNote(rc as Rate, 'both trust stores cleared before every handshake'),
  );
  c.addRate(
    `handshakes_per_s_${DEFAULT_SUITE}_noble`,
    'handshakes/CPU-s',
    rn as Rate,
    cpuNote(rn as Rate, 'noble provider on both sides, warm chain cache'),
  );
  c.addRate(
    'tls13_mutual_handshakes_per_s',
    'handshakes/CPU-s',
    rt as Rate,
    cpuNote(rt as Rate, 'node:tls TLS 1.3, X25519, ECDSA P-256 certificates both ways, full handshakes, in-memory duplex'),
  );
  c.addRate(
    'handshake_crypto_floor_per_s',
    'floors/CPU-s',
    rf as Rate,
    cpuNote(
      rf as Rate,
      `the provider operations one warm ${DEFAULT_SUITE} handshake makes on both sides (${describeCalls(calls)}), recorded and replayed with the same arguments on node:crypto, interleaved with the handshakes${extra.length ? `; more than the protocol needs: ${extra.map(([m, d]) => `${m} +${d}`).join(', ')}` : ''}`,
    ),
  );
  c.add(
    'handshake_crypto_floor_us',
    'µs',
    1e6 / (rf as Rate).perCpuSecond,
    'CPU µs of one crypto floor (see handshake_crypto_floor_per_s)',
    (rf as Rate).roundsPerCpuSecond?.map((x) => 1e6 / x),
  );
  c.add(
    'handshake_cpu_us',
    'µs',
    1e6 / (rw as Rate).perCpuSecond,
    `CPU µs of one full warm handshake, both sides (${DEFAULT_SUITE})`,
    (rw as Rate).roundsPerCpuSecond?.map((x) => 1e6 / x),
  );

  for (const s of SUITES) {
    if (s.name === DEFAULT_SUITE) continue;
    if (!node.supportsGroup(s.group) || !node.supportsAead(s.aead)) {
      c.skip(`handshakes_per_s_${s.name}`, `node:crypto lacks ${s.group} or ${s.aead}`);
      continue;
    }
    progress.status(`handshakes: ${s.name}`);
    const pair = makePair(pki, [s.name]);
    const r = await rateAsync(async () => void (await handshake(pair)), o.rateMs);
    c.addRate(`handshakes_per_s_${s.name}`, 'handshakes/CPU-s', r, cpuNote(r, 'node:crypto, warm chain cache'));
  }

  c.ratio('handshakes_per_s_over_tls13_mutual', `handshakes_per_s_${DEFAULT_SUITE}`, 'tls13_mutual_handshakes_per_s');
  c.ratio('handshakes_per_s_over_tls13_mutual_cold_cache', `handshakes_per_s_${DEFAULT_SUITE}_cold_cache`, 'tls13_mutual_handshakes_per_s');
  c.ratio('handshakes_per_s_over_crypto_floor', `handshakes_per_s_${DEFAULT_SUITE}`, 'handshake_crypto_floor_per_s');
  c.ratio('handshakes_per_s_warm_over_cold_cache', `handshakes_per_s_${DEFAULT_SUITE}`, `handshakes_per_s_${DEFAULT_SUITE}_cold_cache`);
  c.ratio('handshakes_per_s_node_over_noble', `handshakes_per_s_${DEFAULT_SUITE}`, `handshakes_per_s_${DEFAULT_SUITE}_noble`);
}
