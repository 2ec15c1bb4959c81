/**
 * `hopsafe/broker`: an embedded MQTT broker (aedes) for the demo and for tests that need no
 * external server. Every client publish runs through the adversary and the taps before it is
 * routed, so tests can watch, drop, replace, duplicate and inject frames the way a hostile
 * broker could. [SPEC 8.2]
 *
 * @module hopsafe/broker
 */
import { createServer, type Server, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { AedesOptions, Client, PublishPacket } from 'aedes';
import type { WebSocketServer } from 'ws';
import { assertPeerInstalled, importPeer, requirePeer } from '../transport/peer-dependency.js';
import { HopsafeError } from '../errors/index.js';
import { frameTopic, parseFrameTopic } from '../bindings/mqtt-topics.js';
import { applyInterceptors, type Interceptor } from '../transport/interceptor.js';

export type { Interceptor, InterceptedFrame } from '../transport/interceptor.js';

/** Where dropped publishes are diverted: `$` topics never match `#`/`+` filters, and forwarding to it is refused. */
// aedes-persistence is CommonJS whose module.exports is the factory (its .d.ts claims an ES default export).
const aedesMemoryPersistence = requirePeer<() => unknown>('aedes-persistence', 'hopsafe/broker');
// [issue 17] aedes (an ES module, loaded by startBroker) and ws are optional peer dependencies of hopsafe/broker.
assertPeerInstalled('aedes', 'hopsafe/broker');
const { WebSocketServer: WsServer, createWebSocketStream } = requirePeer<
  Pick<typeof import('ws'), 'WebSocketServer' | 'createWebSocketStream'>
>('ws', 'hopsafe/broker');

const DROP_TOPIC = '$hopsafe/dropped';

/**
 * Broker state (subscriptions, queued QoS 1 messages of offline persistent clients) that can outlive
 * one broker instance: pass the same object to successive `startBroker` calls to simulate a broker
 * restart that keeps its sessions (like Mosquitto with `persistence true`).
 */
export interface BrokerPersistence {
  readonly kind: 'memory';
  /** Broker id reused by every broker started on this persistence. */
  readonly brokerId: string;
  /** The aedes persistence instance (opaque). */
  readonly store: unknown;
}

/** A fresh in-memory persistence that can be shared by successive brokers (restart tests). */
export function createMemoryPersistence(): BrokerPersistence {
  return { kind: 'memory', brokerId: randomUUID(), store: aedesMemoryPersistence() };
}

/** Options of {@link startBroker}; all optional (default: a fresh broker on a free port of 127.0.0.1). */
export interface BrokerOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 (default) picks a free one. Pass a previous broker's port to restart on the same port. */
  port?: number;
  /** Also serve MQTT over WebSocket (`true` = free port). */
  ws?: boolean | { port?: number };
  /** 'memory' (default, fresh per broker) or a shared `createMemoryPersistence()` that survives restarts. */
  persistence?: 'memory' | BrokerPersistence;
  /** Runs first on every client publish, before the taps. */
  adversary?: Interceptor;
}

/**
 * A frame {@link RunningBroker.inject} publishes as the broker itself: either an explicit `topic`, or the frame
 * topic `{prefix}/{to}/{from}` (SPEC 8.2) built from `prefix` (default `hopsafe`), `to` and `from`.
 */
export interface InjectedFrame {
  /** Explicit topic, or `{prefix}/{to}/{from}` built from the fields below. */
  topic?: string;
  /** First topic level(s) when the topic is built from `to`/`from`. Default `hopsafe`. */
  prefix?: string;
  /** Claimed sender id (the last topic level): any id can be forged here. */
  from?: string;
  /** Receiver id whose inbox gets the frame. */
  to?: string;
  /** The payload published, byte for byte. */
  bytes: Uint8Array;
  /** Default 1. */
  qos?: 0 | 1;
}

