/**
 * MQTT over WebSocket for the browser bundle (`hopsafe/browser`): the same topic mapping and send lifecycle as
 * `hopsafe/mqtt` (src/bindings/mqtt-topics.ts, src/transport/lifecycle.ts), on mqtt.js's browser build — imported
 * directly (the bundler resolves `mqtt` with the "browser" condition to dist/mqtt.esm.js), not through the Node
 * peer-dependency loader. Frames on `{prefix}/{to}/{from}`, QoS 1, never retained, persistent session. [SPEC 8.2]
 * Groups as `hopsafe/mqtt` carries them, by the same code (src/bindings/mqtt-groups.ts): `{prefix}/~g/{P}/{G}` on the
 * same client, inbound frames above maxFrameSize dropped before any copy, group and inbox frames sharing `maxQueue`
 * while disconnected. [SPEC 13.9]
 * Hop-by-hop TLS is the page's: a `wss://` URL. The hopsafe session on top is end-to-end.
 */
import mqtt from 'mqtt';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';

/** The mqtt.js options a page may set (kept local, so that the types of hopsafe/browser do not need mqtt's). */
export interface MqttWsClientOptions {
  readonly username?: string;
  readonly password?: string;
  readonly protocolVersion?: 4 | 5;
  readonly keepalive?: number;
  readonly reconnectPeriod?: number;
  readonly clean?: boolean;
}
import { HopsafeError } from '../errors/index.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { assertQueueRoom, assertSendable, PendingSends } from '../transport/lifecycle.js';
import { DEFAULT_PREFIX, assertPrefix, frameTopic, inboxFilter, parseFrameTopic } from '../bindings/mqtt-topics.js';
import type { FrameHandler, GroupFrameHandler, Transport, TransportStatus } from '../transport/transport.js';
import { createMqttGroups, groupTopic } from '../bindings/mqtt-groups.js';
import { StatusEmitter } from '../transport/status.js';
import { InboundGuard } from '../transport/inbound.js';
import { intOption } from '../transport/options.js';
import { pino } from 'pino';

/** Options of {@link mqttWsTransport}. */
export interface MqttWsTransportOptions {
  /** `ws://` or `wss://` URL of the broker's MQTT-over-WebSocket listener (e.g. `ws://127.0.0.1:8080`). */
  readonly url: string;
  /** First topic level(s). Default 'hopsafe'. */
  readonly prefix?: string;
  /** QoS of publishes and of the inbox subscription. Default 1. */
  readonly qos?: 0 | 1;
  /** MQTT client id; default the local endpoint id. */
  readonly clientId?: string;
  /** Largest frame in bytes (larger inbound publishes are dropped, larger sends refused). Default 256 KiB. */
  readonly maxFrameSize?: number;
  /** Frames accepted while disconnected before `send` refuses with ERR_QUEUE_FULL. Default 1000. */
  readonly maxQueue?: number;
  /** How long `open` waits for the connection and subscription. Default 10 s. */
  readonly openTimeoutMs?: number;
  /** Extra mqtt.js options (`username`, `password`, `protocolVersion`, …); clientId and clean set here win. */
  readonly mqttOptions?: MqttWsClientOptions;
  /**
   * Called with every frame this transport sends or receives (topic, bytes), inbox and group frames alike — for a page
   * that shows the traffic. The bytes are the opaque frames the broker sees as well.
   */
  readonly onTraffic?: (t: { readonly direction: 'send' | 'receive'; readonly topic: string; readonly bytes: Uint8Array }) => void;
}

