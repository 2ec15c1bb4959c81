/**
 * `hopsafe/mqtt`: the MQTT binding (mqtt.js v5; MQTT 3.1.1 or 5). Frames are opaque bytes on
 * `{prefix}/{to}/{from}`, QoS 1 by default, never retained, in a persistent broker session so
 * subscriptions and QoS 1 messages survive reconnects. Nothing of the session depends on MQTT. [SPEC 8.2]
 *
 * Hop-by-hop TLS and broker authentication are mqtt.js's: an `mqtts://` or `wss://` URL plus `mqttOptions`
 * (`ca`, `cert`, `key`, `servername`, `rejectUnauthorized`, `username`, `password`), see {@link MqttTransportOptions.mqttOptions}.
 * They protect the hop to the broker; the hopsafe session on top is end-to-end and does not depend on them.
 * An application that already has an MqttClient passes it as `client` (see {@link MqttTransportOptions.client}).
 *
 * @module hopsafe/mqtt
 */
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import { requirePeer } from '../transport/peer-dependency.js';
import { pino, type Logger } from 'pino';
import { HopsafeError } from '../errors/index.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { assertQueueRoom, assertSendable, PendingSends } from '../transport/lifecycle.js';
import { deliverPublish } from './mqtt-inbound.js';
import { DEFAULT_PREFIX, assertPrefix, frameTopic, inboxFilter, parseFrameTopic } from './mqtt-topics.js';
import { ENDPOINT_ID_PATTERN, type FrameHandler, type Transport, type TransportStatus } from '../transport/transport.js';
import { logStatus, StatusEmitter } from '../transport/status.js';
import { InboundGuard, UnsettledBound } from '../transport/inbound.js';
import { intOption } from '../transport/options.js';
import { setNoDelay } from '../transport/no-delay.js';
import { createMqttGroups } from './mqtt-groups.js';

// [issue 17] mqtt is an optional peer dependency: importing hopsafe/mqtt without it is ERR_CONFIG naming it.
const mqtt = requirePeer<Pick<typeof import('mqtt'), 'connect'>>('mqtt', 'hopsafe/mqtt');

export { DEFAULT_PREFIX, frameTopic, inboxFilter, parseFrameTopic } from './mqtt-topics.js';

/** Default `maxFrameSize`: MQTT allows 256 MiB, but brokers cap messages well below that. [SPEC 8.2] */
export const DEFAULT_MQTT_MAX_FRAME_SIZE = 256 * 1024;
/** Room for what a PUBLISH carries besides the payload: fixed header, topic, packet id, MQTT 5 properties. */
const MQTT_PACKET_ALLOWANCE = 1024;
/** Largest MQTT packet (remaining length) minus room for the fixed header and topic. */
const MQTT_HARD_LIMIT = 268_435_455 - MQTT_PACKET_ALLOWANCE;

/**
 * Options of `mqttTransport`: the broker (`url`, or an existing mqtt.js `client`), the topic prefix, QoS, the
 * MQTT session and the bounds of SPEC 8.2 and 8.9. Only `url` (or `client`) is required.
 */
