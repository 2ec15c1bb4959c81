/**
 * Group frames across a bridge: for every endpoint P living on side S, one transport of the bridge on S subscribes to
 * every group address of P (`subscribeGroupsOf`), and each frame is published again, unchanged, on every other side T
 * by P's proxy there (`proxies[T][P].publishGroup`), so members on T read P's group on their own broker. Only the side
 * P lives on is subscribed, so a frame republished on T is never picked up again (no loops), and a frame claiming a
 * publisher that lives elsewhere is never forwarded. Sides whose transports have no group addresses are left out.
 * [SPEC 8.5, 13.9]
 */
import type { Logger } from 'pino';
import { HopsafeError } from '../errors/index.js';
import { applyInterceptors, type Interceptor } from '../transport/interceptor.js';
import type { Transport } from '../transport/transport.js';

export interface BridgeGroupParts {
  readonly sideNames: readonly string[];
  /** endpoint id → the side it lives on */
  readonly home: ReadonlyMap<string, string>;
  /** side → (id living elsewhere → the bridge's transport on that side acting as it) */
  readonly proxies: ReadonlyMap<string, ReadonlyMap<string, Transport>>;
  readonly interceptors: readonly Interceptor[];
  readonly maxFrameSize: (side: string) => number;
  readonly onForwarded: (side: string, bytes: number) => void;
  readonly onFailed: () => void;
  readonly onDropped: () => void;
  readonly onOversize: () => void;
  readonly closed: () => boolean;
  readonly log: Logger;
}

/** Subscribes the publishers' group addresses on their home sides; resolves once every subscription is made. */
export async function forwardGroups(p: BridgeGroupParts): Promise<void> {
  const subs: Promise<void>[] = [];
  for (const [publisher, side] of p.home) {
    const local = [...(p.proxies.get(side)?.values() ?? [])].find((t) => typeof t.subscribeGroupsOf === 'function');
    if (!local?.subscribeGroupsOf) continue;
    const targets = p.sideNames
      .filter((s) => s !== side)
      .map((s) => [s, p.proxies.get(s)?.get(publisher)] as const)
      .filter(
        (x): x is readonly [string, Transport & Required<Pick<Transport, 'publishGroup'>>] => typeof x[1]?.publishGroup === 'function',
      );
    if (targets.length === 0) continue;
    subs.push(
      local.subscribeGroupsOf(publisher, async (address, bytes) => {
        if (p.closed()) return;
        if (bytes.byteLength > p.maxFrameSize(side)) {
          p.onOversize();
          return;
        }
        await Promise.all(
          targets.map(async ([target, via]) => {
            const out = applyInterceptors({ from: publisher, to: '', topic: `${side}->${target} group ${address}`, bytes }, p.interceptors);
            if (out.length === 0) p.onDropped();
            for (const b of out)
              await via.publishGroup(address, b).then(
                () => p.onForwarded(side, b.length),
                (e: unknown) => {
                  p.onFailed();
                  p.log.debug(
                    { side: target, publisher, address, code: e instanceof HopsafeError ? e.code : undefined },
                    'group frame not forwarded',
                  );
                },
              );
          }),
        );
      }),
    );
  }
  await Promise.all(subs);
}
