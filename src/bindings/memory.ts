/**
 * In-process transport hub (`hopsafe/memory`): for tests, the demo and examples. Frames are
 * delivered asynchronously and in order per sender→receiver pair, like a broker. `tap` lets a
 * test play a hostile intermediary. [SPEC 8.6]
 *
 * @module hopsafe/memory
 */
import type { Logger } from 'pino';
import { HopsafeError } from '../errors/index.js';
import { InboundGuard } from '../transport/inbound.js';
import { applyInterceptors, type Interceptor } from '../transport/interceptor.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { assertSendable } from '../transport/lifecycle.js';
import type { FrameHandler, InboundStats, Transport } from '../transport/transport.js';
import { createMemoryGroups } from './memory-groups.js';

export type { Interceptor, InterceptedFrame } from '../transport/interceptor.js';

/** Options of {@link createMemoryHub}. */
export interface MemoryHubOptions {
  /** Largest frame carried (default 1 MiB): `send` refuses larger ones, and larger frames a tap injects are dropped. [SPEC 8.9] */
  readonly maxFrameSize?: number;
  /** pino logger for dropped frames (ids and sizes only); none by default. */
  readonly logger?: Logger;
}

/**
 * [SPEC 8.6] An in-process message hub: every transport it hands out can send to every other one by endpoint id.
 * Frames are delivered asynchronously, in order per receiver, with no broker, persistence or reconnects; taps play
 * the hostile intermediary of the tests.
 */
export interface MemoryHub {
  /** A new transport attached to this hub. */
  transport(): Transport;
  /** Sees (and may alter, drop, duplicate or inject) every frame; returns a function that removes the tap. */
  tap(fn: Interceptor): () => void;
  /** Ids currently open on the hub. */
  readonly endpoints: readonly string[];
  /** Resolves when every frame sent so far has been handed to its receiver. */
  drain(): Promise<void>;
  /** Frames the hub dropped before any receiver saw them (all receivers together). [SPEC 8.9] */
  inboundStats(): InboundStats;
}

/**
 * [SPEC 8.6] Creates an in-process hub for tests, demos and examples (one process, no network).
 *
 * @example
 * ```ts
 * const hub = createMemoryHub();
 * const alice = await createEndpoint({ id: 'alice', identity, trust, transport: hub.transport() });
 * hub.tap((frame) => [frame.bytes, frame.bytes]); // an intermediary that duplicates every frame
 * ```
 */
export function createMemoryHub(options: MemoryHubOptions = {}): MemoryHub {
  const maxFrameSize = options.maxFrameSize ?? 1024 * 1024;
  const log = options.logger?.child({ transport: 'memory' });
  const handlers = new Map<string, { onFrame: FrameHandler; guard: InboundGuard }>();
  let oversizeTotal = 0;
  const taps: Interceptor[] = [];
  // One delivery chain per receiver: per-pair order is kept, and a slow receiver never stalls the others.
  const chains = new Map<string, Promise<void>>();
  // [SPEC 13.9] Group addresses: one publish, one tap pass, one delivery per subscriber.
  const groups = createMemoryGroups({ taps, chains, maxFrameSize });

  function deliver(from: string, to: string, bytes: Uint8Array): void {
    const out = applyInterceptors({ from, to, topic: `memory/${to}/${from}`, bytes: bytes.slice() }, taps);
    const prev = chains.get(to) ?? Promise.resolve();
    const next = prev.then(async () => {
      await new Promise<void>((r) => setImmediate(r));
      for (const b of out) {
        const h = handlers.get(to);
        if (!h) continue; // like a broker with no subscriber: dropped
        // [SPEC 8.9] A tap (the hostile intermediary) may inject a frame of any size: drop it before the receiver sees it.
        if (h.guard.oversize(b.byteLength, from)) {
          oversizeTotal++;
          continue;
        }
        try {
          await h.onFrame({ from, bytes: b });
        } catch {
          /* a handler failure never breaks the hub */
        }
      }
    });
    chains.set(to, next);
    void next.then(() => {
      if (chains.get(to) === next) chains.delete(to);
    });
  }

  return {
    get endpoints() {
      return [...handlers.keys()];
    },
    tap(fn) {
      taps.push(fn);
      return () => {
        const i = taps.indexOf(fn);
        if (i >= 0) taps.splice(i, 1);
      };
    },
    async drain() {
      while (chains.size > 0) await Promise.all([...chains.values()]);
    },
    inboundStats() {
      return { oversize: oversizeTotal };
    },
    transport(): Transport {
      let localId: string | undefined;
      let closed = false;
      const guard = new InboundGuard(maxFrameSize, log);
      return {
        name: 'memory',
        maxFrameSize,
        copiesFrames: true, // deliver: bytes.slice() before anything else
        ...groups.methods(
          () => localId,
          () => closed,
        ),
        async open(id, onFrame) {
          assertEndpointId(id);
          if (handlers.has(id)) throw new HopsafeError('ERR_CONFIG', `endpoint ${id} is already open on this hub`);
          localId = id;
          handlers.set(id, { onFrame, guard });
        },
        async send(peerId, bytes) {
          deliver(assertSendable({ name: 'memory', closed, localId, maxFrameSize }, peerId, bytes), peerId, bytes);
        },
        async close() {
          if (closed) return;
          closed = true;
          groups.closeTransport(localId);
          if (localId && handlers.get(localId)?.guard === guard) handlers.delete(localId);
        },
        inboundStats() {
          return guard.stats();
        },
      };
    },
  };
}
