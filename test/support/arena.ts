/**
 * Endpoints on a memory hub with an adversary in the middle: the adversary taps the hub and wraps
 * every endpoint's transport (so it can reflect, redirect and release frames directly). Each
 * endpoint has its own controllable clock.
 */
import assert from 'node:assert/strict';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { createAdversary, type Adversary, type AdversaryRule } from '../../src/adversary/index.js';
import type { EndpointOptions } from '../../src/endpoint/options.js';
import type { Transport } from '../../src/transport/transport.js';
import type { ErrorCode } from '../../src/errors/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { cast, text, until, type Cast } from './endpoints.js';

export interface Arena extends Cast {
  readonly adv: Adversary;
  /** Milliseconds added to an endpoint's clock. */
  readonly skew: Record<string, number>;
  /** Payloads the application handed to `send`, per receiver (what may legitimately be delivered). */
  readonly sent: Record<string, string[]>;
  send(from: string, to: string, msg: string): Promise<void>;
  /** Sends and waits until it is delivered. */
  roundTrip(from: string, to: string, msg: string, ms?: number): Promise<void>;
  /** Waits for a reject with `code` at `id`. */
  rejected(id: string, code: ErrorCode, ms?: number): Promise<void>;
  /** Waits until `from` has no pending handshake with `to` (reads the endpoint's private table). */
  noPending(from: string, to: string, ms?: number): Promise<void>;
  /** Every delivered payload was sent by the application, exactly once (no tampered, forged, replayed or duplicated payload). */
  assertClean(): void;
}

export async function arena(
  ids: readonly string[],
  rules: readonly AdversaryRule[] = [],
  opts: Partial<Omit<EndpointOptions, 'id' | 'identity' | 'trust' | 'transport'>> & {
    perEndpoint?: Record<string, Partial<EndpointOptions>>;
    seed?: number;
    /** Another network (e.g. MQTT to an adversarial broker) instead of the memory hub; pass its adversary too. */
    network?: { adversary: Adversary; transport: (id: string) => Transport };
  } = {},
): Promise<Arena> {
  const hub = createMemoryHub();
  const adv = opts.network?.adversary ?? createAdversary(rules, { seed: opts.seed ?? 7 });
  if (opts.network) for (const r of rules) adv.add(r);
  else hub.tap(adv);
  const skew: Record<string, number> = {};
  const perEndpoint: Record<string, Partial<EndpointOptions>> = {};
  for (const id of ids) {
    skew[id] = 0;
    perEndpoint[id] = { clock: () => Date.now() + (skew[id] ?? 0), ...opts.perEndpoint?.[id] };
  }
  const { seed: _seed, perEndpoint: _pe, network, ...common } = opts;
  const c = await cast(ids, { ...common, perEndpoint, transport: network ? network.transport : () => adv.wrapTransport(hub.transport()) });
  const sent: Record<string, string[]> = Object.fromEntries(ids.map((id) => [id, []]));
  const a: Arena = {
    ...c,
    hub,
    adv,
    skew,
    sent,
    async send(from, to, msg) {
      sent[to]!.push(msg);
      await c.eps[from]!.send(to, utf8(msg));
    },
    async roundTrip(from, to, msg, ms = 5000) {
      await a.send(from, to, msg);
      await until(() => c.inbox[to]!.some((m) => m.from === from && text(m) === msg), ms, `${msg} at ${to}`);
    },
    async rejected(id, code, ms = 5000) {
      await until(
        () => c.rejects[id]!.some((r) => r.code === code),
        ms,
        `${code} at ${id} (got ${c.rejects[id]!.map((r) => r.code).join(',')})`,
      );
    },
    async noPending(from, to, ms = 5000) {
      // The peer table's entry is the PeerMachine itself (endpoint.ts Slot).
      const peers = (c.eps[from] as unknown as { peers: Map<string, { handshaking: boolean }> }).peers;
      await until(() => !peers.get(to)?.handshaking, ms, `${from} pending handshake with ${to} ends`);
    },
    assertClean() {
      for (const id of ids) {
        const got = c.inbox[id]!.map(text);
        assert.equal(new Set(got).size, got.length, `duplicate delivery at ${id}: ${got.join(',')}`);
        for (const g of got) assert.ok(sent[id]!.includes(g), `${id} received a payload nobody sent: ${JSON.stringify(g)}`);
      }
    },
  };
  return a;
}

export const settle = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));
export { until, text };
