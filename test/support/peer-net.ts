/**
 * Per-peer machines (src/session/peer.ts) wired together without a hub, timers or an endpoint: frames the machines
 * transmit wait in `wire` until the test delivers, drops, holds or alters them; time is a number the test moves.
 */
import { createSessionIndex } from '../../src/session/session-index.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { suiteByName, DEFAULT_SUITES } from '../../src/crypto/suites.js';
import { createTrustStore, loadIdentity } from '../../src/pki/index.js';
import { HandshakeReplayCache } from '../../src/session/freshness.js';
import { HoldBudget } from '../../src/session/session.js';
import { AlertLimiter, HandshakeAdmission } from '../../src/session/admission.js';
import { frameKind, PeerMachine, type HandshakeContext, type PeerEnv } from '../../src/session/peer.js';
import type { Authorize, PeerAction } from '../../src/session/peer-types.js';
import type { Protection } from '../../src/codec/tokens.js';
import type { TestIdentity } from '../../src/testing/index.js';
import { fromUtf8 as decodeUtf8 } from '../../src/bytes/index.js';

export interface WireFrame {
  readonly from: string;
  readonly to: string;
  readonly bytes: Uint8Array;
}

export interface NodeOptions {
  readonly protection?: Protection;
  readonly acceptProtection?: readonly Protection[];
  readonly authorize?: Authorize;
  /** Replay cache coverage start (SPEC 5.6); default: the node's creation time. */
  readonly since?: number;
  readonly session?: Record<string, number>;
  readonly maxHeldBytes?: number;
  readonly maxSessionLifetimeMs?: number;
  readonly handshakesPerSecondPerPeer?: number;
  /** [SPEC 5.11] Default 0 (off). */
  readonly offlineStartMs?: number;
  readonly rng?: (n: number) => Uint8Array;
}

export interface NetNode {
  readonly id: string;
  readonly env: PeerEnv;
  readonly machines: Map<string, PeerMachine>;
  readonly delivered: { from: string; text: string; roles: string[] }[];
  readonly rejects: string[];
  readonly outcomes: { code: string | undefined; texts: string[] }[];
  readonly events: PeerAction[];
  machine(peer: string): PeerMachine;
}

export class PeerNet {
  now: number;
  readonly wire: WireFrame[] = [];
  readonly nodes = new Map<string, NetNode>();
  /** Return null to drop, bytes to replace; default: deliver as is. */
  tap: ((f: WireFrame) => Uint8Array | null | undefined) | undefined;

  constructor(
    private readonly roots: readonly string[],
    now = Date.now(),
  ) {
    this.now = now;
  }

  node(id: string, identity: TestIdentity, o: NodeOptions = {}): NetNode {
    const provider = createNodeProvider();
    const protection = o.protection ?? 'confidentiality';
    const ctx: HandshakeContext = {
      provider,
      identity: loadIdentity(identity, id, { provider }),
      verifier: createTrustStore({ roots: [...this.roots] }, { provider }),
      suites: DEFAULT_SUITES.map(suiteByName),
      protection,
      acceptProtection: o.acceptProtection ?? [protection],
      replayCache: new HandshakeReplayCache(30_000, undefined, o.since ?? this.now),
      holdBudget: new HoldBudget(o.maxHeldBytes ?? 8 * 1024 * 1024),
      ...(o.session ? { sessionOptions: o.session } : {}),
      ...(o.rng ? { rng: o.rng } : {}),
    };
    const env: PeerEnv = {
      ctx,
      limits: {
        handshakeTimeoutMs: 10_000,
        handshakeRetryMs: 1000,
        maxQueued: 1000,
        offlineStartMs: o.offlineStartMs ?? 0,
        acks: { every: 32, delayMs: 20, track: 1024, timeoutMs: 30_000, gapMs: 500 },
        probeTimeoutMs: 1000,
        maxSessionLifetimeMs: o.maxSessionLifetimeMs ?? 86_400_000,
      },
      admission: new HandshakeAdmission(
        {
          handshakesPerSecond: 500,
          handshakesPerSecondPerPeer: o.handshakesPerSecondPerPeer ?? 10,
          maxConcurrentHandshakes: 64,
          knownPeerChecksPerSecond: 2000,
        },
        this.now,
      ),
      alerts: new AlertLimiter({ perSecond: 100 }, this.now),
      counters: { sent: 0, received: 0, handshakes: { initiated: 0, completed: 0, failed: 0 }, keyUpdates: { sent: 0, received: 0 } },
      index: createSessionIndex(),
      authorize: o.authorize,
      pause: async () => undefined,
    };
    const machines = new Map<string, PeerMachine>();
    const n: NetNode = {
      id,
      env,
      machines,
      delivered: [],
      rejects: [],
      outcomes: [],
      events: [],
      machine: (peer) => {
        let m = machines.get(peer);
        if (!m) {
          m = new PeerMachine(peer, env);
          machines.set(peer, m);
        }
        return m;
      },
    };
    this.nodes.set(id, n);
    return n;
  }