export interface MqttTransportOptions {
  /**
   * `mqtt://`, `mqtts://`, `ws://` or `wss://` URL of the broker (TLS for `mqtts://` and `wss://`). Required unless
   * `client` is given. Credentials in the URL (`mqtt://user:pass@host`) work but end up in process listings and
   * configs; prefer `mqttOptions.username`/`password`.
   */
  url?: string;
  /**
   * An mqtt.js client the application already has (connected or still connecting), used instead of opening a
   * connection. hopsafe then
   * - subscribes only its own inbox `{prefix}/{localId}/+` and, in `close()`, unsubscribes it again (unless
   *   `unsubscribeOnClose: false`) and removes the listeners it added — it does not `end()` the client unless
   *   `endClient: true`;
   * - chains into `client.handleMessage`: publishes on its inbox are hopsafe's (bounded by `maxUnsettledFrames`),
   *   every other publish goes to the handler that was there before, so the application's own subscriptions and
   *   'message' listeners keep working (its 'message' listeners also see the inbox publishes: filter by topic);
   * - leaves clientId, clean session, protocol version, TLS and credentials to the application's client:
   *   `url`, `clientId`, `protocolVersion`, `sessionExpirySeconds` and `mqttOptions` must not be given with it
   *   (with MQTT 5 the Maximum Packet Size announced is the client's; `maxFrameSize` still drops larger inbox frames).
   *   Frames survive reconnects as far as the client's own session does (`clean: false` and `resubscribe`, mqtt.js'
   *   default, keep the inbox; with `resubscribe: false` hopsafe subscribes its inbox again on each connect).
   */
  client?: MqttClient;
  /** With `client`: `end()` that client in `close()` as well. Default false (the client belongs to the application). */
  endClient?: boolean;
  /** First topic level(s). Default 'hopsafe'. No wildcards, no leading '$'. */
  prefix?: string;
  /** QoS of publishes and of the inbox subscription. Default 1. */
  qos?: 0 | 1;
  /** MQTT protocol version: 4 (3.1.1, default) or 5. */
  protocolVersion?: 4 | 5;
  /** Frames accepted while disconnected before `send` refuses with ERR_QUEUE_FULL. Default 1000. */
  maxQueue?: number;
  /**
   * Largest frame (bytes). Default 256 KiB. `send` refuses larger frames; larger inbound publishes are dropped before
   * they are copied and never reach onFrame; with MQTT 5 the CONNECT announces Maximum Packet Size = maxFrameSize + 1024
   * so that the broker does not even send them. [SPEC 8.2, 8.9]
   */
  maxFrameSize?: number;
  /**
   * onFrame calls that may be pending (not yet settled) before the transport stops reading from the broker
   * until one settles. Default 1000. A handler must not wait for this transport's own send() while that many are pending.
   */
  maxUnsettledFrames?: number;
  /** MQTT client id; default the local endpoint id (what a Mosquitto ACL's %c matches). */
  clientId?: string | ((localId: string) => string);
  /** How long `open` waits for the first connection and subscription. Default 10 s. */
  openTimeoutMs?: number;
  /** MQTT 5 only: session expiry interval (s) the broker keeps the session after a disconnect. Default 3600. */
  sessionExpirySeconds?: number;
  /**
   * Unsubscribe the inbox before disconnecting in `close()` (leaves no subscription behind on the broker).
   * Default false (the persistent session keeps frames for the next open); true with `client`.
   */
  unsubscribeOnClose?: boolean;
  /**
   * Extra mqtt.js options (`IClientOptions`), passed to `mqtt.connect`; clientId/clean/protocolVersion set here win
   * over the defaults. Hop-by-hop TLS (with an `mqtts://` or `wss://` URL; Node's `tls.connect` options):
   * - `ca`: the CA certificate(s) (PEM string or Buffer, or an array) that the broker's certificate must chain to;
   *   default Node's built-in CA store. `rejectUnauthorized` stays true unless you set it (do not, outside tests).
   * - `cert` and `key`: a client certificate and its private key (PEM) for brokers that require one
   *   (Mosquitto `require_certificate true`, RabbitMQ `fail_if_no_peer_cert`). Note: given both, mqtt.js switches an
   *   `mqtt://` URL to TLS (`ws://` to `wss://`).
   * - `servername`: the name the broker's certificate must carry (SNI), when it differs from the URL's host.
   * Broker authentication: `username` and `password` (string or Buffer) in the CONNECT packet. Neither is ever logged.
   * @example
   * mqttTransport({ url: 'mqtts://broker.example:8883',
   *   mqttOptions: { ca: readFileSync('ca.pem'), cert: readFileSync('client.pem'), key: readFileSync('client.key'),
   *                  username: 'der-17', password: process.env.BROKER_PASSWORD } })
   */
  mqttOptions?: IClientOptions;
  /** pino logger; silent by default. Only ids, topics, sizes and error codes are logged, never frame bytes. */
  logger?: Logger;
}

