/**
 * Benchmark 4: session establishment over the same MQTT broker (embedded aedes, in-process):
 * hopsafe (1-RT handshake, first payload queued behind it or riding in it), TLS 1.3 mutual
 * tunnelled end to end through the broker (node:tls over a Duplex whose writes are MQTT
 * publishes — the ATLS approach) and no security. Time from `send` to the receiver's first
 * application message, flights and bytes on the wire, counted by the broker's tap.
 */
import { Duplex } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type RunningBroker } from '../src/broker/index.js';
import { createEndpoint, type Endpoint } from '../src/endpoint/endpoint.js';
import { mqttTransport } from '../src/bindings/mqtt.js';
import { FrameType } from '../src/codec/frame.js';
import type { TestPki } from '../src/testing/index.js';
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { percentile } from './measure.js';
import { tlsClient, tlsContexts } from './tls-mutual.js';

interface Seen {
  readonly t: number;
  readonly topic: string;
  readonly from: string;
  readonly bytes: number;
  readonly type: number;
}

/** Flights = maximal runs of frames in one direction. */
function flights(frames: readonly Seen[]): number {
  let n = 0;
  let last = '';
  for (const f of frames) {
    if (f.from !== last) n++;
    last = f.from;
  }
  return n;
}

interface Outcome {
  readonly ms: number;
  readonly flights: number;
  readonly bytes: number;
  readonly frames: number;
  readonly handshakeFlights?: number;
  readonly handshakeBytes?: number;
}

function summarize(c: Collector, name: string, runs: readonly Outcome[], what: string): void {
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
  const last = runs[runs.length - 1];
  if (!last) return;
  c.add(`ttfm_${name}_ms`, 'ms', percentile(ms, 50), `median of ${runs.length}: ${what}`);
  c.add(`ttfm_${name}_round_trips`, 'round trips', last.flights / 2, 'flights until the first application message is delivered, / 2');
  c.add(`ttfm_${name}_wire_bytes`, 'bytes', last.bytes, 'MQTT payload bytes published until the first application message is delivered');
}

async function mqttClient(url: string, id: string, filter: string): Promise<MqttClient> {
  const cl = await mqtt.connectAsync(url, { clientId: id, clean: true, reconnectPeriod: 0 });
  await cl.subscribeAsync(filter, { qos: 1 });
  return cl;
}

/** A Duplex whose writes are QoS 1 publishes on `out` and whose reads are messages on `inTopic`. */
function mqttDuplex(cl: MqttClient, out: string, inTopic: string): Duplex {
  const d = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      cl.publish(out, chunk, { qos: 1 });
      cb();
    },
    read() {
      /* pushed from messages */
    },
  });
  cl.on('message', (topic, payload) => {
    if (topic === inTopic) d.push(payload);
  });
  return d;
}

