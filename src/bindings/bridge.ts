/**
 * `hopsafe/bridge`: forwards frames between messaging systems as opaque bytes. It holds no keys and no
 * certificates and cannot read or undetectably alter what it carries; the sessions run end to end through it. [SPEC 8.5]
 *
 * Design: each endpoint id lives on exactly one side (`endpoints`, or `route` applied to `ids`). For every
 * side S and every id X living on ANOTHER side, the bridge opens one transport instance on S as X — a proxy
 * inbox — built by S's factory (`sides[S](X)`): an MQTT client subscribed to `{prefix}/X/+`, an AMQP queue bound
 * to `X.*`, an XMPP account `X@domain`. A frame F → X arriving at that proxy is re-sent on X's side T by the
 * proxy there for F (`proxies[T][F].send(X, bytes)`), so the receiver sees the original sender id.
 * Frames whose sender does not live on the side they arrived from have no proxy to leave by and are dropped
 * (`unroutable`): this both stops spoofing a remote id and prevents forwarding loops.
 * The inbound handler settles only after the outbound `send` settled, so with acknowledging transports (AMQP,
 * MQTT QoS 1) the source is acked only once the target broker took the frame.
 *
 * @module hopsafe/bridge
 */
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { HopsafeError } from '../errors/index.js';
import { attachBridgeMetrics, parseBridgeMetricsOptions, type BridgeMetricsOptions } from './bridge-metrics.js';
import { applyInterceptors, type Interceptor } from '../transport/interceptor.js';
import { forwardGroups } from './bridge-groups.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import type { InboundFrame, Transport } from '../transport/transport.js';

export type { BridgeMetricsOptions } from './bridge-metrics.js';
/** Builds the transport a bridge side uses to act as endpoint `id` on that side (one instance per id). */
export type TransportFactory = (id: string) => Transport;

/**
 * [SPEC 8.5] Options of `createBridge`: the sides (one transport factory per messaging system) and which side each
 * bridged endpoint id lives on, as an explicit `endpoints` map and/or a `route` function over `ids`. An id on two
 * sides, an unknown side or nothing to bridge is ERR_CONFIG.
 *
 * @example
 * ```ts
 * createBridge({
 *   sides: { mqtt: (id) => mqttTransport({ url }), xmpp: (id) => xmppTransport({ domain, password: pw[id] }) },
 *   endpoints: { 'der-1': 'mqtt', scada: 'xmpp' },
 * });
 * ```
 */
export interface BridgeOptions {
  /** Side name → factory of transports on that system. At least two sides. */
  sides: Record<string, TransportFactory>;
  /** Explicit map endpoint id → side name. */
  endpoints?: Record<string, string>;
  /** Side of an id (with `ids`); ids for which it returns undefined are not bridged. */
  route?: (endpointId: string) => string | undefined;
  /** Endpoint ids to bridge, classified by `route`. */
  ids?: readonly string[];
  /** Interceptor run on every forwarded frame (tests: hostile bridge). Same semantics as the broker's taps. */
  tap?: Interceptor;
  /**
   * pino logger (bound to `{ transport: 'bridge' }`); silent by default. Logs sides, ids, sizes and counts at open and
   * close (info) and each frame not forwarded (debug) — never frame bytes. Give the side transports their own.
   */
  logger?: Logger;
  /** Prometheus metrics read from `stats()` (off by default): `true`, or `{ registry, prefix, name }`. */
  metrics?: boolean | BridgeMetricsOptions;
}

/** Counters of one side of a bridge (`BridgeStats.perSide`). */
export interface BridgeSideStats {
  /** Frames received on this side and forwarded to another. */
  forwarded: number;
}

/**
 * What a bridge did since it opened (`bridge.stats()`): frames forwarded, and those it did not forward, by reason.
 */
export interface BridgeStats {
  /** Frames re-sent (after the taps; a duplicated frame counts twice). */
  forwarded: number;
  /** Frames the taps dropped. */
  dropped: number;
  /** Frames whose sender does not live on the side they came from (spoofed or looping). */
  unroutable: number;
  /** Sends refused by the target side (too large, queue full, closed...). */
  failed: number;
  /**
   * Inbound frames larger than the receiving proxy's maxFrameSize, dropped without being forwarded (a side transport
   * that does not bound its inbound frames itself; the shipped bindings drop them before the bridge sees them). [SPEC 8.9]
   */
  oversize: number;
  /** Bytes re-sent. */
  bytes: number;
  /** Ids per side and proxies opened. */
  endpoints: Record<string, string>;
  /** Proxy transports open: one per side for every bridged id living on another side. */
  proxies: number;
  /** The same per side name. */
  perSide: Record<string, BridgeSideStats>;
}

/** [SPEC 8.5] A running bridge, as `createBridge` returns it: it forwards frames between its sides until closed. */
export interface Bridge {
  /** Adds an interceptor after the earlier ones; returns a function removing it. */
  tap(fn: Interceptor): () => void;
  /** Counters since the bridge opened (a snapshot). */
  stats(): BridgeStats;
  /** The Prometheus text exposition of the metrics registry; ERR_CONFIG when metrics are off. */
  metrics(): Promise<string>;
  /** The registry holding the bridge's metrics; undefined when they are off. */
  readonly metricsRegistry: Registry | undefined;
  /** Closes every proxy transport. Idempotent. */
  close(): Promise<void>;
}

