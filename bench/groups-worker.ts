/**
 * Publisher or readers process of the groups benchmark (forked by groups.ts, issue 20): it holds one side of every
 * lane (plain MQTT, hopsafe group with and without source signatures, hopsafe pairwise), so publisher-side CPU per
 * application message and reader-side CPU per delivery are measured in separate processes (process.cpuUsage).
 */
import { performance } from 'node:perf_hooks';
import mqtt, { type MqttClient } from 'mqtt';
import { mqttTransport } from '../src/bindings/mqtt.js';
import { createEndpoint, type Endpoint } from '../src/endpoint/endpoint.js';
import type { GroupsCommand, GroupsLane, GroupsReply } from './groups-protocol.js';
import { serve } from './worker-loop.js';

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

interface PubLane {
  readonly publishOne: (p: Uint8Array) => Promise<void>;
  /** Pairwise: opens the sessions (one message per reader, not measured). */
  readonly prime?: () => Promise<void>;
  close(): Promise<void>;
}

interface ReaderLane {
  /** Readers of the lane: progress is published per `step` = readers × 100 deliveries. */
  readers: number;
  count: number;
  /** Deliveries the current measurement waits for; the hrtime and CPU of the delivery that reached it. */
  target: number;
  lastNs: bigint;
  close(): Promise<void>;
}

/** Publisher: the progress subscription, the phase being driven and the messages delivered to all readers in it. */
let progressClient: MqttClient | undefined;
let drivePhase = -1;
let deliveredAll = 0;
let wake: (() => void) | undefined;
const pubLanes = new Map<GroupsLane, PubLane>();
const readerLanes = new Map<GroupsLane, ReaderLane>();
let cpuAtDrive = cpuNow();
let cpuAtReset = cpuNow();

function readerLane(lane: GroupsLane): ReaderLane {
  const l = readerLanes.get(lane);
  if (!l) throw new Error(`readers: ${lane} is not set up`);
  return l;
}

/**
 * Flow control of the measurement (not of hopsafe): every 100 application messages delivered to all readers, the
 * readers' process tells the publisher's (QoS 0, on `{prefix}/progress`), which keeps at most PROGRESS_AHEAD
 * messages beyond it, so a broker with bounded queues (Mosquitto: max_queued_messages 1000) never drops what a
 * slower reader has not read yet. Every lane alike.
 */
const PROGRESS_AHEAD = 500;
let progress: { client: MqttClient; topic: string; phase: number } | undefined;

function delivered(l: ReaderLane): void {
  const c = ++l.count;
  if (c === l.target) l.lastNs = process.hrtime.bigint();
  if (progress && c % (l.readers * 100) === 0) progress.client.publish(progress.topic, `${progress.phase}:${c / l.readers}`, { qos: 0 });
}

