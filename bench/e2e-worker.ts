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
import { timedTransport, type TimedTransport } from './e2e-timing.js';
import { PAYLOAD_SIZE, type SubReport, type E2eMode, type TransportSpec, type WorkerCommand, type WorkerReply } from './e2e-protocol.js';

function makeTransport(spec: TransportSpec, id: string): Transport {
  switch (spec.kind) {
    case 'mqtt':
      return mqttTransport({ url: spec.url, prefix: spec.prefix, qos: spec.qos, unsubscribeOnClose: true, clientId: id });
    case 'amqp':
      return amqpTransport({ url: spec.url, exchange: spec.exchange, durable: false });
    case 'xmpp':
      return xmppTransport({ service: spec.service, domain: spec.domain, password: spec.password, plainAuth: 'always' });
  }
}

interface Lane {
  readonly peer: string;
  /** The transport, wrapped to time hopsafe's own work on the path (e2e-timing.ts); plain lanes time only the wrapper. */
  readonly timed: TimedTransport;
  readonly endpoint?: Endpoint;
}
const lanes = new Map<E2eMode, Lane>();
let arrivals: bigint[] = [];
let latencies: number[] = [];
let first = 0n;
let last = 0n;
/** Publisher: hand-over times of the current `paced` run; subscriber: delivery → message times since `reset`. */
let added: { stamps: number[]; ns: number[] } = { stamps: [], ns: [] };
let timing = false;

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
}

function payload(): Uint8Array {
  const p = new Uint8Array(PAYLOAD_SIZE).fill(0x5a);
  new DataView(p.buffer).setBigUint64(0, process.hrtime.bigint());
  return p;
}

function sender(mode: E2eMode): () => Promise<void> {
  const l = lanes.get(mode);
  if (!l) throw new Error(`${mode} is not set up`);
  const { endpoint, timed, peer } = l;
  const send = endpoint ? (p: Uint8Array) => endpoint.send(peer, p) : (p: Uint8Array) => timed.transport.send(peer, p);
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

/** [SPEC 3.7] Records the mode's endpoint has sent inside BATCH frames so far (0 for plain). */
function coalescedSoFar(mode: E2eMode): number {
  return lanes.get(mode)?.endpoint?.stats().coalesced ?? 0;
}

async function handle(m: WorkerCommand): Promise<WorkerReply> {
  switch (m.cmd) {
    case 'setup': {
      const timed = timedTransport(makeTransport(m.transport, m.id));
      if (m.mode === 'plain') {
        await timed.transport.open(m.id, (f) => onPayload(f.bytes, timed.delivered()));
        lanes.set(m.mode, { peer: m.peer, timed });
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
        lanes.set(m.mode, { peer: m.peer, timed, endpoint });
      }
      return { ok: true };
    }
    case 'warmup': {
      const send = sender(m.mode);
      for (let i = 0; i < m.count; i++) await send();
      return { ok: true, sent: m.count };
    }
    case 'flood': {
      const send = sender(m.mode);
      const c0 = coalescedSoFar(m.mode);
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
      return { ok: true, sent, coalesced: coalescedSoFar(m.mode) - c0 };
    }
    case 'paced': {
      const send = sender(m.mode);
      const c0 = coalescedSoFar(m.mode);
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
      if (failed !== undefined) throw failed;
      return { ok: true, sent, added, coalesced: coalescedSoFar(m.mode) - c0 };
    }
    case 'reset':
      arrivals = [];
      latencies = [];
      added = { stamps: [], ns: [] };
      return { ok: true };
    case 'report': {
      const p95Index = Math.floor(0.95 * (arrivals.length - 1));
      const p95Ns = Number(arrivals[p95Index] ?? 0n);
      const counts = { count: arrivals.length, firstNs: Number(first), lastNs: Number(last), p95Ns, p95Index };
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

process.on('message', (m: WorkerCommand) => {
  handle(m).then(
    (r) => process.send?.(r),
    (e: unknown) => process.send?.({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) } satisfies WorkerReply),
  );
});
process.on('disconnect', () => process.exit(0));