function endpointMap(o: BridgeOptions, sideNames: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  const add = (id: string, side: string): void => {
    assertEndpointId(id, 'bridged endpoint id');
    if (!sideNames.includes(side))
      throw new HopsafeError('ERR_CONFIG', `bridge: endpoint ${id} routes to unknown side ${JSON.stringify(side)}`);
    const prev = map.get(id);
    if (prev !== undefined && prev !== side)
      throw new HopsafeError('ERR_CONFIG', `bridge: endpoint ${id} is on two sides (${prev}, ${side})`);
    map.set(id, side);
  };
  for (const [id, side] of Object.entries(o.endpoints ?? {})) add(id, side);
  if (o.ids !== undefined) {
    if (o.route === undefined) throw new HopsafeError('ERR_CONFIG', 'bridge: `ids` needs a `route` function');
    for (const id of o.ids) {
      const side = o.route(id);
      if (side !== undefined) add(id, side);
    }
  }
  // [SPEC 8.5] A bridge that bridges nothing is a configuration error, not a silent no-op.
  if (map.size === 0) throw new HopsafeError('ERR_CONFIG', 'bridge: no endpoint to bridge (give `endpoints`, or `route` with `ids`)');
  return map;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** [SPEC 8.5] The shape of the options, checked before anything opens (ERR_CONFIG naming what is wrong). */
function checkOptions(o: unknown): asserts o is BridgeOptions {
  if (!isRecord(o)) throw new HopsafeError('ERR_CONFIG', 'bridge: options must be an object');
  if (!isRecord(o.sides)) throw new HopsafeError('ERR_CONFIG', 'bridge: `sides` must be an object of side name → transport factory');
  for (const [name, factory] of Object.entries(o.sides))
    if (typeof factory !== 'function')
      throw new HopsafeError(
        'ERR_CONFIG',
        `bridge: side ${JSON.stringify(name)} must be a factory function (id) => Transport, got ${describe(factory)}`,
      );
  if (o.endpoints !== undefined && !isRecord(o.endpoints))
    throw new HopsafeError('ERR_CONFIG', 'bridge: `endpoints` must be an object of endpoint id → side name');
  if (o.route !== undefined && typeof o.route !== 'function')
    throw new HopsafeError('ERR_CONFIG', `bridge: \`route\` must be a function, got ${describe(o.route)}`);
  if (o.ids !== undefined && (!Array.isArray(o.ids) || !o.ids.every((id) => typeof id === 'string')))
    throw new HopsafeError('ERR_CONFIG', 'bridge: `ids` must be an array of endpoint ids');
  if (o.route !== undefined && o.ids === undefined)
    throw new HopsafeError(
      'ERR_CONFIG',
      'bridge: `route` needs `ids` (the endpoint ids to classify); without them nothing would be bridged',
    );
  if (o.tap !== undefined && typeof o.tap !== 'function')
    throw new HopsafeError('ERR_CONFIG', `bridge: \`tap\` must be a function, got ${describe(o.tap)}`);
  if (o.logger !== undefined && !(isRecord(o.logger) && typeof o.logger.child === 'function'))
    throw new HopsafeError('ERR_CONFIG', `bridge: \`logger\` must be a pino logger, got ${describe(o.logger)}`);
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

/** [SPEC 8.5] What a side's factory returned must be a Transport. */
function checkTransport(t: unknown, side: string, id: string): Transport {
  const ok = isRecord(t) && typeof t.open === 'function' && typeof t.send === 'function' && typeof t.close === 'function';
  if (!ok)
    throw new HopsafeError(
      'ERR_CONFIG',
      `bridge: the factory of side ${JSON.stringify(side)} returned ${describe(t)} for ${id}, not a Transport`,
    );
  return t as unknown as Transport;
}

/** Opens the proxies and starts forwarding. Resolves once every proxy is open. [SPEC 8.5] */
export async function createBridge(o: BridgeOptions): Promise<Bridge> {
  checkOptions(o);
  const sideNames = Object.keys(o.sides);
  if (sideNames.length < 2) throw new HopsafeError('ERR_CONFIG', 'bridge: needs at least two sides');
  const home = endpointMap(o, sideNames);
  const metricsOptions = parseBridgeMetricsOptions(o.metrics);
  const log = (o.logger ?? pino({ level: 'silent' })).child({ transport: 'bridge' });
  const interceptors: Interceptor[] = o.tap ? [o.tap] : [];
  const stats = { forwarded: 0, dropped: 0, unroutable: 0, failed: 0, oversize: 0, bytes: 0 };
  const perSide: Record<string, BridgeSideStats> = Object.fromEntries(sideNames.map((s) => [s, { forwarded: 0 }]));
  /** proxies.get(side).get(id): transport on `side` acting as `id` (which lives elsewhere). */
  const proxies = new Map<string, Map<string, Transport>>(sideNames.map((s) => [s, new Map()]));
  let closed = false;

  const forward = async (side: string, to: string, frame: InboundFrame, maxFrameSize: number): Promise<void> => {
    // [SPEC 8.9] Whatever the side's transport does, a frame above its maxFrameSize is not carried further.
    if (frame.bytes.byteLength > maxFrameSize) {
      stats.oversize++;
      log.debug({ side, from: frame.from, to, size: frame.bytes.byteLength, maxFrameSize }, 'oversize frame not forwarded');
      return;
    }
    const target = home.get(to);
    // [SPEC 8.5] The sender must live on the side the frame came from; it leaves by its proxy on the target side.
    const via = target === undefined || home.get(frame.from) !== side ? undefined : proxies.get(target)?.get(frame.from);
    if (closed) return;
    if (target === undefined || via === undefined) {
      stats.unroutable++;
      log.debug(
        { side, from: frame.from, to, size: frame.bytes.byteLength },
        'unroutable frame not forwarded (sender does not live on this side)',
      );
      return;
    }
    const out = applyInterceptors({ from: frame.from, to, topic: `${side}->${target}`, bytes: frame.bytes }, interceptors);
    if (out.length === 0) {
      stats.dropped++;
      log.debug({ side, from: frame.from, to }, 'frame dropped by a tap');
    }
    // Sends are issued synchronously in arrival order (transports keep per-sender order), then awaited.
    const sends = out.map((bytes) =>
      via.send(to, bytes).then(
        () => {
          stats.forwarded++;
          stats.bytes += bytes.length;
          (perSide[side] as BridgeSideStats).forwarded++;
        },
        (e: unknown) => {
          stats.failed++;
          log.debug(
            { side: target, from: frame.from, to, size: bytes.length, code: e instanceof HopsafeError ? e.code : undefined },
            'forward failed',
          );
        },
      ),
    );
    await Promise.all(sends);
  };

  const opened: Transport[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(opened.map((t) => t.close().catch(() => undefined)));
  };
  const statsNow = (): BridgeStats => ({
    ...stats,
    endpoints: Object.fromEntries(home),
    proxies: opened.length,
    perSide: Object.fromEntries(Object.entries(perSide).map(([k, v]) => [k, { ...v }])),
  });
  const metered = metricsOptions ? attachBridgeMetrics(metricsOptions, statsNow) : undefined;
  try {
    const opens: Promise<void>[] = [];
    for (const side of sideNames) {
      const factory = o.sides[side] as TransportFactory;
      for (const [id, idSide] of home) {
        if (idSide === side) continue;
        const t = checkTransport(factory(id), side, id);
        opened.push(t);
        (proxies.get(side) as Map<string, Transport>).set(id, t);
        const max = t.maxFrameSize;
        const opening = t.open(id, (frame) => forward(side, id, frame, max));
        // A later factory may throw before these are awaited (e.g. a missing XMPP credential): never unhandled.
        opening.catch(() => undefined);
        opens.push(opening);
      }
    }
    const results = await Promise.allSettled(opens);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    // [SPEC 8.5, 13.9] Group frames of each endpoint, from the side it lives on to the others.
    await forwardGroups({
      sideNames,
      home,
      proxies,
      interceptors,
      maxFrameSize: (side) => Math.min(...[...(proxies.get(side)?.values() ?? [])].map((t) => t.maxFrameSize)),
      onForwarded: (side, n) => {
        stats.forwarded++;
        stats.bytes += n;
        (perSide[side] as BridgeSideStats).forwarded++;
      },
      onFailed: () => void stats.failed++,
      onDropped: () => void stats.dropped++,
      onOversize: () => void stats.oversize++,
      closed: () => closed,
      log,
    });
  } catch (e) {
    closed = true;
    await closeAll();
    metered?.detach();
    log.warn({ code: e instanceof HopsafeError ? e.code : undefined }, 'bridge could not open');
    throw e instanceof HopsafeError ? e : new HopsafeError('ERR_TRANSPORT', `bridge: cannot open: ${(e as Error).message}`, { cause: e });
  }

  log.info({ sides: sideNames, proxies: opened.length, endpoints: Object.fromEntries(home) }, 'bridge open');

  return {
    tap(fn) {
      interceptors.push(fn);
      return () => {
        const i = interceptors.indexOf(fn);
        if (i >= 0) interceptors.splice(i, 1);
      };
    },
    stats: statsNow,
    metrics() {
      if (!metered)
        return Promise.reject(
          new HopsafeError('ERR_CONFIG', 'bridge: metrics are off: createBridge({ metrics: true | { registry, prefix, name } })'),
        );
      return metered.registry.metrics();
    },
    metricsRegistry: metered?.registry,
    async close() {
      if (closed) return;
      closed = true;
      await closeAll();
      metered?.detach();
      log.info(
        {
          forwarded: stats.forwarded,
          dropped: stats.dropped,
          unroutable: stats.unroutable,
          failed: stats.failed,
          oversize: stats.oversize,
        },
        'bridge closed',
      );
    },
  };
}
