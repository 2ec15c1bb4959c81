/**
 * Benchmark (issue 20): 1 → N fan-out, side by side in one run, on aedes (embedded) and Mosquitto, 256-byte
 * payloads, N = 1, 10, 100 readers: hopsafe group (with and without source signatures, SPEC 13) vs hopsafe pairwise
 * fan-out (one `send` per reader) vs plain MQTT fan-out (one publish, N subscribers). The publisher and the N readers
 * of every lane run in two forked processes (groups-worker.ts), aedes in this one, so each side's CPU is its own.
 * All four lanes are set up at once and measured in ≥ 3 interleaved rounds (ratios: median of per-round ratios with
 * min–max, collector.ts). Per lane:
 * - broker messages per application message: publishes carrying the publisher's payloads (counted by a broker tap on
 *   aedes, by a counting subscriber in a separate short phase on Mosquitto) over the messages published;
 * - publisher CPU per application message (the publisher process, drive start → every delivery made and the
 *   trailing acknowledgements in), reader CPU per delivery (the readers' process over the same span, / N × messages),
 *   aedes CPU per message (this process), their sum; and the protocol code alone (`publisherCpu`, no I/O);
 * - delivered messages per second to all readers: N × messages / (first publish → last delivery), QoS 1, 32
 *   application messages in flight. On this machine the publisher, the readers and the broker share its cores, so
 *   this rate is bounded by their sum; the publisher-bound rate (N / publisher CPU per application message) is what
 *   a deployment with the readers on other machines would see from the publisher, reported as separate rows/ratios.
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { startBroker, type RunningBroker } from '../src/broker/index.js';
import { createTestPki } from '../src/testing/index.js';
import { reachable } from '../test/support/net.js';
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { rateSync, sleep } from './measure.js';
import { createNodeProvider } from '../src/crypto/node.js';
import { DEFAULT_SUITES, suiteByName } from '../src/crypto/suites.js';
import { FrameType } from '../src/codec/frame.js';
import { loadIdentity } from '../src/pki/index.js';
import { trafficKeys } from '../src/session/key-schedule.js';
import { sealRecord } from '../src/session/record.js';
import { GroupSender } from '../src/session/group-sender.js';
import { Worker } from './e2e-worker-client.js';
import type { GroupsCommand, GroupsLane, GroupsReply } from './groups-protocol.js';

const SIZE = 256;
const WINDOW = 32;
const ROUNDS = 3;
/** After the last delivery: the readers' delayed ACKs (SPEC 7.6, acks.delayMs 20) reach the publisher before CPU is read. */
const SETTLE_MS = 60;
type Lane = GroupsLane;
const LANES: readonly Lane[] = ['plain', 'group_nosig', 'group_sig', 'pairwise'];
type Pki = Awaited<ReturnType<typeof createTestPki>>;
type GroupsWorker = Worker<GroupsCommand, GroupsReply>;

interface Broker {
  readonly name: 'aedes' | 'mosquitto';
  readonly url: string;
  /** aedes: publishes on topics under `prefix` carrying the publisher's payloads since `reset`. */
  count?: { reset(prefix: string): void; read(): number };
  close(): Promise<void>;
}

function payload(): Uint8Array {
  return new Uint8Array(randomBytes(SIZE));
}

/** A publisher payload's topic: pairwise inboxes `{prefix}/{reader}/pub`, group `{prefix}/~g/…`, plain `{prefix}/plain/…`. */
const carriesPayload = (topic: string): boolean => topic.endsWith('/pub') || topic.includes('/~g/') || topic.includes('/plain/');