/** Creates the browser's MQTT-over-WebSocket transport. Call `open(localId, onFrame)` before `send`. [SPEC 8.2] */
export function mqttWsTransport(options: MqttWsTransportOptions): Transport {
  if (typeof options?.url !== 'string' || !/^wss?:\/\//.test(options.url))
    throw new HopsafeError('ERR_CONFIG', 'mqttWsTransport needs a ws:// or wss:// url');
  const prefix = assertPrefix(options.prefix ?? DEFAULT_PREFIX);
  const qos = options.qos ?? 1;
  if (qos !== 0 && qos !== 1) throw new HopsafeError('ERR_CONFIG', 'qos must be 0 or 1');
  const maxFrameSize = intOption(options.maxFrameSize ?? 256 * 1024, 'maxFrameSize', 1);
  const maxQueue = intOption(options.maxQueue ?? 1000, 'maxQueue', 0);
  const openTimeoutMs = intOption(options.openTimeoutMs ?? 10_000, 'openTimeoutMs', 1);
  const log = pino({ level: 'silent' });
  const guard = new InboundGuard(maxFrameSize, log);
  const status = new StatusEmitter();
  const pending = new PendingSends();
  let client: MqttClient | undefined;
  let localId: string | undefined;
  let state: 'new' | 'opening' | 'open' | 'closed' = 'new';
  let offlineQueued = 0;
  let closing: Promise<void> | undefined;
  const emit = (s: TransportStatus): void => {
    status.set(s);
  };
  // [SPEC 13.9] Group addresses `{prefix}/~g/{address}` on the same client, as in hopsafe/mqtt.
  const groups = createMqttGroups({
    prefix,
    qos,
    maxFrameSize,
    guard,
    log,
    client: () => (state === 'open' ? client : undefined),
    localId: () => (state === 'open' ? localId : undefined),
    closed: () => state === 'closed',
    bound: () => undefined,
    publish: (topic, bytes, to) => publishFrame(topic, bytes, to),
  });
  /** The page's traffic hook on a group handler (what the member receives, after the size check). */
  const traced =
    (address: string, onFrame: GroupFrameHandler): GroupFrameHandler =>
    (bytes) => {
      options.onTraffic?.({ direction: 'receive', topic: groupTopic(prefix, address), bytes });
      return onFrame(bytes);
    };

  async function open(id: string, onFrame: FrameHandler): Promise<void> {
    assertEndpointId(id, 'local id');
    if (state === 'closed') throw new HopsafeError('ERR_CLOSED', 'transport is closed');
    if (state !== 'new') throw new HopsafeError('ERR_STATE', 'transport already opened');
    state = 'opening';
    localId = id;
    const inbox = inboxFilter(prefix, id);
    const c = mqtt.connect(options.url, {
      reconnectPeriod: 1000,
      connectTimeout: openTimeoutMs,
      resubscribe: true,
      ...(options.mqttOptions as IClientOptions | undefined),
      clientId: options.clientId ?? id,
      // [SPEC 8.2] persistent session: the broker keeps the inbox and queues QoS 1 frames across reconnects.
      clean: options.mqttOptions?.clean ?? false,
    });
    client = c;
    c.on('message', (topic: string, payload: Uint8Array, packet: IPublishPacket) => {
      // [SPEC 13.9] a group topic `{prefix}/~g/{P}/{G}` (mqtt.js has sent the PUBACK already)
      if (state !== 'closed' && groups.handle(packet, () => undefined)) return;
      const parsed = parseFrameTopic(topic);
      if (state === 'closed' || !parsed || parsed.prefix !== prefix || parsed.to !== id) return;
      // [SPEC 8.9] larger than maxFrameSize: dropped before it reaches the session.
      if (guard.oversize(payload.byteLength, parsed.from)) return;
      const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
      options.onTraffic?.({ direction: 'receive', topic, bytes });
      void Promise.resolve()
        .then(() => onFrame({ from: parsed.from, bytes }))
        .catch(() => undefined);
    });
    c.on('connect', () => {
      if (state !== 'closed') emit('connected');
    });
    c.on('reconnect', () => {
      if (state !== 'closed') emit('reconnecting');
    });
    c.on('close', () => {
      if (state !== 'closed') emit('disconnected');
    });
    c.on('error', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new HopsafeError('ERR_TIMEOUT', `no MQTT connection to ${options.url} within ${openTimeoutMs} ms`)),
          openTimeoutMs,
        );
        const subscribe = (): void => {
          c.subscribe(inbox, { qos }, (err, granted) => {
            clearTimeout(timer);
            if (err) reject(new HopsafeError('ERR_TRANSPORT', `subscribe to ${inbox} failed: ${err.message}`, { cause: err }));
            else if ((granted ?? []).some((g) => g.qos >= 128))
              reject(new HopsafeError('ERR_FORBIDDEN', `broker refused the subscription to ${inbox}`));
            else resolve();
          });
        };
        if (c.connected) subscribe();
        else c.once('connect', subscribe);
      });
    } catch (e) {
      await close();
      throw e;
    }
    if (state !== 'opening') throw new HopsafeError('ERR_CLOSED', 'transport closed while opening');
    state = 'open';
  }

  function send(peerId: string, bytes: Uint8Array): Promise<void> {
    try {
      const from = assertSendable(
        { name: 'mqtt-ws', closed: state === 'closed', localId: state === 'open' ? localId : undefined, maxFrameSize },
        peerId,
        bytes,
      );
      return publishFrame(frameTopic(prefix, peerId, from), bytes, peerId);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** One frame on `topic` after `send`'s (or `publishGroup`'s) guards; `to` names the recipient in errors. [SPEC 8.10] */
  function publishFrame(topic: string, bytes: Uint8Array, to: string): Promise<void> {
    const c = client as MqttClient;
    const offline = !c.connected;
    // [SPEC 8.10, 13.9] while disconnected, inbox and group frames wait in one bounded queue.
    if (offline) assertQueueRoom('mqtt-ws', offlineQueued, maxQueue);
    if (offline) offlineQueued++;
    const copy = Uint8Array.from(bytes);
    options.onTraffic?.({ direction: 'send', topic, bytes: copy });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (e?: HopsafeError): void => {
        if (settled) return;
        settled = true;
        if (offline) offlineQueued--;
        pending.delete(finish);
        if (e) reject(e);
        else resolve();
      };
      pending.add(finish);
      // mqtt.js' browser build takes its own Buffer type; a Uint8Array is written as bytes.
      c.publish(topic, copy as unknown as string, { qos, retain: false }, (err) => {
        finish(
          err
            ? new HopsafeError(state === 'closed' ? 'ERR_CLOSED' : 'ERR_TRANSPORT', `publish to ${to} failed: ${err.message}`, {
                cause: err,
              })
            : undefined,
        );
      });
    });
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      state = 'closed';
      const c = client;
      if (c) await new Promise<void>((resolve) => c.end(false, {}, () => resolve()));
      pending.rejectAll('mqtt-ws');
      emit('closed');
    })();
    return closing;
  }

  return {
    name: 'mqtt-ws',
    maxFrameSize,
    copiesFrames: true, // publish: Uint8Array.from(bytes)
    open,
    send,
    close,
    onStatus(listener) {
      status.on(listener);
    },
    inboundStats() {
      return { ...guard.stats(), queued: 0 };
    },
    // [SPEC 13.9]
    subscribeGroup: (address, onFrame) => groups.methods.subscribeGroup(address, traced(address, onFrame)),
    unsubscribeGroup: (address) => groups.methods.unsubscribeGroup(address),
    publishGroup: (address, bytes) => groups.methods.publishGroup(address, bytes),
    subscribeGroupsOf: (publisher, onFrame) =>
      groups.methods.subscribeGroupsOf(publisher, (address, bytes) => traced(address, (b) => onFrame(address, b))(bytes)),
  };
}
