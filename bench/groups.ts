/**
 * Benchmark (issue 20): 1 → N fan-out, side by side in one run, on aedes (embedded) and Mosquitto, 256-byte
 * payloads, N = 1, 10, 100 readers: hopsafe group (with and without source signatures, SPEC 13) vs hopsafe pairwise
 * fan-out (one `send` per reader) vs plain MQTT fan-out (one publish, N subscribers). Per lane:
 * - broker messages per application message: publishes carrying the publisher's payloads (counted by a broker tap on
 *   aedes, by a counting subscriber in a separate short phase on Mosquitto) over the messages published;
 * - publisher CPU per message, on the protocol code alone (`publisherCpu`), and the CPU time of the whole process per
 *   application message during the run;
 * - delivered messages per second to all readers: N × messages / (first publish → last delivery), QoS 1, 32
 *   application messages in flight.
 * Everything (publisher, N readers, aedes) runs in ONE process: the delivered rate is bounded by this process's CPU,
 * which also does every reader's decryption and verification — an indicative comparison, not a deployment figure.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type RunningBroker } from '../src/broker/index.js';
import { mqttTransport } from '../src/bindings/mqtt.js';
import { createEndpoint, type Endpoint } from '../src/endpoint/endpoint.js';
import { createTestPki } from '../src/testing/index.js';
import { reachable } from '../test/support/net.js';
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { rateSync } from './measure.js';
import { createNodeProvider } from '../src/crypto/node.js';
import { DEFAULT_SUITES, suiteByName } from '../src/crypto/suites.js';
import { FrameType } from '../src/codec/frame.js';
import { loadIdentity } from '../src/pki/index.js';
import { trafficKeys } from '../src/session/key-schedule.js';
import { sealRecord } from '../src/session/record.js';
import { GroupSender } from '../src/session/group-sender.js';

const SIZE = 256;
const WINDOW = 32;
type Lane = 'plain' | 'group_nosig' | 'group_sig' | 'pairwise';
const LANES: readonly Lane[] = ['plain', 'group_nosig', 'group_sig', 'pairwise'];

interface Broker {
  readonly name: 'aedes' | 'mosquitto';
  readonly url: string;
  /** Publishes on topics under `prefix` whose sender is `pub` (or group / plain topics) since `reset`. */
  count?: { reset(): void; read(): number };
  close(): Promise<void>;
}

interface Run {
  readonly publishOne: (payload: Uint8Array) => Promise<void>;
  /** Deliveries to all readers so far. */
  readonly delivered: () => number;
  close(): Promise<void>;
}

function payload(): Uint8Array {
  return new Uint8Array(randomBytes(SIZE));
}

async function plainRun(b: Broker, n: number, prefix: string): Promise<Run> {
  const topic = `${prefix}/plain/t`;
  let delivered = 0;
  const readers: MqttClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await mqtt.connectAsync(b.url, { clientId: `${prefix}-r${i}`, clean: true });
    c.on('message', () => void delivered++);
    await c.subscribeAsync(topic, { qos: 1 });
    readers.push(c);
  }
  const pub = await mqtt.connectAsync(b.url, { clientId: `${prefix}-pub`, clean: true });
  return {
    publishOne: (p) => pub.publishAsync(topic, Buffer.from(p), { qos: 1 }).then(() => undefined),
    delivered: () => delivered,
    async close() {
      await Promise.all([pub, ...readers].map((c) => c.endAsync()));
    },
  };
}

async function hopsafeRun(
  b: Broker,
  n: number,
  prefix: string,
  lane: Exclude<Lane, 'plain'>,
  pki: Awaited<ReturnType<typeof createTestPki>>,
): Promise<Run> {
  const ids = ['pub', ...Array.from({ length: n }, (_, i) => `r${i}`)];
  const eps: Endpoint[] = [];
  let delivered = 0;
  for (const id of ids) {
    const ep = await createEndpoint({
      id,
      identity: pki.identities[id]!,
      trust: { roots: pki.roots },
      transport: mqttTransport({ url: b.url, prefix, clientId: `${prefix}-${id}`, mqttOptions: { clean: true } }),
    });
    if (id !== 'pub') ep.on('message', () => void delivered++);
    eps.push(ep);
  }
  const [pub, ...readers] = eps as [Endpoint, ...Endpoint[]];
  const names = ids.slice(1);
  if (lane === 'pairwise') {
    // sessions first (not part of the measurement)
    await Promise.all(names.map((id) => pub.send(id, new Uint8Array(1))));
    const want = n;
    while (delivered < want) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    delivered = 0;
    return {
      publishOne: (p) => Promise.all(names.map((id) => pub.send(id, p))).then(() => undefined),
      delivered: () => delivered,
      close: () => Promise.all(eps.map((e) => e.close())).then(() => undefined),
    };
  }
  const g = await pub.group('bench', { members: names, sourceAuth: lane === 'group_sig' ? 'signature' : 'none' });
  await Promise.all(readers.map((r) => r.join('pub', 'bench')));
  // the publisher's ACKs of the join requests (SPEC 7.6, ≤ acks.delayMs) leave before anything is counted
  await new Promise((r) => setTimeout(r, 100));
  return {
    publishOne: (p) => g.publish(p),
    delivered: () => delivered,
    close: () => Promise.all(eps.map((e) => e.close())).then(() => undefined),
  };
}