  /** Applies a machine's actions: transmits go on the wire, the rest is recorded. */
  apply(n: NetNode, peer: string, actions: readonly PeerAction[]): void {
    for (const a of actions) {
      n.events.push(a);
      if (a.type === 'transmit') {
        this.wire.push({ from: n.id, to: peer, bytes: a.frame });
        a.onSent?.();
      } else if (a.type === 'deliver') n.delivered.push({ from: peer, text: decodeUtf8(a.data), roles: a.roles.map((r) => r.role) });
      else if (a.type === 'reject') n.rejects.push(a.error.code);
      else if (a.type === 'outcome') {
        // as the endpoint does: settle the confirmed sends
        n.outcomes.push({ code: a.code, texts: a.items.map((i) => decodeUtf8(i.data)) });
        for (const i of a.items)
          a.code === undefined ? i.settle?.resolve() : i.settle?.reject(Object.assign(new Error(a.code), { code: a.code }));
      }
    }
  }

  /** `from` sends `text` to `to`; resolves to the send's outcome ('sent', 'confirmed' or an error code). */
  send(from: string, to: string, text: string, confirm = false): Promise<string> {
    const n = this.must(from);
    return new Promise<string>((resolve) => {
      try {
        this.apply(
          n,
          to,
          n
            .machine(to)
            .send(
              new TextEncoder().encode(text),
              confirm,
              { resolve: () => resolve(confirm ? 'confirmed' : 'sent'), reject: (e: unknown) => resolve(codeOf(e)) },
              this.now,
            ),
        );
      } catch (e) {
        resolve(codeOf(e));
      }
    });
  }

  /** Hands one wire frame to its receiver the way the endpoint does (HS_INIT screened at arrival). */
  async deliver(f: WireFrame): Promise<void> {
    const n = this.must(f.to);
    const m = n.machine(f.from);
    if (frameKind(f.bytes) === 'init') {
      let init: ReturnType<typeof m.screenInit>;
      try {
        init = m.screenInit(f.bytes, this.now);
      } catch (e) {
        n.rejects.push(codeOf(e));
        this.apply(n, f.from, m.screenFailed(f.bytes, e, this.now));
        return;
      }
      if (!init) return;
      m.initQueued();
      this.apply(n, f.from, await m.receive(f.bytes, this.now, init));
      return;
    }
    this.apply(n, f.from, await m.receive(f.bytes, this.now));
  }

  /** Delivers everything on the wire (and what that sends) until it is empty, through `tap`. */
  async flush(max = 1000): Promise<void> {
    for (let i = 0; i < max && this.wire.length > 0; i++) {
      const f = this.wire.shift() as WireFrame;
      const t = this.tap?.(f);
      if (t === null) continue;
      await this.deliver(t ? { ...f, bytes: t } : f);
    }
  }

  /** Moves time to `now` and runs every machine's timer work. */
  async advance(ms: number): Promise<void> {
    this.now += ms;
    for (const n of this.nodes.values()) for (const [peer, m] of n.machines) this.apply(n, peer, m.tick(this.now));
  }

  private must(id: string): NetNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }
}

export function codeOf(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : 'other';
}
