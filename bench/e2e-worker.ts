/**
 * Publisher or subscriber process of the E2E benchmark (forked by e2e.ts). It carries 256-byte
 * payloads over one transport, either plain (transport.send / onFrame) or through a hopsafe
 * endpoint (endpoint.send / 'message'), as the parent commands over IPC.
 */
import { createEndpoint, type Endpoint } from '../src/endpoint/endpoint.js';
import type { Transport } from '../src/transport/transport.js';
import { mqttTransport } from '../src/bindings/mqtt.js';
import { amqpTransport } from '../src/bindings/amqp.js';
import { xmppTransport } from '../src/bindings/xmpp.js';
import { natsTransport } from '../src/bindings/nats.js';
import { timedTransport, type TimedTransport } from './e2e-timing.js';
import { readFileSync } from 'node:fs';
import { PAYLOAD_SIZE, type SubReport, type TransportSpec, type WorkerCommand, type WorkerReply } from './e2e-protocol.js';
import { decodePlainBatch, PlainBatcher } from './plain-batcher.js';
import { serve } from './worker-loop.js';

function makeTransport(spec: TransportSpec, id: string): Transport {
  switch (spec.kind) {
    case 'mqtt': {
      const t = spec.tls;
      const tls = t
        ? { mqttOptions: { ca: readFileSync(t.ca), cert: readFileSync(t.cert), key: readFileSync(t.key), rejectUnauthorized: true } }
        : {};
      return mqttTransport({ url: spec.url, prefix: spec.prefix, qos: spec.qos, unsubscribeOnClose: true, clientId: id, ...tls });
    }
    case 'amqp':
      return amqpTransport({ url: spec.url, exchange: spec.exchange, durable: false });
    case 'xmpp':
      return xmppTransport({ service: spec.service, domain: spec.domain, password: spec.password, plainAuth: 'always' });
    case 'nats':
      return natsTransport({ servers: spec.servers, prefix: spec.prefix, ...(spec.stream ? { jetstream: { stream: spec.stream } } : {}) });
  }
}

interface Lane {
  readonly peer: string;
  /** The transport, wrapped to time hopsafe's own work on the path (e2e-timing.ts); plain lanes time only the wrapper. */
  readonly timed: TimedTransport;
  readonly endpoint?: Endpoint;
  /** plain_batched: the batcher the publisher sends through. */
  readonly batcher?: PlainBatcher;
}
const lanes = new Map<string, Lane>();
let arrivals: bigint[] = [];
let latencies: number[] = [];
let first = 0n;
let last = 0n;
/** Publisher: hand-over times of the current `paced` run; subscriber: delivery → message times since `reset`. */
let added: { stamps: number[]; ns: number[] } = { stamps: [], ns: [] };
let timing = false;
const cpuNow = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
/** Subscriber: CPU µs at the last reset, and at every 16th arrival since (one getrusage per 16 messages). */
let cpuAtReset = cpuNow();
let cpuAtSample = cpuAtReset;
let sampledCount = 0;

function stampOf(data: Uint8Array): bigint | undefined {
  return data.length >= 8 ? new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(0) : undefined;
}

function onPayload(data: Uint8Array, deliveredNs: number | undefined): void {
  const now = process.hrtime.bigint();
  const sent = stampOf(data);
  if (sent !== undefined) {
    latencies.push(Number(now - sent) / 1000);
    if (deliveredNs !== undefined) {
      added.stamps.push(Number(sent));
      added.ns.push(deliveredNs);
    }
  }
  if (arrivals.length === 0) first = now;
  last = now;
  arrivals.push(now);
  if ((arrivals.length & 15) === 0) {
    cpuAtSample = cpuNow();
    sampledCount = arrivals.length;
  }
}

function payload(): Uint8Array {
  const p = new Uint8Array(PAYLOAD_SIZE).fill(0x5a);
  new DataView(p.buffer).setBigUint64(0, process.hrtime.bigint());
  return p;
}

function sender(lane: string): () => Promise<void> {
  const l = lanes.get(lane);
  if (!l) throw new Error(`${lane} is not set up`);
  const { endpoint, timed, peer, batcher } = l;
  const send = endpoint
    ? (p: Uint8Array) => endpoint.send(peer, p)
    : batcher
      ? (p: Uint8Array) => batcher.push(p)
      : (p: Uint8Array) => timed.transport.send(peer, p);
  return () => {
    const p = payload();
    if (!timing) return send(p);
    const sample = (ns: number): void => {
      if (!timing) return;
      added.stamps.push(Number(stampOf(p)));
      added.ns.push(ns);
    };
    const r = timed.timeSend(() => send(p), sample);
    if (r.ns !== undefined) sample(r.ns);
    return r.result;
  };
}