/** Publishes `m` messages, `WINDOW` in flight; returns wall ms first publish → all delivered, and sync µs per message. */
async function drive(
  run: Run,
  n: number,
  m: number,
  timeoutMs: number,
): Promise<{ wallMs: number; syncUs: number; cpuUsPerMsg: number } | undefined> {
  const p = payload();
  const start = run.delivered();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let sync = 0;
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < m; i++) {
    const s = performance.now();
    const x = run.publishOne(p);
    sync += performance.now() - s;
    const y = x.finally(() => inFlight.delete(y));
    inFlight.add(y);
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const end = t0 + timeoutMs;
  while (run.delivered() - start < n * m) {
    if (performance.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, 1));
  }
  const cpu = process.cpuUsage(cpu0);
  return { wallMs: performance.now() - t0, syncUs: (sync * 1000) / m, cpuUsPerMsg: (cpu.user + cpu.system) / m };
}

async function brokers(): Promise<(Broker | { name: string; skipped: string })[]> {
  const out: (Broker | { name: string; skipped: string })[] = [];
  let counted = 0;
  let prefixNow = '';
  const aedes: RunningBroker = await startBroker();
  aedes.tap((f) => {
    if (
      prefixNow &&
      f.topic.startsWith(`${prefixNow}/`) &&
      (f.topic.endsWith('/pub') || f.topic.includes('/~g/') || f.topic.includes('/plain/'))
    )
      counted++;
  });
  out.push({
    name: 'aedes',
    url: aedes.url,
    count: {
      reset() {
        counted = 0;
      },
      read: () => counted,
    },
    close: () => aedes.close(),
    set prefix(p: string) {
      prefixNow = p;
    },
  } as Broker & { prefix: string });
  if (await reachable('127.0.0.1', 1883)) out.push({ name: 'mosquitto', url: 'mqtt://127.0.0.1:1883', close: async () => undefined });
  else out.push({ name: 'mosquitto', skipped: 'Mosquitto 127.0.0.1:1883 unreachable' });
  return out;
}

/** Mosquitto has no tap: a subscriber counts the publisher's publishes during `m` messages. */
async function countWithSpy(b: Broker, prefix: string, run: Run, n: number, m: number): Promise<number> {
  const spy = await mqtt.connectAsync(b.url, { clientId: `${prefix}-spy`, clean: true });
  let count = 0;
  spy.on('message', (topic) => {
    if (topic.endsWith('/pub') || topic.includes('/~g/') || topic.includes('/plain/')) count++;
  });
  await spy.subscribeAsync(`${prefix}/#`, { qos: 0 });
  await drive(run, n, m, 30_000);
  await new Promise((r) => setTimeout(r, 200));
  await spy.endAsync();
  return count / m;
}

/**
 * Publisher CPU per application message, measured on the protocol code alone (no broker, no I/O): one group seal
 * (with or without the publisher's signature) vs N pairwise record seals (SPEC 7.1), 256 B, the endpoint's default
 * suite and the test PKI's key type.
 */
function publisherCpu(c: Collector, o: BenchOptions, ns: readonly number[], pki: Awaited<ReturnType<typeof createTestPki>>): void {
  const provider = createNodeProvider();
  const suite = suiteByName(DEFAULT_SUITES[0]!);
  const ctx = { provider, suite, protection: 'confidentiality' as const };
  const data = payload();
  const signingKey = loadIdentity(pki.identities.pub!, 'pub', { provider }).privateKey;
  const mk = (sourceAuth: 'signature' | 'none') =>
    new GroupSender({
      ctx,
      groupId: new Uint8Array(16),
      sourceAuth,
      ...(sourceAuth === 'signature' ? { signingKey, certificate: Uint8Array.of(1) } : {}),
      now: 0,
    });
  const nosig = mk('none');
  const sig = mk('signature');
  const keys = trafficKeys(provider, suite, 'confidentiality', provider.randomBytes(32));
  let seq = 0;
  const budget = Math.max(20, o.rateMs);
  const gN = rateSync(() => void nosig.seal(data), budget);
  const gS = rateSync(() => void sig.seal(data), budget);
  const one = rateSync(() => void sealRecord(ctx, keys, FrameType.DATA, new Uint8Array(8), 0, seq++ % 1_000_000, data), budget);
  const note = (what: string): string => `${what}; ${suite.name}, ${SIZE} B, per CPU-second of this process (no I/O)`;
  c.add('groups_publisher_cpu_us_per_msg_group_nosig', 'µs', 1e6 / gN.perCpuSecond, note('one group seal (SPEC 13.3), any N'));
  c.add(
    'groups_publisher_cpu_us_per_msg_group_sig',
    'µs',
    1e6 / gS.perCpuSecond,
    note(`one group seal + the publisher's ${signingKey.signatureAlg} signature, any N`),
  );
  for (const n of ns)
    c.add(
      `groups_publisher_cpu_us_per_msg_pairwise_n${n}`,
      'µs',
      (n * 1e6) / one.perCpuSecond,
      note(`${n} pairwise record seals (SPEC 7.1)`),
    );
}

