/**
 * Benchmark 6: end to end through each broker. Publisher and subscriber run in separate
 * processes (child_process.fork of e2e-worker); QoS 1 / confirms; 256-byte payloads. For each
 * broker: plain (the same transport, no session) max throughput, then hopsafe integrity and
 * confidentiality; one-way latency at half the plain maximum rate; added latency = E2E − plain, and,
 * at the same rate, the latency hopsafe itself adds per message, timed inside the two worker processes
 * around the endpoint (e2e-timing.ts: send() → frame to the transport, frame from the transport → 'message').
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { startBroker } from '../src/broker/index.js';
import { createTestPki } from '../src/testing/index.js';
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { cdfPoints, percentile, sleep } from './measure.js';
import { reachable } from '../test/support/net.js';
import { childExecArgv } from './fork-args.js';
import { prosodyInstalled, startProsody } from '../test/support/prosody.js';
import { combineAdded, type AddedLatency } from './e2e-timing.js';
import type { E2eMode, SubReport, TransportSpec, WorkerCommand, WorkerReply } from './e2e-protocol.js';

const MODES: readonly E2eMode[] = ['plain', 'integrity', 'confidentiality', 'confidentiality_single'];
const WINDOW = 64;

class Worker {
  private readonly child: ChildProcess;
  private queue: Promise<unknown> = Promise.resolve();
  constructor(readonly role: string) {
    const here = import.meta.url;
    const file = fileURLToPath(new URL(here.endsWith('.ts') ? './e2e-worker.ts' : './e2e-worker.js', here));
    this.child = fork(file, [], { execArgv: childExecArgv(), stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  }

  call(cmd: WorkerCommand, timeoutMs = 60_000): Promise<WorkerReply & { ok: true }> {
    const run = this.queue.then(
      () =>
        new Promise<WorkerReply & { ok: true }>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.child.off('message', onMsg);
            reject(new Error(`${this.role}: ${cmd.cmd} timed out`));
          }, timeoutMs);
          const onMsg = (m: WorkerReply): void => {
            clearTimeout(timer);
            this.child.off('message', onMsg);
            if (m.ok) resolve(m);
            else reject(new Error(`${this.role}: ${cmd.cmd}: ${m.error}`));
          };
          this.child.on('message', onMsg);
          this.child.send(cmd);
        }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.disconnect();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

interface Target {
  readonly system: 'mqtt' | 'amqp' | 'xmpp';
  /** Row prefix part, e.g. `aedes` or `aedes_qos0`. */
  readonly broker: string;
  /** Only in the full run. */
  readonly fullOnly?: boolean;
  /** Why it cannot run, or a started target. */
  start(ids: readonly string[]): Promise<{ spec: TransportSpec; stop(): Promise<void> } | string>;
}

const NONCE = randomBytes(3).toString('hex');

function mqttTargets(qos: 0 | 1): Target[] {
  const q = qos === 0 ? '_qos0' : '';
  return [
    {
      system: 'mqtt',
      broker: `aedes${q}`,
      fullOnly: qos === 0,
      async start() {
        const b = await startBroker();
        return { spec: { kind: 'mqtt', url: b.url, prefix: `hb${NONCE}${qos}`, qos }, stop: () => b.close() };
      },
    },
    {
      system: 'mqtt',
      broker: `mosquitto${q}`,
      fullOnly: qos === 0,
      async start() {
        if (!(await reachable('127.0.0.1', 1883))) return 'Mosquitto unreachable on 127.0.0.1:1883';
        return { spec: { kind: 'mqtt', url: 'mqtt://127.0.0.1:1883', prefix: `hb${NONCE}${qos}`, qos }, stop: async () => undefined };
      },
    },
  ];
}