/** [SPEC 8.2] A broker started by {@link startBroker}: its URLs, the taps that see every publish, and `inject`. */
export interface RunningBroker {
  /** `mqtt://host:port` */
  readonly url: string;
  /** The TCP port it listens on (the one picked when 0 was asked for). */
  readonly port: number;
  /** `ws://host:port` when `ws` was requested. */
  readonly wsUrl?: string;
  /**
   * Adds an interceptor after the adversary and the earlier taps; it sees every client publish
   * (frames on `{prefix}/{to}/{from}` with from/to parsed, any other topic with from = to = '').
   * Returns a function that removes it.
   */
  tap(fn: Interceptor): () => void;
  /** Publishes bytes as the broker itself (replay later, redirect, reflect, forge). Bypasses adversary and taps. */
  inject(frame: InjectedFrame): Promise<void>;
  /** Number of connected MQTT clients. */
  connectedClients(): number;
  /** Disconnects every client, closes the listeners. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts an embedded MQTT broker (aedes; MQTT 3.1.1 and 5, no authentication) for the demo and for tests that need
 * no external server. Every client publish runs through `adversary` and the taps before it is routed, so a test can
 * watch, drop, replace, duplicate or inject frames as a hostile broker could; a dropped publish is still
 * acknowledged to its publisher. [SPEC 8.2]
 *
 * @example
 * ```ts
 * const broker = await startBroker({ adversary: (f) => (f.to === 'bob' ? null : undefined) }); // drops every frame to bob
 * const transport = mqttTransport({ url: broker.url });
 * ```
 */
export async function startBroker(options: BrokerOptions = {}): Promise<RunningBroker> {
  const host = options.host ?? '127.0.0.1';
  const persistence = options.persistence === undefined || options.persistence === 'memory' ? undefined : options.persistence;
  const interceptors: Interceptor[] = [];
  const pipeline = (): Interceptor[] => (options.adversary ? [options.adversary, ...interceptors] : interceptors);
  /** Extra copies to publish once the original (same packet object) has been routed, keeping order. */
  const extras = new WeakMap<object, Buffer[]>();

  const aedesOptions: AedesOptions = {
    maxClientsIdLength: 64,
    ...(persistence ? { persistence: persistence.store, id: persistence.brokerId } : {}),
    authorizePublish(_client, packet, callback) {
      const stages = pipeline();
      if (stages.length === 0) return callback(null);
      const parsed = parseFrameTopic(packet.topic);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const out = applyInterceptors(
        {
          from: parsed?.from ?? '',
          to: parsed?.to ?? '',
          topic: packet.topic,
          bytes: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
        },
        stages,
      );
      const [first, ...rest] = out;
      if (first === undefined) {
        // Drop without closing the publisher's connection (an authorizePublish error would). QoS 1 still gets its PUBACK.
        packet.topic = DROP_TOPIC;
        packet.retain = false;
        return callback(null);
      }
      packet.payload = Buffer.from(first);
      if (rest.length > 0)
        extras.set(
          packet,
          rest.map((b) => Buffer.from(b)),
        );
      callback(null);
    },
    published(packet, _client, callback) {
      const more = extras.get(packet);
      if (!more) {
        callback(null);
        return;
      }
      extras.delete(packet);
      const topic = packet.topic;
      const qos = packet.qos;
      let i = 0;
      const next = (): void => {
        const payload = more[i++];
        if (payload === undefined || broker.closed) {
          callback(null);
          return;
        }
        broker.publish({ cmd: 'publish', topic, payload, qos, retain: false, dup: false }, () => next());
      };
      next();
    },
    authorizeForward(_client, packet) {
      return packet.topic === DROP_TOPIC ? null : packet;
    },
    authorizeSubscribe(_client, subscription, callback) {
      callback(null, subscription.topic.startsWith('$hopsafe') ? null : subscription);
    },
  };
  const { Aedes } = await importPeer(() => import('aedes'), 'aedes', 'hopsafe/broker');
  const broker = await Aedes.createBroker(aedesOptions);

  const sockets = new Set<Socket>();
  // Small frames (end-to-end ACKs, PUBACKs) must not wait for Nagle's algorithm (SPEC 8.2).
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  const port = await listen(server, options.port ?? 0, host).catch(async (e: unknown) => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw new HopsafeError('ERR_TRANSPORT', `broker cannot listen on ${host}:${options.port ?? 0}`, { cause: e });
  });

  let wss: WebSocketServer | undefined;
  let wsUrl: string | undefined;
  if (options.ws) {
    const wsPort = typeof options.ws === 'object' ? (options.ws.port ?? 0) : 0;
    wss = new WsServer({ host, port: wsPort });
    await new Promise<void>((resolve, reject) => {
      wss!.once('listening', resolve);
      wss!.once('error', reject);
    });
    wss.on('connection', (socket) => {
      const stream = createWebSocketStream(socket);
      stream.on('error', () => stream.destroy());
      broker.handle(stream);
    });
    const address = wss.address();
    const actual = typeof address === 'object' && address !== null ? address.port : wsPort;
    wsUrl = `ws://${urlHost(host)}:${actual}`;
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (wss) {
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => wss!.close(() => resolve()));
      }
    })();
    return closing;
  };

  return {
    url: `mqtt://${urlHost(host)}:${port}`,
    port,
    ...(wsUrl ? { wsUrl } : {}),
    tap(fn) {
      interceptors.push(fn);
      return () => {
        const i = interceptors.indexOf(fn);
        if (i >= 0) interceptors.splice(i, 1);
      };
    },
    inject(frame) {
      return new Promise((resolve, reject) => {
        if (broker.closed) return reject(new HopsafeError('ERR_CLOSED', 'broker is closed'));
        const topic = frame.topic ?? frameTopic(frame.prefix ?? 'hopsafe', frame.to ?? '', frame.from ?? '');
        const packet: PublishPacket = {
          cmd: 'publish',
          topic,
          payload: Buffer.from(frame.bytes),
          qos: frame.qos ?? 1,
          retain: false,
          dup: false,
        };
        broker.publish(packet, (err) => (err ? reject(new HopsafeError('ERR_TRANSPORT', 'inject failed', { cause: err })) : resolve()));
      });
    },
    connectedClients: () => broker.connectedClients,
    close,
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The aedes client type (`Client` of the aedes package), for code that handles aedes events of an embedded broker.
 */
export type BrokerClient = Client;