async function brokers(): Promise<(Broker | { name: string; skipped: string })[]> {
  const out: (Broker | { name: string; skipped: string })[] = [];
  let counted = 0;
  let prefixNow = '';
  const aedes: RunningBroker = await startBroker();
  aedes.tap((f) => {
    if (prefixNow && f.topic.startsWith(`${prefixNow}/`) && carriesPayload(f.topic)) counted++;
  });
  out.push({
    name: 'aedes',
    url: aedes.url,
    count: {
      reset(prefix) {
        prefixNow = prefix;
        counted = 0;
      },
      read: () => counted,
    },
    close: () => aedes.close(),
  });
  if (await reachable('127.0.0.1', 1883)) out.push({ name: 'mosquitto', url: 'mqtt://127.0.0.1:1883', close: async () => undefined });
  else out.push({ name: 'mosquitto', skipped: 'Mosquitto 127.0.0.1:1883 unreachable' });
  return out;
}

interface Sample {
  readonly deliveredPerS: number;
  readonly publisherCpuUs: number;
  /** Readers' process CPU µs per delivery. */
  readonly readerCpuUs: number;
  /** This process (aedes when embedded) per application message. */
  readonly brokerCpuUs: number;
  readonly syncUs: number;
}

let phases = 0;

/** One measured phase of `m` messages on `lane`; a string says why it did not complete. */
async function phase(pub: GroupsWorker, rd: GroupsWorker, lane: Lane, n: number, m: number): Promise<Sample | string> {
  const want = n * m;
  const id = ++phases;
  await rd.call({ cmd: 'reset', lane, expect: want, phase: id });
  const own0 = process.cpuUsage();
  const d = await pub.call({ cmd: 'drive', lane, count: m, size: SIZE, window: WINDOW, phase: id }, 180_000);
  let last = -1;
  let since = performance.now();
  for (;;) {
    const r = await rd.call({ cmd: 'report', lane });
    const count = r.count ?? 0;
    if (count >= want) break;
    if (count !== last) {
      last = count;
      since = performance.now();
    } else if (performance.now() - since > 5_000) return `${count} of ${want} deliveries (${m} messages × ${n} readers), none for 5 s`;
    await sleep(10);
  }
  await sleep(SETTLE_MS);
  const pc = await pub.call({ cmd: 'cpu' });
  const r = await rd.call({ cmd: 'report', lane });
  const own = process.cpuUsage(own0);
  const wallS = ((r.lastNs ?? 0) - (d.t0Ns ?? 0)) / 1e9;
  return {
    deliveredPerS: want / wallS,
    publisherCpuUs: (pc.cpuUs ?? 0) / m,
    readerCpuUs: (r.cpuUs ?? 0) / want,
    brokerCpuUs: (own.user + own.system) / m,
    syncUs: d.syncUs ?? 0,
  };
}

/** Sets every lane up (publisher and readers), the pairwise sessions opened, nothing left in flight. */
async function setup(b: Broker, n: number, prefixes: Record<Lane, string>, pki: Pki, pub: GroupsWorker, rd: GroupsWorker): Promise<void> {
  const members = Array.from({ length: n }, (_, i) => `r${i}`);
  const identities = Object.fromEntries(members.map((id) => [id, pki.identities[id]!]));
  const roots = pki.roots;
  const topic = `${prefixes.plain}-flow/progress`;
  await pub.call({ cmd: 'progress', side: 'publisher', url: b.url, topic });
  await rd.call({ cmd: 'progress', side: 'readers', url: b.url, topic });
  for (const lane of LANES) {
    const prefix = prefixes[lane];
    const pubSetup = () => pub.call({ cmd: 'setup-pub', lane, url: b.url, prefix, identity: pki.identities.pub!, roots, members }, 120_000);
    const rdSetup = () => rd.call({ cmd: 'setup-readers', lane, url: b.url, prefix, identities, roots }, 300_000);
    // a group's readers join it (the publisher must hold it first); plain and pairwise readers are there before anything is sent
    if (lane === 'group_nosig' || lane === 'group_sig') {
      await pubSetup();
      await rdSetup();
    } else {
      await rdSetup();
      await pubSetup();
    }
    if (lane === 'pairwise') {
      await rd.call({ cmd: 'reset', lane, expect: n, phase: 0 });
      await pub.call({ cmd: 'prime', lane }, 120_000);
      for (let t = 0; ((await rd.call({ cmd: 'report', lane })).count ?? 0) < n; t++) {
        if (t > 6000) throw new Error('pairwise sessions did not open within 60 s');
        await sleep(10);
      }
    }
  }
  // the publisher's ACKs of the join requests and the readers' of the priming messages (SPEC 7.6) are out of the way
  await sleep(200);
}