function targets(): Target[] {
  return [
    ...mqttTargets(1),
    {
      system: 'amqp',
      broker: 'rabbitmq',
      async start(ids) {
        if (!(await reachable('127.0.0.1', 5672))) return 'RabbitMQ unreachable on 127.0.0.1:5672';
        const url = 'amqp://guest:guest@127.0.0.1:5672';
        const exchange = `hopsafe-bench-${NONCE}`;
        return {
          spec: { kind: 'amqp', url, exchange },
          // The bench declares non-durable queues and an exchange of its own: remove them.
          async stop() {
            const conn = await amqplib.connect(url);
            const ch = await conn.createChannel();
            for (const id of ids) await ch.deleteQueue(`${exchange}.${id}`).catch(() => undefined);
            await ch.deleteExchange(exchange).catch(() => undefined);
            await conn.close();
          },
        };
      },
    },
    {
      system: 'xmpp',
      broker: 'prosody',
      async start(ids) {
        if (!prosodyInstalled()) return 'Prosody is not installed (scripts/ci/install-prosody.sh)';
        const p = await startProsody({ users: [] });
        const password = randomBytes(9).toString('base64url');
        for (const id of ids) await p.register({ username: id, password });
        return { spec: { kind: 'xmpp', service: p.service, domain: p.domain, password }, stop: () => p.stop() };
      },
    },
    ...mqttTargets(0),
  ];
}

/** Polls the subscriber (counts only) until `sent` arrived or arrivals stop; with `detail`, then fetches the samples once. */
/**
 * Rows of the latency hopsafe itself adds per message, measured directly in the worker processes
 * (e2e-timing.ts), at the same rate as the one-way latency rows. The plain lane goes through the same
 * wrappers, so its numbers are the floor of the instrumentation (clock reads, wrapper calls).
 */
function addHopsafeAdded(c: Collector, row: string, a: AddedLatency, rate: number, floor: AddedLatency | undefined): void {
  const pct = (x: number[], p: number): string => (x.length ? `${percentile(x, p).toFixed(1)}` : '–');
  const sides =
    `publisher (endpoint.send() call → protected frame handed to transport.send) p50 ${pct(a.publisherUs, 50)} / p99 ${pct(a.publisherUs, 99)} µs over ${a.publisherUs.length} messages; ` +
    `subscriber (transport hands the frame to endpoint.onFrame → 'message' event; includes any wait in the endpoint's inbound queue: a record for an idle peer is handled inside the call, a frame behind a handshake or earlier frames of the sender waits for them) p50 ${pct(a.subscriberUs, 50)} / p99 ${pct(a.subscriberUs, 99)} µs over ${a.subscriberUs.length}`;
  const floorNote = floor ? `; the plain lane through the same wrappers (instrumentation floor): sum p50 ${pct(floor.sumUs, 50)} / p99 ${pct(floor.sumUs, 99)} µs` : '';
  const note = `hopsafe's own work per message, timed inside the publisher and subscriber processes (process.hrtime) around the endpoint, at ${rate} msgs/s = half the plain maximum, excludes broker and network; per message publisher + subscriber time, joined on the payload's stamp (${a.sumUs.length} messages); ${sides}${floorNote}`;
  if (a.sumUs.length === 0) {
    c.skip(`${row}_hopsafe_added_p50_latency_us`, 'no message was timed on both sides');
    c.skip(`${row}_hopsafe_added_p99_latency_us`, 'no message was timed on both sides');
    return;
  }
  c.add(`${row}_hopsafe_added_p50_latency_us`, 'µs', percentile(a.sumUs, 50), note);
  c.add(`${row}_hopsafe_added_p99_latency_us`, 'µs', percentile(a.sumUs, 99), note);
  const sideNote = (s: string): string => `${s} side alone of ${row}_hopsafe_added_p99_latency_us (see its note)`;
  if (a.publisherUs.length) c.add(`${row}_hopsafe_publisher_p99_latency_us`, 'µs', percentile(a.publisherUs, 99), sideNote('publisher'));
  if (a.subscriberUs.length) c.add(`${row}_hopsafe_subscriber_p99_latency_us`, 'µs', percentile(a.subscriberUs, 99), sideNote('subscriber'));
}

/** [SPEC 3.7] Note suffix: the share of a run's records that left inside BATCH frames (none for plain). */
function batchedNote(mode: E2eMode, coalesced: number, sent: number): string {
  if (mode === 'plain') return '';
  return `; ${sent > 0 ? ((100 * coalesced) / sent).toFixed(1) : '0'} % of the records left in BATCH frames (SPEC 3.7)`;
}

