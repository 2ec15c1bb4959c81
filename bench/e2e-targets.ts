/**
 * The brokers of the E2E benchmark and the lanes measured through each: a lane is one publisher → subscriber pair
 * over one transport in one mode. Every broker carries the plain lanes (unbatched: the user's baseline; batched the
 * way the endpoint coalesces: the baseline of the coalescing modes) and the hopsafe lanes; the private TLS Mosquitto
 * carries plain and hopsafe lanes over its plain TCP and its TLS listener (the hop-by-hop TLS baseline, issue 19).
 */
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { connect as natsConnect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startBroker } from '../src/broker/index.js';
import { reachable } from '../test/support/net.js';
import { prosodyInstalled, startProsody } from '../test/support/prosody.js';
import type { E2eMode, TransportSpec } from './e2e-protocol.js';
import { startTlsMosquitto, tlsMosquittoUnavailable } from './tls-mosquitto.js';

export interface Lane {
  /** Row part: `plain`, `confidentiality_single`, `plain_tls`, … */
  readonly name: string;
  readonly mode: E2eMode;
  readonly spec: TransportSpec;
  /** The lane whose CPU and throughput this one is compared with (none for the unbatched plain lanes). */
  readonly baseline?: string;
}

export interface Started {
  readonly lanes: readonly Lane[];
  stop(): Promise<void>;
}

export interface Target {
  readonly system: 'mqtt' | 'amqp' | 'xmpp' | 'nats';
  /** Row prefix part, e.g. `aedes`, `aedes_qos0`, `mosquitto_private`. */
  readonly broker: string;
  /** Only in the full run. */
  readonly fullOnly?: boolean;
  /** Why it cannot run, or a started target with its lanes (`modes` is the selection for broker targets). */
  start(ids: readonly string[], modes: readonly E2eMode[]): Promise<Started | string>;
}

/** Every lane name any target may use (the bench makes one publisher/subscriber identity pair per name). */
export const LANE_NAMES = [
  'plain',
  'plain_batched',
  'integrity',
  'confidentiality',
  'confidentiality_single',
  'plain_tls',
  'confidentiality_single_tls',
  'warm',
  'warm_tls',
] as const;

export const NONCE = randomBytes(3).toString('hex');

/** Baselines: the coalescing modes against the batched plain lane (when measured), the rest against plain. */
function brokerLanes(spec: TransportSpec, modes: readonly E2eMode[]): Lane[] {
  return modes.map((mode): Lane => {
    if (mode === 'plain') return { name: mode, mode, spec };
    const batched = (mode === 'integrity' || mode === 'confidentiality') && modes.includes('plain_batched');
    return { name: mode, mode, spec, baseline: batched ? 'plain_batched' : 'plain' };
  });
}

function mqttTargets(qos: 0 | 1): Target[] {
  const q = qos === 0 ? '_qos0' : '';
  return [
    {
      system: 'mqtt',
      broker: `aedes${q}`,
      fullOnly: qos === 0,
      async start(_ids, modes) {
        const b = await startBroker();
        return { lanes: brokerLanes({ kind: 'mqtt', url: b.url, prefix: `hb${NONCE}${qos}`, qos }, modes), stop: () => b.close() };
      },
    },
    {
      system: 'mqtt',
      broker: `mosquitto${q}`,
      async start(_ids, modes) {
        if (!(await reachable('127.0.0.1', 1883))) return 'Mosquitto unreachable on 127.0.0.1:1883';
        return {
          lanes: brokerLanes({ kind: 'mqtt', url: 'mqtt://127.0.0.1:1883', prefix: `hb${NONCE}${qos}`, qos }, modes),
          stop: async () => undefined,
        };
      },
    },
  ];
}

const tlsTarget: Target = {
  system: 'mqtt',
  broker: 'mosquitto_private',
  async start() {
    const why = tlsMosquittoUnavailable();
    if (why) return why;
    const m = await startTlsMosquitto();
    const tcp: TransportSpec = { kind: 'mqtt', url: m.url, prefix: `ht${NONCE}`, qos: 1 };
    const tls: TransportSpec = { ...tcp, url: m.tlsUrl, tls: { ca: m.tls.ca, cert: m.tls.clientCert, key: m.tls.clientKey } };
    return {
      lanes: [
        { name: 'plain', mode: 'plain', spec: tcp },
        { name: 'plain_tls', mode: 'plain', spec: tls, baseline: 'plain' },
        { name: 'confidentiality_single', mode: 'confidentiality_single', spec: tcp, baseline: 'plain' },
        { name: 'confidentiality_single_tls', mode: 'confidentiality_single', spec: tls, baseline: 'plain_tls' },
      ],
      stop: () => m.stop(),
    };
  },
};

export function targets(): Target[] {
  return [
    ...mqttTargets(1),
    {
      system: 'amqp',
      broker: 'rabbitmq',
      async start(ids, modes) {
        if (!(await reachable('127.0.0.1', 5672))) return 'RabbitMQ unreachable on 127.0.0.1:5672';
        const url = 'amqp://guest:guest@127.0.0.1:5672';
        const exchange = `hopsafe-bench-${NONCE}`;
        return {
          lanes: brokerLanes({ kind: 'amqp', url, exchange }, modes),
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
      async start(ids, modes) {
        if (!prosodyInstalled()) return 'Prosody is not installed (scripts/ci/install-prosody.sh)';
        const p = await startProsody({ users: [] });
        const password = randomBytes(9).toString('base64url');
        for (const id of ids) await p.register({ username: id, password });
        return { lanes: brokerLanes({ kind: 'xmpp', service: p.service, domain: p.domain, password }, modes), stop: () => p.stop() };
      },
    },
    ...natsTargets(),
    ...mqttTargets(0),
    tlsTarget,
  ];
}

/** [SPEC 8.11] The system nats-server: core NATS, and JetStream on a stream of the bench's own (file storage, the binding's default), deleted at the end. */
function natsTargets(): Target[] {
  const servers = 'nats://127.0.0.1:4222';
  const unreachable = 'nats-server unreachable on 127.0.0.1:4222';
  return [
    {
      system: 'nats',
      broker: 'core',
      async start(_ids, modes) {
        if (!(await reachable('127.0.0.1', 4222))) return unreachable;
        return { lanes: brokerLanes({ kind: 'nats', servers, prefix: `hbn${NONCE}` }, modes), stop: async () => undefined };
      },
    },
    {
      system: 'nats',
      broker: 'jetstream',
      async start(_ids, modes) {
        if (!(await reachable('127.0.0.1', 4222))) return unreachable;
        const prefix = `hbj${NONCE}`;
        return {
          lanes: brokerLanes({ kind: 'nats', servers, prefix, stream: prefix }, modes),
          async stop() {
            const nc = await natsConnect({ servers });
            try {
              const jsm = await jetstreamManager(nc);
              await jsm.streams.delete(prefix).catch(() => undefined);
            } finally {
              await nc.close();
            }
          },
        };
      },
    },
  ];
}
