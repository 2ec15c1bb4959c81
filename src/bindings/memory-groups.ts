/**
 * Group addresses on the memory hub: a publish on `memory/~g/{address}` passes the taps once (one broker message) and
 * is then handed to every subscriber, on each one's own delivery chain (in order per receiver). [SPEC 8.6, 13.9]
 */
import { HopsafeError } from '../errors/index.js';
import { applyInterceptors, type Interceptor } from '../transport/interceptor.js';
import { assertGroupAddress, assertGroupSendable, splitGroupAddress } from '../transport/group-address.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { GROUP_LEVEL, type GroupFrameHandler, type Transport } from '../transport/transport.js';

export interface MemoryGroupsParts {
  readonly taps: readonly Interceptor[];
  /** The hub's delivery chains, by receiver id (shared so a receiver's inbox and group frames stay in order). */
  readonly chains: Map<string, Promise<void>>;
  readonly maxFrameSize: number;
}

export function createMemoryGroups(parts: MemoryGroupsParts) {
  const { taps, chains, maxFrameSize } = parts;
  /** address → (subscriber id → handler) */
  const subs = new Map<string, Map<string, GroupFrameHandler>>();
  /** publisher → (subscriber id → handler of every group address of that publisher) */
  const bySender = new Map<string, Map<string, (address: string, bytes: Uint8Array) => void | Promise<void>>>();

  function publish(from: string, address: string, bytes: Uint8Array): void {
    const out = applyInterceptors({ from, to: '', topic: `memory/${GROUP_LEVEL}/${address}`, bytes: bytes.slice() }, taps);
    const publisher = splitGroupAddress(address).publisher;
    // Each receiver with a handler that is still the one subscribed when the frame is handed over.
    const exact = [...(subs.get(address) ?? [])].map(([to, h]): [string, GroupFrameHandler, () => boolean] => [
      to,
      h,
      () => subs.get(address)?.get(to) === h,
    ]);
    const wildcard = [...(bySender.get(publisher) ?? [])].map(([to, h]): [string, GroupFrameHandler, () => boolean] => [
      to,
      (b) => h(address, b),
      () => bySender.get(publisher)?.get(to) === h,
    ]);
    for (const [to, handler, current] of [...exact, ...wildcard]) {
      const prev = chains.get(to) ?? Promise.resolve();
      const next = prev.then(async () => {
        await new Promise<void>((r) => setImmediate(r));
        for (const b of out) {
          if (!current()) return; // unsubscribed (or closed) meanwhile
          if (b.byteLength > maxFrameSize) continue; // [SPEC 8.9] a tap may inject anything
          try {
            await handler(b.slice());
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
  }

  return {
    /** The group methods of one hub transport. */
    methods(
      localId: () => string | undefined,
      closed: () => boolean,
    ): Required<Pick<Transport, 'subscribeGroup' | 'unsubscribeGroup' | 'publishGroup' | 'subscribeGroupsOf'>> {
      return {
        async subscribeGroupsOf(publisher, onFrame) {
          assertEndpointId(publisher, 'publisher id');
          const id = localId();
          if (closed() || id === undefined) throw new HopsafeError(closed() ? 'ERR_CLOSED' : 'ERR_STATE', 'memory transport not open');
          let m = bySender.get(publisher);
          if (!m) bySender.set(publisher, (m = new Map()));
          m.set(id, onFrame);
        },
        async subscribeGroup(address, onFrame) {
          assertGroupAddress(address);
          const id = localId();
          if (closed() || id === undefined) throw new HopsafeError(closed() ? 'ERR_CLOSED' : 'ERR_STATE', 'memory transport not open');
          let m = subs.get(address);
          if (!m) subs.set(address, (m = new Map()));
          m.set(id, onFrame);
        },
        async unsubscribeGroup(address) {
          const id = localId();
          const m = subs.get(address);
          if (!m || id === undefined) return;
          m.delete(id);
          if (m.size === 0) subs.delete(address);
        },
        async publishGroup(address, bytes) {
          const from = assertGroupSendable({ name: 'memory', closed: closed(), localId: localId(), maxFrameSize }, address, bytes);
          publish(from, address, bytes);
        },
      };
    },
    /** A transport closed: its subscriptions end. */
    closeTransport(id: string | undefined): void {
      if (id === undefined) return;
      for (const m of bySender.values()) m.delete(id);
      for (const [a, m] of subs) {
        m.delete(id);
        if (m.size === 0) subs.delete(a);
      }
    },
  };
}