async function hopsafeRun(
  broker: RunningBroker,
  seen: Seen[],
  pki: TestPki,
  prefix: string,
  protection: 'integrity' | 'confidentiality',
): Promise<Outcome> {
  const roots = pki.roots;
  const mk = (id: string): Promise<Endpoint> => {
    const identity = pki.identities[id];
    if (!identity) throw new Error(`no identity ${id}`);
    return createEndpoint({ id, identity, trust: { roots }, protection, transport: mqttTransport({ url: broker.url, prefix }) });
  };
  const a = await mk('bench-a');
  const b = await mk('bench-b');
  try {
    const delivered = new Promise<number>((r) => b.once('message', () => r(performance.now())));
    const aSession = new Promise<void>((r) => a.once('session', () => r()));
    const start = seen.length;
    const t0 = performance.now();
    await a.send('bench-b', new Uint8Array(256).fill(1));
    const t1 = await delivered;
    await aSession;
    const mine = seen.slice(start).filter((f) => f.topic.startsWith(`${prefix}/`));
    const upTo = mine.filter((f) => f.t <= t1);
    const hs = mine.filter((f) => f.type === FrameType.HS_INIT || f.type === FrameType.HS_RESP);
    return {
      ms: t1 - t0,
      flights: flights(upTo),
      bytes: upTo.reduce((s, f) => s + f.bytes, 0),
      frames: upTo.length,
      handshakeFlights: flights(hs),
      handshakeBytes: hs.reduce((s, f) => s + f.bytes, 0),
    };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function tlsRun(broker: RunningBroker, seen: Seen[], pki: TestPki, prefix: string): Promise<Outcome> {
  const ctx = tlsContexts(pki, 'bench-a', 'bench-b');
  const ca = await mqttClient(broker.url, `${prefix}-a`, `${prefix}/bench-a/+`);
  const cb = await mqttClient(broker.url, `${prefix}-b`, `${prefix}/bench-b/+`);
  try {
    const da = mqttDuplex(ca, `${prefix}/bench-b/bench-a`, `${prefix}/bench-a/bench-b`);
    const db = mqttDuplex(cb, `${prefix}/bench-a/bench-b`, `${prefix}/bench-b/bench-a`);
    const delivered = new Promise<number>((resolve, reject) => {
      ctx.server.once('secureConnection', (s) => {
        if (!s.authorized) reject(new Error(`client not authorized: ${String(s.authorizationError)}`));
        s.once('data', () => resolve(performance.now()));
      });
      ctx.server.once('tlsClientError', reject);
    });
    const start = seen.length;
    const t0 = performance.now();
    ctx.server.emit('connection', db);
    const client = tlsClient(ctx, da);
    client.once('secureConnect', () => client.write(new Uint8Array(256).fill(1)));
    client.once('error', () => undefined);
    const t1 = await delivered;
    const upTo = seen.slice(start).filter((f) => f.topic.startsWith(`${prefix}/`) && f.t <= t1);
    client.destroy();
    return { ms: t1 - t0, flights: flights(upTo), bytes: upTo.reduce((s, f) => s + f.bytes, 0), frames: upTo.length };
  } finally {
    await Promise.all([ca.endAsync(true), cb.endAsync(true)]);
  }
}

async function plainRun(broker: RunningBroker, seen: Seen[], prefix: string): Promise<Outcome> {
  const ca = await mqttClient(broker.url, `${prefix}-a`, `${prefix}/bench-a/+`);
  const cb = await mqttClient(broker.url, `${prefix}-b`, `${prefix}/bench-b/+`);
  try {
    const delivered = new Promise<number>((r) => cb.once('message', () => r(performance.now())));
    const start = seen.length;
    const t0 = performance.now();
    ca.publish(`${prefix}/bench-b/bench-a`, Buffer.alloc(256, 1), { qos: 1 });
    const t1 = await delivered;
    const upTo = seen.slice(start).filter((f) => f.topic.startsWith(`${prefix}/`) && f.t <= t1);
    return { ms: t1 - t0, flights: flights(upTo), bytes: upTo.reduce((s, f) => s + f.bytes, 0), frames: upTo.length };
  } finally {
    await Promise.all([ca.endAsync(true), cb.endAsync(true)]);
  }
}

export async function benchEstablish(c: Collector, o: BenchOptions, pki: TestPki, progress: Progress): Promise<void> {
  const broker = await startBroker();
  const seen: Seen[] = [];
  broker.tap((f) => {
    const parts = f.topic.split('/');
    seen.push({ t: performance.now(), topic: f.topic, from: parts[2] ?? '', bytes: f.bytes.length, type: (f.bytes[0] ?? 0) & 0x0f });
    return undefined;
  });
  try {
    const runs: Record<string, Outcome[]> = { conf: [], integ: [], tls: [], plain: [] };
    // Interleaved, so load changes hit every approach alike; a fresh prefix per run keeps runs apart.
    for (let i = 0; i < o.establishRuns; i++) {
      progress.status(`establishment over aedes: run ${i + 1}/${o.establishRuns}`);
      runs.conf?.push(await hopsafeRun(broker, seen, pki, `hsc${i}`, 'confidentiality'));
      runs.integ?.push(await hopsafeRun(broker, seen, pki, `hsi${i}`, 'integrity'));
      runs.tls?.push(await tlsRun(broker, seen, pki, `atls${i}`));
      runs.plain?.push(await plainRun(broker, seen, `plain${i}`));
      seen.length = 0;
    }
    summarize(
      c,
      'hopsafe_confidentiality',
      runs.conf ?? [],
      'send() → receiver message event, new endpoints, HS_INIT → HS_RESP(+record) → DATA',
    );
    summarize(
      c,
      'hopsafe_integrity',
      runs.integ ?? [],
      'send() → receiver message event; the payload rides signed in ClearToken1 (early data)',
    );
    summarize(
      c,
      'tls13_mutual_over_mqtt',
      runs.tls ?? [],
      'TLS 1.3 mutual auth tunnelled through the broker: connect → server reads the first record',
    );
    summarize(c, 'plain_mqtt', runs.plain ?? [], 'one QoS 1 publish, no security');
    const last = runs.conf?.[runs.conf.length - 1];
    if (last?.handshakeFlights !== undefined && last.handshakeBytes !== undefined) {
      c.add(
        'handshake_round_trips',
        'round trips',
        last.handshakeFlights / 2,
        'hopsafe handshake flights (HS_INIT, HS_RESP) seen by the broker, / 2',
      );
      c.add('handshake_wire_bytes', 'bytes', last.handshakeBytes, 'HS_INIT + HS_RESP payload bytes, P-256 chain depth 2 (leaf only sent)');
    }
    c.ratio('time_to_first_message_tls13_over_hopsafe', 'ttfm_tls13_mutual_over_mqtt_ms', 'ttfm_hopsafe_confidentiality_ms');
    c.ratio('time_to_first_message_tls13_over_hopsafe_integrity', 'ttfm_tls13_mutual_over_mqtt_ms', 'ttfm_hopsafe_integrity_ms');
    c.ratio(
      'wire_bytes_to_first_message_tls13_over_hopsafe',
      'ttfm_tls13_mutual_over_mqtt_wire_bytes',
      'ttfm_hopsafe_confidentiality_wire_bytes',
    );
  } finally {
    await broker.close();
  }
}
