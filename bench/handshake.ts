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
  progress.status(`handshakes: ${DEFAULT_SUITE} (warm, cold cache, noble) vs TLS 1.3 mutual, interleaved`);
  const [rw, rc, rn, rt] = await interleaved(
    [
      async () => void (await handshake(warm)),
      async () => {
        cold.storeA.clearCache();
        cold.storeB.clearCache();
        await handshake(cold);
      },
      async () => void (await handshake(noble)),
      tlsOnce,
    ],
    o.rateMs * 8,
  );
  c.add(`handshakes_per_s_${DEFAULT_SUITE}`, 'handshakes/CPU-s', (rw as Rate).perCpuSecond, cpuNote(rw as Rate, 'node:crypto, warm chain cache'));
  c.add(`handshakes_per_s_${DEFAULT_SUITE}_cold_cache`, 'handshakes/CPU-s', (rc as Rate).perCpuSecond, cpuNote(rc as Rate, 'both trust stores cleared before every handshake'));
  c.add(`handshakes_per_s_${DEFAULT_SUITE}_noble`, 'handshakes/CPU-s', (rn as Rate).perCpuSecond, cpuNote(rn as Rate, 'noble provider on both sides, warm chain cache'));
  c.add('tls13_mutual_handshakes_per_s', 'handshakes/CPU-s', (rt as Rate).perCpuSecond, cpuNote(rt as Rate, 'node:tls TLS 1.3, X25519, ECDSA P-256 certificates both ways, full handshakes, in-memory duplex'));

  for (const s of SUITES) {
    if (s.name === DEFAULT_SUITE) continue;
    if (!node.supportsGroup(s.group) || !node.supportsAead(s.aead)) {
      c.skip(`handshakes_per_s_${s.name}`, `node:crypto lacks ${s.group} or ${s.aead}`);
      continue;
    }
    progress.status(`handshakes: ${s.name}`);
    const pair = makePair(pki, [s.name]);
    const r = await rateAsync(async () => void (await handshake(pair)), o.rateMs);
    c.add(`handshakes_per_s_${s.name}`, 'handshakes/CPU-s', r.perCpuSecond, cpuNote(r, 'node:crypto, warm chain cache'));
  }

  c.ratio('handshakes_per_s_over_tls13_mutual', `handshakes_per_s_${DEFAULT_SUITE}`, 'tls13_mutual_handshakes_per_s');
  c.ratio('handshakes_per_s_over_tls13_mutual_cold_cache', `handshakes_per_s_${DEFAULT_SUITE}_cold_cache`, 'tls13_mutual_handshakes_per_s');
  c.ratio('handshakes_per_s_warm_over_cold_cache', `handshakes_per_s_${DEFAULT_SUITE}`, `handshakes_per_s_${DEFAULT_SUITE}_cold_cache`);
  c.ratio('handshakes_per_s_node_over_noble', `handshakes_per_s_${DEFAULT_SUITE}`, `handshakes_per_s_${DEFAULT_SUITE}_noble`);
}
