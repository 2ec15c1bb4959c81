/**
 * Benchmark 6: end to end through each broker. Publisher and subscriber run in separate processes
 * (child_process.fork of e2e-worker); QoS 1 / confirms unless marked qos0; 256-byte payloads. Per broker, lanes
 * (e2e-targets.ts): plain (the same transport, no session), plain batched the way the endpoint coalesces, and the
 * hopsafe modes; the private TLS Mosquitto adds plain and hopsafe over its TLS listener. Every measurement runs in
 * ≥ 3 interleaved rounds (lane after lane in each round), and a ratio is the median of its per-round ratios (issue 19):
 * - throughput at saturation (first → 95th-percentile arrival);
 * - at one fixed rate for all lanes of the broker (half the slowest plain lane's maximum): one-way latency, the
 *   latency hopsafe itself adds (e2e-timing.ts), and the CPU time per message of the publisher and of the subscriber
 *   process (process.cpuUsage, user + system); hopsafe's own CPU per message = lane − its plain baseline, per round;
 * - connection set-up: opening the transport plus the first send settling (for hopsafe this includes the handshake).
 */
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { cdfPoints, median, percentile } from './measure.js';
import { createTestPki } from '../src/testing/index.js';
import { combineAdded, type AddedLatency } from './e2e-timing.js';
import { isPlain, type E2eMode, type WorkerCommand } from './e2e-protocol.js';
import { drained, Worker } from './e2e-worker-client.js';
import { LANE_NAMES, NONCE, targets, type Lane, type Started } from './e2e-targets.js';

const MODES: readonly E2eMode[] = ['plain', 'plain_batched', 'integrity', 'confidentiality', 'confidentiality_single'];
const QUICK_MODES: readonly E2eMode[] = ['plain', 'plain_batched', 'confidentiality', 'confidentiality_single'];
const WINDOW = 64;
/** Interleaved rounds of every measurement (issue 19: ≥ 3). */
export const E2E_ROUNDS = 3;
/** Broker rows whose coalescing-off CPU figures make the issue-19 medians (the TLS baseline broker is separate). */
/** The NATS rows (added after issue 19) stay out too, so the medians keep measuring the same broker rows. */
const CPU_MEDIAN_EXCLUDES = /^(mqtt_mosquitto_private|nats_core|nats_jetstream)$/;

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
  const floorNote = floor
    ? `; the plain lane through the same wrappers (instrumentation floor): sum p50 ${pct(floor.sumUs, 50)} / p99 ${pct(floor.sumUs, 99)} µs`
    : '';
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
  if (a.subscriberUs.length)
    c.add(`${row}_hopsafe_subscriber_p99_latency_us`, 'µs', percentile(a.subscriberUs, 99), sideNote('subscriber'));
}

/** [SPEC 3.7] Note suffix: the share of a run's records that left inside BATCH frames (none for plain). */
function batchedNote(mode: E2eMode, coalesced: number, sent: number): string {
  if (mode === 'plain') return '';
  if (mode === 'plain_batched')
    return `; ${sent > 0 ? ((100 * coalesced) / sent).toFixed(1) : '0'} % of the payloads left in plain batches`;
  return `; ${sent > 0 ? ((100 * coalesced) / sent).toFixed(1) : '0'} % of the records left in BATCH frames (SPEC 3.7)`;
}

