/**
 * Benchmark (issue 6): the bridge's forwarding rate and added latency. Two embedded aedes brokers joined by a
 * bridge; 256-byte opaque frames from an endpoint on broker A to one on broker B, against the same frames
 * between two endpoints on broker B alone. All in this process (bridge included): an indicative number for
 * the bridge's own cost, not a deployment measurement. The extra broker hop is part of "added".
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startBroker } from '../src/broker/index.js';
import { mqttTransport } from '../src/bindings/mqtt.js';
import { createBridge } from '../src/bindings/bridge.js';
import type { Transport } from '../src/transport/transport.js';
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { percentile } from './measure.js';

interface Path {
  readonly from: Transport;
  readonly fromId: string;
  readonly toId: string;
  arrivals: ((bytes: Uint8Array) => void) | undefined;
}

async function latencies(p: Path, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const got = new Promise<void>((resolve) => (p.arrivals = () => resolve()));
    const t0 = performance.now();
    await p.from.send(p.toId, randomBytes(256));
    await got;
    out.push((performance.now() - t0) * 1000);
  }
  return out.sort((a, b) => a - b);
}

async function rate(p: Path, budgetMs: number): Promise<number> {
  let received = 0;
  p.arrivals = () => void received++;
  const frame = new Uint8Array(randomBytes(256));
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < budgetMs) {
    await Promise.all(Array.from({ length: 100 }, () => p.from.send(p.toId, frame)));
    sent += 100;
  }
  const deadline = performance.now() + 10_000;
  while (received < sent && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return received / ((performance.now() - t0) / 1000);
}

export async function benchBridge(c: Collector, o: BenchOptions, progress: Progress): Promise<void> {
  progress.status('bridge: forwarding rate and added latency (aedes ↔ aedes)');
  const tag = randomBytes(3).toString('hex');
  const a = await startBroker();
  const b = await startBroker();
  const opened: Transport[] = [];
  const mqtt = (url: string) => (id: string) => mqttTransport({ url, clientId: `${id}-${tag}-${opened.length}`, unsubscribeOnClose: true });
  const bridge = await createBridge({
    sides: { a: mqtt(a.url), b: mqtt(b.url) },
    endpoints: { [`src-${tag}`]: 'a', [`dst-${tag}`]: 'b' },
  });
  try {
    // Receivers call the `arrivals` hook of the path that ends at them.
    const byReceiver = new Map<string, Path>();
    const open = async (url: string, id: string): Promise<Transport> => {
      const t = mqtt(url)(id);
      opened.push(t);
      await t.open(id, (f) => byReceiver.get(id)?.arrivals?.(f.bytes));
      return t;
    };
    await open(b.url, `dst-${tag}`);
    await open(b.url, `d2-${tag}`);
    // bridged: src on A → bridge → dst on B; direct: s2 → d2, both on B
    const bridged: Path = { from: await open(a.url, `src-${tag}`), fromId: `src-${tag}`, toId: `dst-${tag}`, arrivals: undefined };
    const direct: Path = { from: await open(b.url, `s2-${tag}`), fromId: `s2-${tag}`, toId: `d2-${tag}`, arrivals: undefined };
    byReceiver.set(bridged.toId, bridged);
    byReceiver.set(direct.toId, direct);

    const n = o.quick ? 100 : 500;
    await latencies(bridged, 20);
    await latencies(direct, 20);
    const lb = await latencies(bridged, n);
    const ld = await latencies(direct, n);
    const budget = o.quick ? 500 : 3000;
    const rd = await rate(direct, budget);
    const rb = await rate(bridged, budget);
    const note =
      'aedes ↔ aedes, 256 B opaque frames, bridge and both brokers in the bench process; direct = the same endpoints on one broker';
    c.add('bridge_forwarding_frames_per_s', 'frames/s', rb, note);
    c.add('bridge_direct_frames_per_s', 'frames/s', rd, note);
    c.add('bridge_latency_p50_us', 'µs', percentile(lb, 50), `one way via the bridge (${n} sequential frames); ${note}`);
    c.add('bridge_latency_p99_us', 'µs', percentile(lb, 99), `one way via the bridge; ${note}`);
    c.add(
      'bridge_added_latency_p50_us',
      'µs',
      percentile(lb, 50) - percentile(ld, 50),
      `bridged minus direct, p50 (includes the second broker hop); ${note}`,
    );
    c.add('bridge_added_latency_p99_us', 'µs', percentile(lb, 99) - percentile(ld, 99), `bridged minus direct, p99; ${note}`);
    c.ratio('bridge_over_direct_frames_per_s', 'bridge_forwarding_frames_per_s', 'bridge_direct_frames_per_s');
  } finally {
    for (const t of opened) await t.close().catch(() => undefined);
    await bridge.close();
    await a.close();
    await b.close();
  }
}