/** Creates the MQTT transport. Call `open(localId, onFrame)` before `send`. [SPEC 8.2] */
export function mqttTransport(options: MqttTransportOptions): Transport {
  if (typeof options !== 'object' || options === null) throw new HopsafeError('ERR_CONFIG', 'mqttTransport needs options');
  const shared = options.client;
  if (shared !== undefined) {
    if (typeof shared !== 'object' || shared === null || typeof shared.subscribe !== 'function' || typeof shared.publish !== 'function')
      throw new HopsafeError('ERR_CONFIG', 'client must be an mqtt.js MqttClient');
    const clash = (['url', 'clientId', 'protocolVersion', 'sessionExpirySeconds', 'mqttOptions'] as const).filter(
      (k) => options[k] !== undefined,
    );
    if (clash.length > 0) throw new HopsafeError('ERR_CONFIG', `${clash.join(', ')}: not with an existing client (its own settings apply)`);
  } else if (typeof options.url !== 'string' || options.url.length === 0) {
    throw new HopsafeError('ERR_CONFIG', 'mqttTransport needs a broker url or a client');
  }
  if (options.endClient !== undefined && shared === undefined) throw new HopsafeError('ERR_CONFIG', 'endClient is for an existing client');
  const where = shared !== undefined ? "the application's MQTT client" : redactUrl(options.url ?? '');
  const prefix = assertPrefix(options.prefix ?? DEFAULT_PREFIX);
  const qos = options.qos ?? 1;
  if (qos !== 0 && qos !== 1) throw new HopsafeError('ERR_CONFIG', `qos must be 0 or 1 (got ${String(qos)})`);
  const protocolVersion = options.protocolVersion ?? (shared?.options.protocolVersion === 5 ? 5 : 4);
  if (protocolVersion !== 4 && protocolVersion !== 5) throw new HopsafeError('ERR_CONFIG', 'protocolVersion must be 4 or 5');
  const maxQueue = intOption(options.maxQueue ?? 1000, 'maxQueue', 0);
  const maxFrameSize = intOption(options.maxFrameSize ?? DEFAULT_MQTT_MAX_FRAME_SIZE, 'maxFrameSize', 1);
  if (maxFrameSize > MQTT_HARD_LIMIT) throw new HopsafeError('ERR_CONFIG', `maxFrameSize exceeds what MQTT can carry (${MQTT_HARD_LIMIT})`);
  const maxUnsettledFrames = intOption(options.maxUnsettledFrames ?? 1000, 'maxUnsettledFrames', 1);
  const openTimeoutMs = intOption(options.openTimeoutMs ?? 10_000, 'openTimeoutMs', 1);
  const log = (options.logger ?? pino({ level: 'silent' })).child({ transport: 'mqtt' });
  const guard = new InboundGuard(maxFrameSize, log);
  let bound: UnsettledBound | undefined;

  let client: MqttClient | undefined;
  let localId: string | undefined;
  let state: 'new' | 'opening' | 'open' | 'closed' = 'new';
  let offlineQueued = 0;
  let brokerMaxPacket: number | undefined;
  const status = new StatusEmitter();
  const pendingRejects = new PendingSends();
  let closing: Promise<void> | undefined;

  /** Undoes what `open` did to the client (listeners, handleMessage); for an application's client. */
  let detach: (() => void) | undefined;
  /** send() calls whose publish is not acknowledged yet. */
  const sending = new Set<Promise<void>>();
  // [SPEC 13.9] Group addresses `{prefix}/~g/{address}` on the same client.
  const groups = createMqttGroups({
    prefix,
    qos,
    maxFrameSize,
    guard,
    log,
    client: () => (state === 'open' ? client : undefined),
    localId: () => (state === 'open' ? localId : undefined),
    closed: () => state === 'closed',
    bound: () => bound,
    publish: (topic, bytes, to) => publishFrame(topic, bytes, to),
  });

  const emitStatus = (s: TransportStatus): void => {
    if (status.set(s)) logStatus(log, s, localId);
  };

  function connectOwnClient(id: string): MqttClient {
    const clientId = typeof options.clientId === 'function' ? options.clientId(id) : (options.clientId ?? id);
    const user = options.mqttOptions ?? {};
    return mqtt.connect(options.url ?? '', {
      reconnectPeriod: 1000,
      connectTimeout: openTimeoutMs,
      resubscribe: true,
      queueQoSZero: true,
      ...user,
      clientId,
      // [SPEC 8.2] Persistent session: the broker keeps the inbox subscription and queues QoS 1 frames across reconnects.
      clean: user.clean ?? false,
      protocolVersion,
      // [SPEC 8.2, 8.9] MQTT 5: tell the broker the largest packet we accept, so it drops larger publishes itself
      // (MQTT 5 §3.1.2.11.4: the server MUST NOT send them). mqtt.js also checks it on every inbound packet.
      ...(protocolVersion === 5
        ? {
            properties: {
              sessionExpiryInterval: options.sessionExpirySeconds ?? 3600,
              maximumPacketSize: maxFrameSize + MQTT_PACKET_ALLOWANCE,
              ...user.properties,
            },
          }
        : {}),
    });
  }

  async function open(id: string, onFrame: FrameHandler): Promise<void> {
    assertEndpointId(id, 'local id');
    if (state === 'closed') throw new HopsafeError('ERR_CLOSED', 'transport is closed');
    if (state !== 'new') throw new HopsafeError('ERR_STATE', 'transport already opened');
    if (typeof onFrame !== 'function') throw new HopsafeError('ERR_CONFIG', 'onFrame must be a function');
    state = 'opening';
    localId = id;
    lastTo = undefined;
    const inbox = inboxFilter(prefix, id);
    const c = shared ?? connectOwnClient(id);
    client = c;

    // [SPEC 8.2] Inbound: only `{prefix}/{localId}/{from}` is a frame; `from` is the last level (untrusted).
    // onFrame is called in arrival order. The PUBACK goes out when the frame is handed over, not when onFrame
    // settles: mqtt.js handles inbound packets strictly one after the other, so holding the PUBACK until the
    // handler settled would also hold back the PUBACKs of any send() the handler awaits — a deadlock. Up to
    // maxUnsettledFrames handler calls may be pending; past that the socket is no longer read (backpressure)
    // until one settles. On an application's client every other publish goes to the handler that was there before.
    bound = new UnsettledBound(maxUnsettledFrames);
    const previous = c.handleMessage;
    // [SPEC 8.2] The inbox's own topics, `{prefix}/{id}/{from}`: what parseFrameTopic would accept with this prefix
    // and id, read without splitting the topic (no group topic starts so: no id begins with '~', SPEC 13.9).
    const inboxHead = `${prefix}/${id}/`;
    const inboxSender = (topic: string): string | undefined => {
      if (!topic.startsWith(inboxHead)) return undefined;
      const from = topic.slice(inboxHead.length);
      return from.indexOf('/') < 0 && ENDPOINT_ID_PATTERN.test(from) ? from : undefined;
    };
    const handleMessage = (packet: IPublishPacket, done: (error?: Error) => void): void => {
      let from = state !== 'closed' ? inboxSender(packet.topic) : undefined;
      if (from === undefined) {
        if (state !== 'closed' && groups.handle(packet, () => done())) return;
        const parsed = parseFrameTopic(packet.topic);
        if (state === 'closed' || !parsed || parsed.prefix !== prefix || parsed.to !== id) {
          if (shared !== undefined) {
            previous.call(c, packet, done);
            return;
          }
          if (state !== 'closed') log.debug({ topic: packet.topic }, 'ignored publish outside the inbox');
          done();
          return;
        }
        from = parsed.from;
      }
      const sender = from;
      // [SPEC 8.2, 8.9] Oversized frames dropped unread; past maxUnsettledFrames pending calls, the next packet waits.
      deliverPublish(
        packet.payload,
        sender,
        guard,
        bound,
        (bytes) => onFrame({ from: sender, bytes }),
        (e, size) => log.debug({ from: sender, size, err: errorName(e) }, 'frame handler rejected'),
        () => done(),
      );
    };
    c.handleMessage = handleMessage;

    const learnBrokerMax = (connack: IConnackPacket | undefined): void => {
      // MQTT 5: the broker may announce the largest packet it accepts; larger frames are refused locally
      // instead of getting the connection dropped (and the frame resent on every reconnect).
      const announced = connack?.properties?.maximumPacketSize;
      brokerMaxPacket = typeof announced === 'number' && announced > 0 ? announced : undefined;
    };
    const onConnected = (connack: IConnackPacket): void => {
      // [SPEC 8.2] No Nagle delay (each connection is new).
      setNoDelay(c.stream);
      learnBrokerMax(connack);
      if (state === 'closed') return;
      emitStatus('connected');
      // An application's client created with `resubscribe: false` does not restore the inbox itself.
      if (shared !== undefined && state === 'open' && c.options.resubscribe === false)
        c.subscribe(inbox, { qos }, (err) => {
          if (err) log.warn({ inbox, err: errorName(err) }, 'inbox subscription after reconnect failed');
        });
    };
    const onReconnect = (): void => {
      if (state !== 'closed') emitStatus('reconnecting');
    };
    const onDisconnected = (): void => {
      if (state !== 'closed') emitStatus('disconnected');
    };
    // On the application's client its own 'error' listeners decide (hopsafe adds none that outlives `open`).
    const logError = (e: Error): void => log.warn({ err: errorName(e) }, 'mqtt error');
    c.on('connect', onConnected);
    c.on('reconnect', onReconnect);
    c.on('close', onDisconnected);
    if (shared === undefined) c.on('error', logError);
    detach = () => {
      c.off('connect', onConnected);
      c.off('reconnect', onReconnect);
      c.off('close', onDisconnected);
      if (c.handleMessage === handleMessage) c.handleMessage = previous;
    };
    if (shared !== undefined && c.connected) {
      setNoDelay(c.stream);
      learnBrokerMax((c as unknown as { connackPacket?: IConnackPacket }).connackPacket);
      emitStatus('connected');
    }

    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => fail(new HopsafeError('ERR_TIMEOUT', `no MQTT connection to ${where} within ${openTimeoutMs} ms`)),
          openTimeoutMs,
        );
        const cleanup = (): void => {
          clearTimeout(timer);
          c.off('connect', onConnect);
          c.off('error', onError);
          pendingRejects.delete(fail);
        };
        function fail(e: HopsafeError): void {
          cleanup();
          reject(e);
        }
        function onError(e: Error): void {
          fail(new HopsafeError('ERR_TRANSPORT', `MQTT connection to ${where} failed: ${e.message}`, { cause: e }));
        }
        function onConnect(): void {
          c.off('connect', onConnect);
          c.subscribe(inbox, { qos }, (err, granted) => {
            if (err) return fail(new HopsafeError('ERR_TRANSPORT', `subscribe to ${inbox} failed: ${err.message}`, { cause: err }));
            const refused = (granted ?? []).some((g) => g.qos >= 128);
            if (refused) return fail(new HopsafeError('ERR_FORBIDDEN', `broker refused the subscription to ${inbox}`));
            cleanup();
            resolve();
          });
        }
        pendingRejects.add(fail);
        c.on('error', onError);
        if (shared !== undefined && c.connected) onConnect();
        else c.on('connect', onConnect);
      });
    } catch (e) {
      await close();
      throw e;
    }
    if (state !== 'opening') throw new HopsafeError('ERR_CLOSED', 'transport closed while opening');
    state = 'open';
    log.debug({ localId: id, inbox }, 'open');
  }

  let lastTo: string | undefined;
  let lastTopic: string | undefined;
  function send(peerId: string, bytes: Uint8Array): Promise<void> {
    try {
      assertSendable(
        { name: 'mqtt', closed: state === 'closed', localId: state === 'open' ? localId : undefined, maxFrameSize },
        peerId,
        bytes,
      );
      if (!client || localId === undefined) throw new HopsafeError('ERR_STATE', 'mqtt transport: call open() before send()');
      // The last recipient's topic is kept: a stream of frames to one peer builds (and checks) it once.
      if (peerId !== lastTo || lastTopic === undefined) {
        lastTopic = frameTopic(prefix, peerId, localId);
        lastTo = peerId;
      }
      return publishFrame(lastTopic, bytes, peerId);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * One frame on `topic` after `send`'s (or `publishGroup`'s) guards: the broker's packet limit, the offline bound
   * (inbox and group frames count against the same `maxQueue`, SPEC 8.2, 13.9), and ERR_CLOSED for what is still
   * pending at close. Throws for a refusal before anything is queued.
   */
  function publishFrame(topic: string, bytes: Uint8Array, to: string): Promise<void> {
    if (!client) throw new HopsafeError('ERR_STATE', 'mqtt transport: call open() before send()');
    // PUBLISH = fixed header (≤ 5) + topic (2 + length) + packet id (2) + MQTT 5 properties length (1) + payload.
    if (brokerMaxPacket !== undefined && bytes.byteLength + Buffer.byteLength(topic) + 10 > brokerMaxPacket)
      throw new HopsafeError(
        'ERR_PAYLOAD_TOO_LARGE',
        `frame of ${bytes.byteLength} bytes exceeds the broker's maximum packet size ${brokerMaxPacket}`,
      );
    const c = client;
    const offline = !c.connected;
    // [SPEC 8.2] While disconnected, frames wait in a bounded queue; past the bound `send` refuses.
    if (offline) assertQueueRoom('mqtt', offlineQueued, maxQueue);
    if (offline) offlineQueued++;
    const sent = new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (e?: HopsafeError): void => {
        if (settled) return;
        settled = true;
        if (offline) offlineQueued--;
        pendingRejects.delete(finish);
        if (e) reject(e);
        else resolve();
      };
      pendingRejects.add(finish);
      // Copy: the caller may reuse its buffer before the frame leaves the queue. retain=false. [SPEC 8.2]
      c.publish(topic, Buffer.from(bytes), { qos, retain: false }, (err) => {
        if (err) {
          log.debug({ to, size: bytes.byteLength, err: errorName(err) }, 'publish failed');
          finish(
            new HopsafeError(state === 'closed' ? 'ERR_CLOSED' : 'ERR_TRANSPORT', `publish to ${to} failed: ${err.message}`, {
              cause: err,
            }),
          );
        } else finish();
      });
    });
    sending.add(sent);
    void sent.then(
      () => sending.delete(sent),
      () => sending.delete(sent),
    );
    return sent;
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      const wasOpen = state === 'open';
      state = 'closed';
      const c = client;
      if (c && shared !== undefined) {
        // The application's client: let frames already published be acknowledged, stop taking the inbox's
        // publishes, unsubscribe only the inbox, and leave the client connected (unless endClient).
        if (sending.size > 0) await Promise.race([Promise.allSettled([...sending]), sleep(2000)]);
        detach?.();
        if (wasOpen && (options.unsubscribeOnClose ?? true) && c.connected && localId !== undefined) await unsubscribeInbox(c, localId);
        if (options.endClient) await endClient(c);
      } else if (c) {
        if (wasOpen && options.unsubscribeOnClose && c.connected && localId !== undefined) await unsubscribeInbox(c, localId);
        await endClient(c);
        // (Not removeAllListeners: mqtt.js clears its own timers from its 'close' listener.)
      }
      pendingRejects.rejectAll('mqtt');
      emitStatus('closed');
      log.debug({ localId }, 'closed');
    })();
    return closing;
  }

  function unsubscribeInbox(c: MqttClient, id: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000);
      c.unsubscribe(inboxFilter(prefix, id), () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  function endClient(c: MqttClient): Promise<void> {
    return new Promise<void>((resolve) => {
      // Graceful first (lets in-flight QoS 1 publishes finish); forced after a short grace period.
      const timer = setTimeout(() => c.end(true, {}, () => resolve()), 2000);
      c.end(!c.connected, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  return {
    name: 'mqtt',
    maxFrameSize,
    copiesFrames: true, // publishFrame: Buffer.from(bytes)
    open,
    send,
    close,
    ...groups.methods,
    onStatus(listener) {
      status.on(listener);
    },
    inboundStats() {
      return { ...guard.stats(), queued: bound?.pending ?? 0 };
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

function errorName(e: unknown): string {
  if (e instanceof HopsafeError) return e.code;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return typeof e;
}

/** Drops credentials from a URL before it reaches an error message. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