interface LaneState {
  readonly lane: Lane;
  failed?: string;
  tput: number[];
  got: number;
  sent: number;
  coalesced: number;
  pubCpu: number[];
  subCpu: number[];
  lat: number[];
  pubAdded: { stamps: number[]; ns: number[] };
  subAdded: { stamps: number[]; ns: number[] };
  pacedSent: number;
  pacedCoalesced: number;
  setupMs?: number;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function benchE2e(c: Collector, o: BenchOptions, progress: Progress): Promise<void> {
  const ids: Record<string, { pub: string; sub: string }> = {};
  for (const n of LANE_NAMES) {
    const tag = n
      .split('_')
      .map((w) => w.slice(0, 4))
      .join('');
    ids[n] = { pub: `bp${NONCE}-${tag}`, sub: `bs${NONCE}-${tag}` };
  }
  const allIds = Object.values(ids).flatMap((x) => [x.pub, x.sub]);
  const pki = await createTestPki({ endpoints: allIds.map((id) => ({ id })) });
  const singleCpu = { send: [] as number[], receive: [] as number[], rows: [] as string[] };
  for (const t of targets()) {
    if (t.fullOnly && o.quick) continue;
    const key = `${t.system}_${t.broker}`;
    if (o.e2eTargets && !o.e2eTargets.includes(key)) continue; // --e2e: the required ratios are then skipped, named

    const modes = o.quick && t.broker !== 'aedes' ? QUICK_MODES : MODES;
    const rowsOf = (lane: string): string => `${key}_${lane}_256B`;
    progress.status(`e2e ${t.broker}: starting`);
    let started: Started | string;
    try {
      started = await t.start(allIds, modes);
    } catch (e) {
      started = `could not start: ${errText(e)}`;
    }
    if (typeof started === 'string') {
      for (const m of MODES) c.skip(`${rowsOf(m)}_msgs_per_s`, started);
      for (const m of MODES.slice(1)) c.skipRatio(`${key}_e2e_over_plain_${m}_256B`, started);
      if (t.broker === 'mosquitto_private') {
        c.skipRatio('mqtt_mosquitto_e2e_over_plain_tls_confidentiality_single_256B', started);
        c.skipRatio('mqtt_mosquitto_tls_e2e_over_plain_tls_confidentiality_single_256B', started);
      }
      continue;
    }
    const lanes: LaneState[] = started.lanes.map((lane) => ({
      lane,
      tput: [],
      got: 0,
      sent: 0,
      coalesced: 0,
      pubCpu: [],
      subCpu: [],
      lat: [],
      pubAdded: { stamps: [], ns: [] },
      subAdded: { stamps: [], ns: [] },
      pacedSent: 0,
      pacedCoalesced: 0,
    }));
    const live = (): LaneState[] => lanes.filter((l) => l.failed === undefined);
    const pub = new Worker(`${t.broker} publisher`);
    const sub = new Worker(`${t.broker} subscriber`);
    try {
      // Unmeasured plain lanes first, one per transport kind (TCP, TLS), so that the first measured set-up does not
      // pay the workers' module loading and JIT warm-up.
      const warm = started.lanes.filter(
        (l, i, all) =>
          all.findIndex((x) => Boolean(x.spec.kind === 'mqtt' && x.spec.tls) === Boolean(l.spec.kind === 'mqtt' && l.spec.tls)) === i,
      );
      for (const w of warm) {
        const name = w.spec.kind === 'mqtt' && w.spec.tls ? 'warm_tls' : 'warm';
        const idp = ids[name] as { pub: string; sub: string };
        await sub.call({ cmd: 'setup', lane: name, transport: w.spec, mode: 'plain', id: idp.sub, peer: idp.pub }).catch(() => undefined);
        await pub.call({ cmd: 'setup', lane: name, transport: w.spec, mode: 'plain', id: idp.pub, peer: idp.sub }).catch(() => undefined);
        await pub.call({ cmd: 'warmup', lane: name, count: 20 }).catch(() => undefined);
      }
      for (const l of lanes) {
        const { name, mode, spec } = l.lane;
        progress.status(`e2e ${t.broker} ${name}: set-up`);
        const idp = ids[name] as { pub: string; sub: string };
        const cred = (id: string): Partial<Extract<WorkerCommand, { cmd: 'setup' }>> =>
          isPlain(mode) ? {} : { identity: pki.identities[id] as { certificate: string; privateKey: string }, roots: pki.roots };
        try {
          await sub.call({ cmd: 'setup', lane: name, transport: spec, mode, id: idp.sub, peer: idp.pub, ...cred(idp.sub) });
          const s = await pub.call({ cmd: 'setup', lane: name, transport: spec, mode, id: idp.pub, peer: idp.sub, ...cred(idp.pub) });
          await sub.call({ cmd: 'reset' });
          const w0 = await pub.call({ cmd: 'warmup', lane: name, count: 20 });
          const w = await drained(sub, 20, 5000);
          if (w.count < 20) throw new Error(`warm-up: ${w.count}/20 messages arrived`);
          l.setupMs = (s.ms ?? 0) + (w0.ms ?? 0);
        } catch (e) {
          l.failed = errText(e);
        }
      }
      // Throughput at saturation: the lanes alternate in rounds, so load changes on the machine hit all alike.
      for (let round = 0; round < E2E_ROUNDS; round++) {
        for (const l of live()) {
          progress.status(`e2e ${t.broker} ${l.lane.name}: throughput (round ${round + 1}/${E2E_ROUNDS})`);
          try {
            await sub.call({ cmd: 'reset' });
            const flood = await pub.call({ cmd: 'flood', lane: l.lane.name, ms: o.e2eMs / E2E_ROUNDS, window: WINDOW });
            const sent = flood.sent ?? 0;
            const r = await drained(sub, sent);
            const secs = (r.p95Ns - r.firstNs) / 1e9;
            if (r.count < 20 || secs <= 0) throw new Error(`only ${r.count} of ${sent} messages arrived`);
            l.tput.push(r.p95Index / secs);
            l.sent += sent;
            l.got += r.count;
            l.coalesced += flood.coalesced ?? 0;
          } catch (e) {
            l.failed = errText(e);
          }
        }
      }
      const qosNote = t.broker.endsWith('qos0') ? 'QoS 0, sends resolve once written' : `QoS 1 / confirms, ${WINDOW} unacknowledged sends`;
      for (const l of lanes) {
        if (l.failed !== undefined) c.skip(`${rowsOf(l.lane.name)}_msgs_per_s`, l.failed);
        else
          c.addRounds(
            `${rowsOf(l.lane.name)}_msgs_per_s`,
            'msgs/s',
            l.tput,
            `${qosNote}, separate publisher/subscriber processes, median of ${E2E_ROUNDS} interleaved rounds; first → 95th-percentile arrival at the subscriber; ${l.got}/${l.sent} received${batchedNote(l.lane.mode, l.coalesced, l.sent)}`,
          );
      }
      // One fixed rate for every lane of this broker: half the slowest plain lane's maximum.
      const plainRates = lanes
        .filter((l) => isPlain(l.lane.mode) && l.lane.mode === 'plain')
        .map((l) => c.value(`${rowsOf(l.lane.name)}_msgs_per_s`));
      const rate =
        plainRates.some((x) => x === undefined) || plainRates.length === 0
          ? undefined
          : Math.round(Math.min(...(plainRates as number[])) / 2);
      if (rate !== undefined) {
        for (let round = 0; round < E2E_ROUNDS; round++) {
          for (const l of live()) {
            progress.status(`e2e ${t.broker} ${l.lane.name}: ${rate}/s, latency and CPU (round ${round + 1}/${E2E_ROUNDS})`);
            try {
              await sub.call({ cmd: 'reset' });
              const paced = await pub.call({ cmd: 'paced', lane: l.lane.name, ms: o.e2eMs / E2E_ROUNDS, perSecond: rate });
              const sentL = paced.sent ?? 0;
              const rl = await drained(sub, sentL, 15_000, true);
              if (sentL === 0 || rl.cpuCount === 0) throw new Error(`paced run: ${rl.count} of ${sentL} arrived`);
              l.pubCpu.push((paced.cpuUs ?? Number.NaN) / sentL);
              l.subCpu.push(rl.cpuUs / rl.cpuCount);
              l.lat.push(...(rl.latenciesUs ?? []));
              l.pubAdded.stamps.push(...(paced.added?.stamps ?? []));
              l.pubAdded.ns.push(...(paced.added?.ns ?? []));
              l.subAdded.stamps.push(...(rl.added?.stamps ?? []));
              l.subAdded.ns.push(...(rl.added?.ns ?? []));
              l.pacedSent += sentL;
              l.pacedCoalesced += paced.coalesced ?? 0;
            } catch (e) {
              c.skip(`${rowsOf(l.lane.name)}_p50_latency_us`, errText(e));
              l.pubCpu.push(Number.NaN);
              l.subCpu.push(Number.NaN);
            }
          }
        }
        report(c, key, lanes, rate, singleCpu);
      }
      await Promise.allSettled([pub.call({ cmd: 'teardown' }, 10_000), sub.call({ cmd: 'teardown' }, 10_000)]);
    } finally {
      await Promise.allSettled([pub.stop(), sub.stop()]);
      await started.stop().catch(() => undefined);
    }
    const names = lanes.map((l) => l.lane.name);
    for (const l of lanes) {
      if (l.lane.mode === 'plain' && l.lane.name === 'plain') continue;
      c.ratio(`${key}_e2e_over_plain_${l.lane.name}_256B`, `${rowsOf(l.lane.name)}_msgs_per_s`, `${rowsOf('plain')}_msgs_per_s`);
      if (l.lane.baseline && l.lane.baseline !== 'plain')
        c.ratio(
          `${key}_e2e_over_${l.lane.baseline}_${l.lane.mode}_256B`,
          `${rowsOf(l.lane.name)}_msgs_per_s`,
          `${rowsOf(l.lane.baseline)}_msgs_per_s`,
        );
    }
    if (t.broker === 'mosquitto_private') {
      // hopsafe over plain TCP vs what a user would run instead: plain MQTT over TLS (same broker process, side by side).
      c.ratio(
        'mqtt_mosquitto_e2e_over_plain_tls_confidentiality_single_256B',
        `${rowsOf('confidentiality_single')}_msgs_per_s`,
        `${rowsOf('plain_tls')}_msgs_per_s`,
      );
      c.ratio(
        'mqtt_mosquitto_tls_e2e_over_plain_tls_confidentiality_single_256B',
        `${rowsOf('confidentiality_single_tls')}_msgs_per_s`,
        `${rowsOf('plain_tls')}_msgs_per_s`,
      );
      for (const n of names) c.ratio(`${key}_setup_${n}_over_plain`, `${rowsOf(n)}_setup_ms`, `${rowsOf('plain')}_setup_ms`);
    } else {
      for (const m of MODES.slice(1))
        if (!names.includes(m)) c.skipRatio(`${key}_e2e_over_plain_${m}_256B`, '--quick measures integrity on aedes only');
    }
  }
  const why = 'no broker row measured confidentiality with coalescing off';
  // The per-row values go in the note, not in `rounds`: they are broker rows, each already a median of its rounds.
  const rowsNote = (side: string, xs: readonly number[]): string =>
    `median over the broker rows of ${side} CPU µs per message of the confidentiality_single lane (coalescing off) − the plain lane, both at the same fixed rate, each row a median of ${E2E_ROUNDS} interleaved rounds: ${singleCpu.rows.map((k, i) => `${k} ${(xs[i] ?? Number.NaN).toFixed(1)}`).join(', ')}`;
  if (singleCpu.send.length)
    c.add('hopsafe_cpu_us_per_msg_send_confidentiality_256B', 'µs', median(singleCpu.send), rowsNote('publisher', singleCpu.send));
  else c.skip('hopsafe_cpu_us_per_msg_send_confidentiality_256B', why);
  if (singleCpu.receive.length)
    c.add(
      'hopsafe_cpu_us_per_msg_receive_confidentiality_256B',
      'µs',
      median(singleCpu.receive),
      rowsNote('subscriber', singleCpu.receive),
    );
  else c.skip('hopsafe_cpu_us_per_msg_receive_confidentiality_256B', why);
}

/** Latency, hopsafe-added latency, CPU per message and set-up rows of one broker's lanes. */
function report(
  c: Collector,
  key: string,
  lanes: readonly LaneState[],
  rate: number,
  singleCpu: { send: number[]; receive: number[]; rows: string[] },
): void {
  const rowsOf = (lane: string): string => `${key}_${lane}_256B`;
  const byName = new Map(lanes.map((l) => [l.lane.name, l]));
  const floors = new Map<string, AddedLatency>();
  for (const l of lanes) if (isPlain(l.lane.mode)) floors.set(l.lane.name, combineAdded(l.pubAdded, l.subAdded));
  const cpuNote = (side: string): string =>
    `${side} process CPU (process.cpuUsage user + system) per message at ${rate} msgs/s (the same fixed rate for every lane of this broker: half the slowest plain maximum), median of ${E2E_ROUNDS} interleaved rounds; timing instrumentation on in every lane alike`;
  for (const l of lanes) {
    const row = rowsOf(l.lane.name);
    if (l.setupMs !== undefined)
      c.add(
        `${row}_setup_ms`,
        'ms',
        l.setupMs,
        `connection set-up: the publisher's transport open (connect${l.lane.spec.kind === 'mqtt' && l.lane.spec.tls ? ', mutual TLS' : ''}, subscribe${isPlain(l.lane.mode) ? '' : ', endpoint start'}) + its first send settling${isPlain(l.lane.mode) ? '' : ' (the hopsafe handshake through the broker first)'}`,
      );
    if (l.failed !== undefined || l.lat.length === 0) continue;
    const lat = [...l.lat].sort((a, b) => a - b);
    const note = `one way (publisher hrtime in the payload → subscriber), at ${rate} msgs/s (half the slowest plain maximum), ${E2E_ROUNDS} interleaved rounds; ${lat.length} samples${batchedNote(l.lane.mode, l.pacedCoalesced, l.pacedSent)}`;
    c.add(`${row}_p50_latency_us`, 'µs', percentile(lat, 50), note);
    c.add(`${row}_p99_latency_us`, 'µs', percentile(lat, 99), note);
    c.latencyCdf[`${key.replace(/^(mqtt|amqp|xmpp)_/, '')} ${l.lane.name}`] = cdfPoints(lat);
    c.addRounds(`${row}_publisher_cpu_us_per_msg`, 'µs', l.pubCpu, cpuNote('publisher'));
    c.addRounds(`${row}_subscriber_cpu_us_per_msg`, 'µs', l.subCpu, cpuNote('subscriber'));
    const base = l.lane.baseline === undefined ? undefined : byName.get(l.lane.baseline);
    if (!base || base.lat.length === 0) continue;
    const baseLat = [...base.lat].sort((a, b) => a - b);
    c.add(
      `${row}_added_p50_latency_us`,
      'µs',
      percentile(lat, 50) - percentile(baseLat, 50),
      `p50 − ${base.lane.name} p50 (same broker, same rate)`,
    );
    c.add(
      `${row}_added_p99_latency_us`,
      'µs',
      percentile(lat, 99) - percentile(baseLat, 99),
      `p99 − ${base.lane.name} p99 (same broker, same rate)`,
    );
    const send = l.pubCpu.map((x, i) => x - (base.pubCpu[i] ?? Number.NaN));
    const receive = l.subCpu.map((x, i) => x - (base.subCpu[i] ?? Number.NaN));
    const what = isPlain(l.lane.mode) ? 'added' : "hopsafe's own";
    c.addRounds(
      `${row}_${isPlain(l.lane.mode) ? 'added' : 'hopsafe'}_cpu_us_per_msg_send`,
      'µs',
      send,
      `${what} CPU per message, publisher: this lane − the ${base.lane.name} lane, per round (${cpuNote('publisher')})`,
    );
    c.addRounds(
      `${row}_${isPlain(l.lane.mode) ? 'added' : 'hopsafe'}_cpu_us_per_msg_receive`,
      'µs',
      receive,
      `${what} CPU per message, subscriber: this lane − the ${base.lane.name} lane, per round (${cpuNote('subscriber')})`,
    );
    if (l.lane.name === 'confidentiality_single' && !CPU_MEDIAN_EXCLUDES.test(key)) {
      const s = median(send);
      const r = median(receive);
      if (Number.isFinite(s) && Number.isFinite(r)) {
        singleCpu.send.push(s);
        singleCpu.receive.push(r);
        singleCpu.rows.push(key);
      }
    }
    if (!isPlain(l.lane.mode)) addHopsafeAdded(c, row, combineAdded(l.pubAdded, l.subAdded), rate, floors.get(base.lane.name));
  }
}
