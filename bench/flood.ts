/**
 * Benchmark 8: handshake flood. Legitimate traffic A → B over the memory hub, alone and while
 * B's transport entry (endpoint.onFrame, what a broker delivers) is flooded with garbage,
 * replayed and stale HS_INIT frames from other sender ids, at increasing offered rates.
 * Reports frames rejected per second and the legitimate throughput kept.
 */
import { createEndpoint, type Endpoint } from '../src/endpoint/endpoint.js';
import { createMemoryHub } from '../src/bindings/memory.js';
import { initiate } from '../src/session/handshake.js';
import { FrameType } from '../src/codec/frame.js';
import type { TestPki } from '../src/testing/index.js';
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { makeContext } from './contexts.js';
import { createNodeProvider } from '../src/crypto/node.js';
import { DEFAULT_SUITES } from '../src/crypto/suites.js';
import { sleep } from './measure.js';

const WINDOW = 64;

/** Messages/s A → B delivered during `ms` (closed loop: WINDOW messages in flight), while `during` runs. */
async function legit(a: Endpoint, b: Endpoint, ms: number, during?: (stop: () => boolean) => Promise<void>): Promise<number> {
  let got = 0;
  let credits = WINDOW;
  let wake: (() => void) | undefined;
  const on = (): void => {
    got++;
    credits++;
    wake?.();
  };
  b.on('message', on);
  const data = new Uint8Array(256).fill(7);
  const end = performance.now() + ms;
  const stop = (): boolean => performance.now() >= end;
  const sender = async (): Promise<void> => {
    while (!stop()) {
      if (credits === 0) {
        await Promise.race([new Promise<void>((r) => (wake = r)), sleep(10)]);
        continue;
      }
      credits--;
      a.send('bench-b', data).catch(() => undefined);
    }
  };
  const t0 = performance.now();
  await Promise.all([sender(), during ? during(stop) : Promise.resolve()]);
  const secs = (performance.now() - t0) / 1000;
  b.off('message', on);
  return got / secs;
}

export async function benchFlood(c: Collector, o: BenchOptions, pki: TestPki, progress: Progress): Promise<void> {
  const hub = createMemoryHub();
  const ident = (id: string): { certificate: string; privateKey: string } =>
    pki.identities[id] as { certificate: string; privateKey: string };
  const a = await createEndpoint({ id: 'bench-a', identity: ident('bench-a'), trust: { roots: pki.roots }, transport: hub.transport() });
  const b = await createEndpoint({ id: 'bench-b', identity: ident('bench-b'), trust: { roots: pki.roots }, transport: hub.transport() });
  const rejected: Record<string, number> = {};
  b.on('reject', (e) => void (rejected[e.code] = (rejected[e.code] ?? 0) + 1));
  try {
    await a.send('bench-b', new Uint8Array(1));
    await hub.drain();
    // Flood material: garbage with an HS_INIT type byte, a genuine HS_INIT of a third endpoint
    // (replayed after B accepted it once), and a signed HS_INIT whose timestamp is 2 min old.
    const provider = createNodeProvider();
    const attacker = makeContext(pki, 'bench-c', provider, DEFAULT_SUITES, 'confidentiality').ctx;
    const genuine = initiate(attacker, 'bench-b', Date.now()).frame;
    await b.onFrame({ from: 'bench-c', bytes: genuine });
    const stale = initiate(attacker, 'bench-b', Date.now() - 120_000).frame;
    const garbage = provider.randomBytes(600);
    garbage[0] = 0x10 | FrameType.HS_INIT;
    const kinds: [string, Uint8Array, string][] = [
      ['garbage', garbage, 'mallory'],
      ['replayed', genuine, 'bench-c'],
      ['stale', stale, 'bench-c'],
    ];
    progress.status('flood: legitimate throughput alone');
    const alone = await legit(a, b, o.e2eMs);
    c.add('flood_legit_alone_msgs_per_s', 'msgs/s', alone, 'A → B over the memory hub, 256 B, confidentiality, no flood');
    let best: { rate: number; rejectedPerS: number; kept: number } | undefined;
    for (const offered of o.floodRates) {
      progress.status(`flood: ${offered.toLocaleString('en')} HS_INIT/s offered`);
      for (const k of Object.keys(rejected)) delete rejected[k];
      let injected = 0;
      const t0 = performance.now();
      const flood = async (stop: () => boolean): Promise<void> => {
        while (!stop()) {
          const due = Math.floor(((performance.now() - t0) / 1000) * offered) - injected;
          for (let i = 0; i < due; i++) {
            const [, bytes, from] = kinds[injected % kinds.length] as [string, Uint8Array, string];
            void b.onFrame({ from, bytes });
            injected++;
          }
          await sleep(1);
        }
      };
      const under = await legit(a, b, o.e2eMs, flood);
      const secs = (performance.now() - t0) / 1000;
      await hub.drain();
      const total = Object.values(rejected).reduce((s, n) => s + n, 0);
      const kept = under / alone;
      const tag = `flood_${offered}`;
      c.add(`${tag}_rejected_per_s`, 'frames/s', total / secs, `rejections by code: ${JSON.stringify(rejected)}; ${injected} injected`);
      c.add(
        `${tag}_legit_kept_ratio`,
        'ratio',
        kept,
        `legitimate msgs/s under flood / alone (${Math.round(under)} / ${Math.round(alone)})`,
      );
      if (kept >= 0.9 && (!best || offered > best.rate)) best = { rate: offered, rejectedPerS: total / secs, kept };
    }
    if (best)
      c.add(
        'flood_rejected_per_s_at_90pct_legit',
        'frames/s',
        best.rejectedPerS,
        `highest offered rate (${best.rate}/s) at which legitimate traffic kept ≥ 90 % (${(best.kept * 100).toFixed(0)} %)`,
      );
    else
      c.skip(
        'flood_rejected_per_s_at_90pct_legit',
        `legitimate traffic fell below 90 % at every offered rate (${o.floodRates.join(', ')}/s)`,
      );
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