/** Broker messages per application message: 20 messages, counted by the aedes tap or a Mosquitto subscriber. */
async function brokerMsgsPerMsg(b: Broker, prefix: string, pub: GroupsWorker, rd: GroupsWorker, lane: Lane, n: number): Promise<number> {
  const m = 20;
  if (b.count) {
    b.count.reset(prefix);
    await phase(pub, rd, lane, n, m);
    const k = b.count.read();
    b.count.reset('');
    return k / m;
  }
  const spy = await mqtt.connectAsync(b.url, { clientId: `${prefix}-spy`, clean: true });
  let count = 0;
  spy.on('message', (topic) => {
    if (carriesPayload(topic)) count++;
  });
  await spy.subscribeAsync(`${prefix}/#`, { qos: 0 });
  await phase(pub, rd, lane, n, m);
  await sleep(200);
  await spy.endAsync();
  return count / m;
}

async function benchBrokerN(c: Collector, o: BenchOptions, b: Broker, n: number, pki: Pki, p: Progress): Promise<void> {
  // enough messages per round for a stable figure without making N = 100 pairwise last minutes
  // (≥ 400 in a full run: the publisher's fixed costs per phase — IPC, the settle — stay small per message at N = 100)
  const m = Math.max(Math.max(20, Math.round((o.quick ? 50 : 400) * o.scale)), Math.round(((o.quick ? 1_000 : 10_000) * o.scale) / n));
  const rounds = o.scale < 0.2 ? 1 : ROUNDS;
  const tag = randomBytes(3).toString('hex');
  const prefixes = Object.fromEntries(LANES.map((l) => [l, `hsg-${tag}-${l.replace('_', '')}`])) as Record<Lane, string>;
  const pub: GroupsWorker = new Worker(`groups ${b.name} N=${n} publisher`, 'groups-worker');
  const rd: GroupsWorker = new Worker(`groups ${b.name} N=${n} readers`, 'groups-worker');
  const row = (lane: Lane) => `groups_${b.name}_${lane}_n${n}`;
  const failed = new Map<Lane, string>();
  const samples = new Map<Lane, Sample[]>(LANES.map((l) => [l, []]));
  try {
    p.status(`groups ${b.name} N=${n} setup`);
    await setup(b, n, prefixes, pki, pub, rd);
    for (const lane of LANES) {
      const perMsg = await brokerMsgsPerMsg(b, prefixes[lane], pub, rd, lane, n);
      c.add(
        `${row(lane)}_broker_msgs_per_msg`,
        'msgs',
        perMsg,
        `publishes carrying the publisher's payloads per application message (${b.name}, ${SIZE} B, QoS 1)`,
      );
    }
    // one unrecorded round: the forked processes' JIT warm-up would otherwise land on round 1
    for (const lane of LANES) {
      p.status(`groups ${b.name} N=${n} ${lane} warm-up`);
      const s = await phase(pub, rd, lane, n, m);
      if (typeof s === 'string') failed.set(lane, s);
    }
    for (let r = 0; r < rounds; r++)
      for (const lane of LANES) {
        if (failed.has(lane)) continue;
        p.status(`groups ${b.name} N=${n} ${lane} round ${r + 1}/${rounds}`);
        const s = await phase(pub, rd, lane, n, m);
        if (typeof s === 'string') failed.set(lane, s);
        else samples.get(lane)!.push(s);
      }
  } catch (e) {
    for (const lane of LANES) if (!failed.has(lane)) failed.set(lane, e instanceof Error ? e.message : String(e));
  } finally {
    await pub.call({ cmd: 'teardown' }).catch(() => undefined);
    await rd.call({ cmd: 'teardown' }).catch(() => undefined);
    await Promise.all([pub.stop(), rd.stop()]);
  }
  const embedded = b.name === 'aedes';
  const where = `${m} messages of ${SIZE} B per round, ${WINDOW} in flight, QoS 1; publisher and readers in two processes${embedded ? ', aedes in a third' : ''}, on ${b.name}`;
  for (const lane of LANES) {
    const k = row(lane);
    const why = failed.get(lane);
    if (why !== undefined) {
      for (const x of ['delivered_per_s', 'publisher_cpu_us_per_msg', 'reader_cpu_us_per_delivery', 'publisher_bound_delivered_per_s'])
        c.skip(`${k}_${x}`, why);
      continue;
    }
    const ss = samples.get(lane)!;
    const of = (f: (s: Sample) => number): number[] => ss.map(f);
    c.addRounds(
      `${k}_delivered_per_s`,
      'msgs/s',
      of((s) => s.deliveredPerS),
      `deliveries to all ${n} readers per second, first publish → last delivery; ${where}`,
    );
    c.addRounds(
      `${k}_publisher_cpu_us_per_msg`,
      'µs',
      of((s) => s.publisherCpuUs),
      `CPU (user + system) of the publisher's process per application message, ${lane === 'pairwise' ? `${n} sends` : 'one publish'} (and the ACKs it receives); ${where}`,
    );
    c.addRounds(
      `${k}_reader_cpu_us_per_delivery`,
      'µs',
      of((s) => s.readerCpuUs),
      `CPU (user + system) of the readers' process per delivery (all ${n} readers' CPU / (${n} × messages)); ${where}`,
    );
    if (embedded)
      c.addRounds(
        `${k}_broker_cpu_us_per_msg`,
        'µs',
        of((s) => s.brokerCpuUs),
        `CPU of the process running aedes per application message; ${where}`,
      );
    c.addRounds(
      `${k}_process_cpu_us_per_msg`,
      'µs',
      of((s) => s.publisherCpuUs + n * s.readerCpuUs + (embedded ? s.brokerCpuUs : 0)),
      `CPU of all processes per application message: publisher + ${n} readers${embedded ? ' + aedes' : ' (Mosquitto not counted)'}`,
    );
    c.addRounds(
      `${k}_publisher_bound_delivered_per_s`,
      'msgs/s',
      of((s) => (n * 1e6) / s.publisherCpuUs),
      `N / publisher CPU per application message: the delivered rate when only the publisher's CPU bounds it (readers and broker on other cores or machines)`,
    );
  }
  for (const lane of ['group_nosig', 'group_sig', 'pairwise'] as const) {
    c.ratio(`groups_${b.name}_${lane}_over_plain_n${n}`, `${row(lane)}_delivered_per_s`, `${row('plain')}_delivered_per_s`);
    c.ratio(
      `groups_${b.name}_${lane}_over_plain_publisher_bound_n${n}`,
      `${row(lane)}_publisher_bound_delivered_per_s`,
      `${row('plain')}_publisher_bound_delivered_per_s`,
    );
  }
  for (const lane of ['group_nosig', 'group_sig'] as const) {
    c.ratio(`groups_${b.name}_${lane}_over_pairwise_n${n}`, `${row(lane)}_delivered_per_s`, `${row('pairwise')}_delivered_per_s`);
    c.ratio(
      `groups_${b.name}_${lane}_over_pairwise_publisher_bound_n${n}`,
      `${row(lane)}_publisher_bound_delivered_per_s`,
      `${row('pairwise')}_publisher_bound_delivered_per_s`,
    );
  }
}

/**
 * Publisher CPU per application message, measured on the protocol code alone (no broker, no I/O): one group seal
 * (with or without the publisher's signature) vs N pairwise record seals (SPEC 7.1), 256 B, the endpoint's default
 * suite and the test PKI's key type.
 */
function publisherCpu(c: Collector, o: BenchOptions, ns: readonly number[], pki: Pki): void {
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
    for (const n of ns) await benchBrokerN(c, o, b, n, pki, p);
    await b.close();
  }
}