async function drained(sub: Worker, sent: number, maxMs = 15_000, detail = false): Promise<SubReport> {
  const deadline = performance.now() + maxMs;
  let last = -1;
  let stableSince = performance.now();
  for (;;) {
    const r = (await sub.call({ cmd: 'report' })).report as SubReport;
    const done = r.count >= sent || (r.count === last && (performance.now() - stableSince > 1500 || performance.now() > deadline));
    if (done) return detail ? ((await sub.call({ cmd: 'report', detail: true })).report as SubReport) : r;
    if (r.count !== last) {
      last = r.count;
      stableSince = performance.now();
    }
    await sleep(50);
  }
}

export async function benchE2e(c: Collector, o: BenchOptions, progress: Progress): Promise<void> {
  const ids: Record<string, { pub: string; sub: string }> = {};
  for (const m of MODES) {
    const tag = m.split('_').map((w) => w.slice(0, 4)).join('');
    ids[m] = { pub: `bp${NONCE}-${tag}`, sub: `bs${NONCE}-${tag}` };
  }
  const allIds = Object.values(ids).flatMap((x) => [x.pub, x.sub]);
  const pki = await createTestPki({ endpoints: allIds.map((id) => ({ id })) });
  for (const t of targets()) {
    if (t.fullOnly && o.quick) continue;
    const key = `${t.system}_${t.broker}`;
    const modes = o.quick && t.broker !== 'aedes' ? (['plain', 'confidentiality'] as const) : MODES;
    const rowsOf = (mode: E2eMode): string => `${key}_${mode}_256B`;
    progress.status(`e2e ${t.broker}: starting`);
    let started: Awaited<ReturnType<Target['start']>>;
    try {
      started = await t.start(allIds);
    } catch (e) {
      started = `could not start: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (typeof started === 'string') {
      for (const m of MODES) c.skip(`${rowsOf(m)}_msgs_per_s`, started);
      for (const m of MODES.slice(1)) c.skipRatio(`${key}_e2e_over_plain_${m}_256B`, started);
      continue;
    }
    const pub = new Worker(`${t.broker} publisher`);
    const sub = new Worker(`${t.broker} subscriber`);
    const failed = new Map<E2eMode, string>();
    const fail = (mode: E2eMode, e: unknown): void => void failed.set(mode, e instanceof Error ? e.message : String(e));
    try {
      for (const mode of modes) {
        progress.status(`e2e ${t.broker} ${mode}: set-up`);
        const idp = ids[mode] as { pub: string; sub: string };
        const cred = (id: string): Partial<Extract<WorkerCommand, { cmd: 'setup' }>> =>
          mode === 'plain' ? {} : { identity: pki.identities[id] as { certificate: string; privateKey: string }, roots: pki.roots };
        try {
          await sub.call({ cmd: 'setup', transport: started.spec, mode, id: idp.sub, peer: idp.pub, ...cred(idp.sub) });
          await pub.call({ cmd: 'setup', transport: started.spec, mode, id: idp.pub, peer: idp.sub, ...cred(idp.pub) });
          await sub.call({ cmd: 'reset' });
          await pub.call({ cmd: 'warmup', mode, count: 20 });
          const w = await drained(sub, 20, 5000);
          if (w.count < 20) throw new Error(`warm-up: ${w.count}/20 messages arrived`);
        } catch (e) {
          fail(mode, e);
        }
      }
      // Throughput: the modes alternate in rounds, so load changes on the machine hit all alike.
      const rounds = 2;
      const tp = new Map<E2eMode, { n: number; s: number; sent: number; got: number; coalesced: number }>();
      for (let round = 0; round < rounds; round++) {
        for (const mode of modes) {
          if (failed.has(mode)) continue;
          progress.status(`e2e ${t.broker} ${mode}: throughput (round ${round + 1}/${rounds})`);
          try {
            await sub.call({ cmd: 'reset' });
            const flood = await pub.call({ cmd: 'flood', mode, ms: o.e2eMs / rounds, window: WINDOW });
            const sent = flood.sent ?? 0;
            const r = await drained(sub, sent);
            const secs = (r.p95Ns - r.firstNs) / 1e9;
            if (r.count < 20 || secs <= 0) throw new Error(`only ${r.count} of ${sent} messages arrived`);
            const acc = tp.get(mode) ?? { n: 0, s: 0, sent: 0, got: 0, coalesced: 0 };
            tp.set(mode, { n: acc.n + r.p95Index, s: acc.s + secs, sent: acc.sent + sent, got: acc.got + r.count, coalesced: acc.coalesced + (flood.coalesced ?? 0) });
          } catch (e) {
            fail(mode, e);
          }
        }
      }
      for (const mode of modes) {
        const a = tp.get(mode);
        const why = failed.get(mode);
        if (why !== undefined || !a) c.skip(`${rowsOf(mode)}_msgs_per_s`, why ?? 'not measured');
        else c.add(`${rowsOf(mode)}_msgs_per_s`, 'msgs/s', a.n / a.s, `${t.broker.endsWith('qos0') ? 'QoS 0, sends resolve once written' : `QoS 1 / confirms, ${WINDOW} unacknowledged sends`}, separate publisher/subscriber processes, ${rounds} interleaved rounds; first → 95th-percentile arrival at the subscriber; ${a.got}/${a.sent} received${batchedNote(mode, a.coalesced, a.sent)}`);
      }
      const plainRate = c.value(`${rowsOf('plain')}_msgs_per_s`);
      let plainLat: number[] = [];
      let floor: AddedLatency | undefined;
      for (const mode of modes) {
        if (plainRate === undefined || failed.has(mode)) break;
        const rate = plainRate / 2;
        progress.status(`e2e ${t.broker} ${mode}: latency at ${Math.round(rate)}/s`);
        try {
          await sub.call({ cmd: 'reset' });
          const paced = await pub.call({ cmd: 'paced', mode, ms: o.e2eMs, perSecond: rate });
          const sentL = paced.sent ?? 0;
          const rl = await drained(sub, sentL, 15_000, true);
          const lat = [...(rl.latenciesUs ?? [])].sort((a, b) => a - b);
          const note = `one way (publisher hrtime in the payload → subscriber), at ${Math.round(rate)} msgs/s = half the plain maximum; ${lat.length} samples${batchedNote(mode, paced.coalesced ?? 0, sentL)}`;
          c.add(`${rowsOf(mode)}_p50_latency_us`, 'µs', percentile(lat, 50), note);
          c.add(`${rowsOf(mode)}_p99_latency_us`, 'µs', percentile(lat, 99), note);
          c.latencyCdf[`${t.broker} ${mode}`] = cdfPoints(lat);
          if (mode === 'plain') plainLat = lat;
          else if (plainLat.length > 0) {
            c.add(`${rowsOf(mode)}_added_p50_latency_us`, 'µs', percentile(lat, 50) - percentile(plainLat, 50), 'E2E p50 − plain p50 (same broker, same rate)');
            c.add(`${rowsOf(mode)}_added_p99_latency_us`, 'µs', percentile(lat, 99) - percentile(plainLat, 99), 'E2E p99 − plain p99 (same broker, same rate)');
          }
          const a = combineAdded(paced.added ?? { stamps: [], ns: [] }, rl.added ?? { stamps: [], ns: [] });
          if (mode === 'plain') floor = a;
          else addHopsafeAdded(c, rowsOf(mode), a, Math.round(rate), floor);
        } catch (e) {
          c.skip(`${rowsOf(mode)}_p50_latency_us`, e instanceof Error ? e.message : String(e));
        }
      }
      await Promise.allSettled([pub.call({ cmd: 'teardown' }, 10_000), sub.call({ cmd: 'teardown' }, 10_000)]);
    } finally {
      await Promise.allSettled([pub.stop(), sub.stop()]);
      await started.stop().catch(() => undefined);
    }
    for (const m of MODES.slice(1)) {
      if (!modes.includes(m)) c.skipRatio(`${key}_e2e_over_plain_${m}_256B`, '--quick measures confidentiality only on this broker');
      else c.ratio(`${key}_e2e_over_plain_${m}_256B`, `${rowsOf(m)}_msgs_per_s`, `${rowsOf('plain')}_msgs_per_s`);
    }
  }
}