export async function benchGroups(c: Collector, o: BenchOptions, p: Progress): Promise<void> {
  const ns = o.quick ? [1, 10] : [1, 10, 100];
  const pki = await createTestPki({
    endpoints: ['pub', ...Array.from({ length: Math.max(...ns) }, (_, i) => `r${i}`)].map((id) => ({ id })),
  });
  publisherCpu(c, o, ns, pki);
  for (const b of await brokers()) {
    if (!('url' in b)) {
      for (const n of ns) for (const lane of LANES) c.skip(`groups_${b.name}_${lane}_n${n}_delivered_per_s`, b.skipped);
      continue;
    }
    for (const n of ns) {
      // enough messages for a stable figure without making N = 100 pairwise last minutes
      const m = Math.max(20, Math.round(((o.quick ? 2_000 : 20_000) * o.scale) / n));
      for (const lane of LANES) {
        p.status(`groups ${b.name} ${lane} N=${n}`);
        const prefix = `hsg-${randomBytes(3).toString('hex')}`;
        const row = `groups_${b.name}_${lane}_n${n}`;
        let run: Run | undefined;
        try {
          run = lane === 'plain' ? await plainRun(b, n, prefix) : await hopsafeRun(b, n, prefix, lane, pki);
          // broker messages per application message
          let perMsg: number;
          if (b.count) {
            (b as Broker & { prefix: string }).prefix = prefix;
            b.count.reset();
            await drive(run, n, 20, 30_000);
            await new Promise((r) => setTimeout(r, 100));
            perMsg = b.count.read() / 20;
            (b as Broker & { prefix: string }).prefix = '';
          } else perMsg = await countWithSpy(b, prefix, run, n, 20);
          c.add(
            `${row}_broker_msgs_per_msg`,
            'msgs',
            perMsg,
            `publishes carrying the publisher's payloads per application message (${b.name}, ${SIZE} B, QoS 1)`,
          );
          const r = await drive(run, n, m, 120_000);
          if (!r) {
            c.skip(`${row}_delivered_per_s`, `not every delivery arrived within 120 s (${m} messages × ${n} readers)`);
            continue;
          }
          c.add(
            `${row}_delivered_per_s`,
            'msgs/s',
            (n * m) / (r.wallMs / 1000),
            `deliveries to all ${n} readers per second, ${m} messages of ${SIZE} B, ${WINDOW} in flight, QoS 1; publisher, readers and broker${b.name === 'aedes' ? '' : ' client side'} in one process`,
          );
          c.add(
            `${row}_process_cpu_us_per_msg`,
            'µs',
            r.cpuUsPerMsg,
            `CPU time (user + system) of this one process per application message: publisher, all ${n} readers${b.name === 'aedes' ? ' and the broker' : ''}`,
          );
        } catch (e) {
          c.skip(`${row}_delivered_per_s`, e instanceof Error ? e.message : String(e));
        } finally {
          await run?.close().catch(() => undefined);
        }
      }
      for (const lane of ['group_nosig', 'group_sig', 'pairwise'] as const)
        c.ratio(
          `groups_${b.name}_${lane}_over_plain_n${n}`,
          `groups_${b.name}_${lane}_n${n}_delivered_per_s`,
          `groups_${b.name}_plain_n${n}_delivered_per_s`,
        );
      c.ratio(
        `groups_${b.name}_group_nosig_over_pairwise_n${n}`,
        `groups_${b.name}_group_nosig_n${n}_delivered_per_s`,
        `groups_${b.name}_pairwise_n${n}_delivered_per_s`,
      );
      c.ratio(
        `groups_${b.name}_group_sig_over_pairwise_n${n}`,
        `groups_${b.name}_group_sig_n${n}_delivered_per_s`,
        `groups_${b.name}_pairwise_n${n}_delivered_per_s`,
      );
    }
    await b.close();
  }
}