async function handle(m: GroupsCommand): Promise<GroupsReply> {
  switch (m.cmd) {
    case 'setup-pub': {
      const topic = `${m.prefix}/plain/t`;
      if (m.lane === 'plain') {
        const c = await mqtt.connectAsync(m.url, { clientId: `${m.prefix}-pub`, clean: true });
        pubLanes.set(m.lane, {
          publishOne: (p) => c.publishAsync(topic, Buffer.from(p), { qos: 1 }).then(() => undefined),
          close: () => c.endAsync(),
        });
        return { ok: true };
      }
      const ep = await createEndpoint({
        id: 'pub',
        identity: m.identity,
        trust: { roots: [...m.roots] },
        transport: mqttTransport({ url: m.url, prefix: m.prefix, clientId: `${m.prefix}-pub`, mqttOptions: { clean: true } }),
      });
      const close = (): Promise<void> => ep.close();
      if (m.lane === 'pairwise') {
        const names = [...m.members];
        pubLanes.set(m.lane, {
          publishOne: (p) => Promise.all(names.map((id) => ep.send(id, p))).then(() => undefined),
          prime: () => Promise.all(names.map((id) => ep.send(id, new Uint8Array(1)))).then(() => undefined),
          close,
        });
        return { ok: true };
      }
      const g = await ep.group('bench', { members: [...m.members], sourceAuth: m.lane === 'group_sig' ? 'signature' : 'none' });
      pubLanes.set(m.lane, { publishOne: (p) => g.publish(p), close });
      return { ok: true };
    }
    case 'setup-readers': {
      const l: ReaderLane = { readers: Object.keys(m.identities).length, count: 0, target: 0, lastNs: 0n, close: async () => undefined };
      const topic = `${m.prefix}/plain/t`;
      if (m.lane === 'plain') {
        const cs: MqttClient[] = [];
        for (const id of Object.keys(m.identities)) {
          const c = await mqtt.connectAsync(m.url, { clientId: `${m.prefix}-${id}`, clean: true });
          c.on('message', () => delivered(l));
          await c.subscribeAsync(topic, { qos: 1 });
          cs.push(c);
        }
        l.close = () => Promise.all(cs.map((c) => c.endAsync())).then(() => undefined);
      } else {
        const eps: Endpoint[] = [];
        for (const [id, identity] of Object.entries(m.identities)) {
          const ep = await createEndpoint({
            id,
            identity,
            trust: { roots: [...m.roots] },
            transport: mqttTransport({ url: m.url, prefix: m.prefix, clientId: `${m.prefix}-${id}`, mqttOptions: { clean: true } }),
          });
          ep.on('message', () => delivered(l));
          eps.push(ep);
        }
        if (m.lane !== 'pairwise') await Promise.all(eps.map((ep) => ep.join('pub', 'bench')));
        l.close = () => Promise.all(eps.map((e) => e.close())).then(() => undefined);
      }
      readerLanes.set(m.lane, l);
      return { ok: true };
    }
    case 'prime':
      await pubLanes.get(m.lane)?.prime?.();
      return { ok: true };
    case 'progress': {
      // both sides: the readers publish on it, the publisher reads it
      const client = await mqtt.connectAsync(m.url, { clientId: `${m.topic.replace(/\//g, '-')}-${m.side}`, clean: true });
      if (m.side === 'readers') progress = { client, topic: m.topic, phase: 0 };
      else {
        client.on('message', (_t, b) => {
          const [phase, count] = b.toString().split(':').map(Number);
          if (phase === drivePhase && count !== undefined && count > deliveredAll) {
            deliveredAll = count;
            wake?.();
          }
        });
        await client.subscribeAsync(m.topic, { qos: 0 });
        progressClient = client;
      }
      return { ok: true };
    }
    case 'reset': {
      if (progress) progress.phase = m.phase;
      const l = readerLane(m.lane);
      l.count = 0;
      l.target = m.expect;
      l.lastNs = 0n;
      cpuAtReset = cpuNow();
      return { ok: true };
    }
    case 'report': {
      const l = readerLane(m.lane);
      return { ok: true, count: l.count, lastNs: Number(l.lastNs), cpuUs: cpuNow() - cpuAtReset };
    }
    case 'drive': {
      const l = pubLanes.get(m.lane);
      if (!l) throw new Error(`publisher: ${m.lane} is not set up`);
      const p = new Uint8Array(m.size).fill(0x5a);
      drivePhase = m.phase;
      deliveredAll = 0;
      cpuAtDrive = cpuNow();
      const t0 = process.hrtime.bigint();
      let sync = 0;
      const inFlight = new Set<Promise<void>>();
      for (let i = 0; i < m.count; i++) {
        const s = performance.now();
        const x = l.publishOne(p);
        sync += performance.now() - s;
        const y = x.finally(() => inFlight.delete(y));
        inFlight.add(y);
        if (inFlight.size >= m.window) await Promise.race(inFlight);
        while (progressClient && i + 1 - deliveredAll > PROGRESS_AHEAD)
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 20); // a lost progress message (QoS 0) only delays the next check
          });
      }
      await Promise.all(inFlight);
      return { ok: true, t0Ns: Number(t0), syncUs: (sync * 1000) / m.count };
    }
    case 'cpu':
      return { ok: true, cpuUs: cpuNow() - cpuAtDrive };
    case 'teardown': {
      const all = [...pubLanes.values(), ...readerLanes.values()];
      pubLanes.clear();
      readerLanes.clear();
      await Promise.allSettled([progress?.client.endAsync(), progressClient?.endAsync()]);
      progress = undefined;
      progressClient = undefined;
      await Promise.allSettled(all.map((l) => l.close()));
      return { ok: true };
    }
  }
}

serve(handle);