/** [SPEC 3.7] Records the lane's endpoint (or plain batcher) has sent inside BATCH frames so far (0 for plain). */
function coalescedSoFar(lane: string): number {
  const l = lanes.get(lane);
  return l?.endpoint?.stats().coalesced ?? l?.batcher?.batched ?? 0;
}

async function handle(m: WorkerCommand): Promise<WorkerReply> {
  switch (m.cmd) {
    case 'setup': {
      const timed = timedTransport(makeTransport(m.transport, m.id));
      const t0 = performance.now();
      if (m.mode === 'plain') {
        await timed.transport.open(m.id, (f) => onPayload(f.bytes, timed.delivered()));
        lanes.set(m.lane, { peer: m.peer, timed });
      } else if (m.mode === 'plain_batched') {
        await timed.transport.open(m.id, (f) => {
          for (const p of decodePlainBatch(f.bytes)) onPayload(p, timed.delivered());
        });
        lanes.set(m.lane, { peer: m.peer, timed, batcher: new PlainBatcher(timed.transport, m.peer) });
      } else {
        if (!m.identity || !m.roots) throw new Error('identity and roots are required');
        const single = m.mode === 'confidentiality_single';
        const endpoint = await createEndpoint({
          id: m.id,
          identity: m.identity,
          trust: { roots: [...m.roots] },
          transport: timed.transport,
          protection: single ? 'confidentiality' : m.mode,
          ...(single ? { coalesce: { maxRecords: 1 } } : {}),
        });
        endpoint.on('message', (e) => onPayload(e.data, timed.delivered()));
        // The endpoint opens the transport when it starts; the ms below are what createEndpoint took.
        lanes.set(m.lane, { peer: m.peer, timed, endpoint });
      }
      return { ok: true, ms: performance.now() - t0 };
    }
    case 'warmup': {
      const send = sender(m.lane);
      const t0 = performance.now();
      await send();
      const ms = performance.now() - t0;
      for (let i = 1; i < m.count; i++) await send();
      return { ok: true, sent: m.count, ms };
    }
    case 'flood': {
      const send = sender(m.lane);
      const c0 = coalescedSoFar(m.lane);
      const end = performance.now() + m.ms;
      let sent = 0;
      let failed: unknown;
      const lane = async (): Promise<void> => {
        while (performance.now() < end && failed === undefined) {
          try {
            await send();
            sent++;
          } catch (e) {
            failed = e;
          }
        }
      };
      await Promise.all(Array.from({ length: m.window }, lane));
      if (failed !== undefined) throw failed;
      return { ok: true, sent, coalesced: coalescedSoFar(m.lane) - c0 };
    }
    case 'paced': {
      const send = sender(m.lane);
      const c0 = coalescedSoFar(m.lane);
      const cpu0 = cpuNow();
      const start = performance.now();
      let sent = 0;
      let failed: unknown;
      const pending = new Set<Promise<void>>();
      added = { stamps: [], ns: [] };
      timing = true;
      while (performance.now() - start < m.ms && failed === undefined) {
        const due = Math.floor(((performance.now() - start) / 1000) * m.perSecond) - sent;
        for (let i = 0; i < due; i++) {
          const p: Promise<void> = send().then(
            () => void pending.delete(p),
            (e: unknown) => {
              failed = e;
            },
          );
          pending.add(p);
          sent++;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      timing = false;
      await Promise.all(pending);
      const cpuUs = cpuNow() - cpu0;
      if (failed !== undefined) throw failed;
      return { ok: true, sent, added, coalesced: coalescedSoFar(m.lane) - c0, cpuUs };
    }
    case 'reset':
      arrivals = [];
      latencies = [];
      added = { stamps: [], ns: [] };
      cpuAtReset = cpuAtSample = cpuNow();
      sampledCount = 0;
      return { ok: true };
    case 'report': {
      const p95Index = Math.floor(0.95 * (arrivals.length - 1));
      const p95Ns = Number(arrivals[p95Index] ?? 0n);
      const counts = {
        count: arrivals.length,
        firstNs: Number(first),
        lastNs: Number(last),
        p95Ns,
        p95Index,
        cpuUs: cpuAtSample - cpuAtReset,
        cpuCount: sampledCount,
      };
      const report: SubReport = m.detail ? { ...counts, latenciesUs: latencies, added } : counts;
      return { ok: true, report };
    }
    case 'teardown': {
      const all = [...lanes.values()];
      lanes.clear();
      await Promise.allSettled(all.map((l) => (l.endpoint ? l.endpoint.close() : l.timed.transport.close())));
      return { ok: true };
    }
  }
}

serve(handle);
