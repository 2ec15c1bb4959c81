/**
 * A library of intermediary attacks as one Interceptor, usable as the memory hub's `tap`,
 * `startBroker({ adversary })` and a bridge tap. Rules select frames (route, topic, type, n-th,
 * seeded probability) and act on them (flip bits in a decoded region, truncate, extend, drop,
 * duplicate, delay, replay, reorder, reflect, redirect, splice, inject, downgrade). [SPEC 1]
 *
 * Frames that must go to another route (reflect, redirect, released ones) need a sender: attach an
 * `injector` (with the broker: `f => broker.inject(f)`), or wrap the endpoints' transports with
 * `wrapTransport` (the adversary then calls the receiver's handler directly). Without either, such a
 * frame rides along with the next frame the intermediary carries on that route.
 *
 * @module hopsafe/adversary
 */
import type { Interceptor, InterceptedFrame } from '../transport/interceptor.js';
import type { FrameHandler, Transport } from '../transport/transport.js';
import { concat } from '../bytes/index.js';
import { createPrng, type Prng } from './prng.js';
import { frameTypeName, locateRegion, type FrameTypeName } from './regions.js';
import { downgradeOffer, spliceFrames } from './forge.js';
import type { AdversaryAction, AdversaryRule, FrameSelector, Route } from './rules.js';

export type { AdversaryAction, AdversaryRule, FrameSelector, Route, InjectionContext } from './rules.js';
export { locateRegion, frameTypeName, FRAME_TYPE_NAMES, type RegionName, type Region, type FrameTypeName } from './regions.js';
export { createPrng, type Prng } from './prng.js';
export {
  forgeRecord,
  forgeKeyUpdate,
  forgeHandshakeAlert,
  rewriteClearToken1,
  downgradeOffer,
  spliceFrames,
  type ForgedRecord,
  type Signer,
} from './forge.js';

/** A frame the adversary wants delivered on a route of its choice. */
export interface InjectedFrame extends Route {
  readonly bytes: Uint8Array;
}

/**
 * Delivers a frame on a route of the adversary's choice, e.g. `(f) => broker.inject(f)` with the embedded broker;
 * needed for reflect, redirect and released frames unless the transports are wrapped (`wrapTransport`).
 */
export type Injector = (frame: InjectedFrame) => void | Promise<unknown>;

/** One action an {@link Adversary} took, in its `log`. */
export interface AdversaryLogEntry {
  /** The rule's `name`, or its action kind when it has none. */
  readonly rule: string;
  readonly action: AdversaryAction['kind'];
  readonly from: string;
  readonly to: string;
  /** The frame's type; undefined when byte 0 is not a known version/type. */
  readonly type: FrameTypeName | undefined;
}

/** Options of {@link createAdversary}. */
export interface AdversaryOptions {
  /** PRNG seed (default 1): the same seed and traffic give the same attack. */
  readonly seed?: number;
  /** Delivers frames on another route (reflect, redirect, release). */
  readonly injector?: Injector;
}

/**
 * [SPEC 12] A hostile intermediary: an {@link Interceptor} that applies its rules to every frame it sees, usable as
 * the memory hub's `tap`, `startBroker({ adversary })` or a bridge `tap`, and that records what it did.
 */
export interface Adversary extends Interceptor {
  /** Every action taken, in order. */
  readonly log: readonly AdversaryLogEntry[];
  /** How many frames the rule named `name` acted on (all rules when omitted). */
  hits(name?: string): number;
  /** Frames currently withheld (delay, reorder, pending replays). */
  held(): number;
  /** Delivers every withheld frame now (or those of one route); returns how many. */
  release(route?: Partial<Route>): number;
  /** Delivers `frame` on its route now (injector, wrapped transport, or with the route's next frame). */
  inject(frame: InjectedFrame): void;
  /** Sets the injector (e.g. once the broker is running). */
  attach(injector: Injector): void;
  /** Wraps a transport so the adversary can deliver frames to it directly (the hub has no injection of its own). */
  wrapTransport(transport: Transport): Transport;
  /** Rules can be added while traffic flows. */
  add(rule: AdversaryRule): void;
  /** Removes every rule (the adversary becomes an honest intermediary; held frames stay held). */
  clear(): void;
}

interface Held {
  readonly route: Route;
  readonly bytes: Uint8Array;
  /** Frames on `route` still to pass before release; undefined = on demand only. */
  countdown: number | undefined;
  /** true: delivered after the frame that releases it; false: before. */
  readonly after: boolean;
}

const key = (from: string, to: string): string => `${from}>${to}`;

/**
 * [SPEC 12] Builds an {@link Adversary} from `rules` (more can be added later with `add`). The same seed and the
 * same traffic give the same attack.
 *
 * @example
 * ```ts
 * const hub = createMemoryHub();
 * const adversary = createAdversary([{ match: { type: 'DATA', nth: 2 }, action: { kind: 'replay', after: 1 } }]);
 * hub.tap(adversary);
 * // … run traffic; the replayed record is refused at the receiver with ERR_REPLAY
 * assert.equal(adversary.hits(), 1);
 * ```
 */
export function createAdversary(rules: readonly AdversaryRule[], options: AdversaryOptions = {}): Adversary {
  const prng: Prng = createPrng(options.seed ?? 1);
  const active: AdversaryRule[] = [...rules];
  const counts = new Map<AdversaryRule, number>();
  const log: AdversaryLogEntry[] = [];
  let held: Held[] = [];
  /** Frames to deliver with the next frame on a route, when no direct path exists. */
  const piggyback = new Map<string, Uint8Array[]>();
  const lastSeen = new Map<string, Uint8Array>();
  const direct = new Map<string, FrameHandler>();
  let injector = options.injector;

  function deliverNow(f: InjectedFrame): void {
    if (injector) {
      try {
        void Promise.resolve(injector(f)).catch(() => undefined);
      } catch {
        /* the adversary is best-effort */
      }
      return;
    }
    const h = direct.get(f.to);
    if (h) {
      setImmediate(() => {
        try {
          void Promise.resolve(h({ from: f.from, bytes: f.bytes })).catch(() => undefined);
        } catch {
          /* ignore */
        }
      });
      return;
    }
    const k = key(f.from, f.to);
    const q = piggyback.get(k) ?? [];
    q.push(f.bytes);
    piggyback.set(k, q);
  }

  function selects(sel: FrameSelector | undefined, rule: AdversaryRule, f: InterceptedFrame, type: FrameTypeName | undefined): boolean {
    if (!sel) {
      counts.set(rule, (counts.get(rule) ?? 0) + 1);
      return true;
    }
    if (sel.from !== undefined && sel.from !== f.from) return false;
    if (sel.to !== undefined && sel.to !== f.to) return false;
    if (sel.topic !== undefined && (typeof sel.topic === 'string' ? sel.topic !== f.topic : !sel.topic.test(f.topic))) return false;
    if (sel.type !== undefined) {
      const types: readonly FrameTypeName[] = typeof sel.type === 'string' ? [sel.type] : sel.type;
      if (type === undefined || !types.includes(type)) return false;
    }
    if (sel.where && !sel.where(f)) return false;
    const n = (counts.get(rule) ?? 0) + 1;
    counts.set(rule, n);
    if (sel.nth !== undefined) {
      const nths: readonly number[] = typeof sel.nth === 'number' ? [sel.nth] : sel.nth;
      if (!nths.includes(n)) return false;
    }
    if (sel.probability !== undefined && !(prng.next() < sel.probability)) return false;
    return true;
  }

  function flip(bytes: Uint8Array, a: Extract<AdversaryAction, { kind: 'flip' }>): Uint8Array | undefined {
    const r = locateRegion(bytes, a.region ?? 'whole', a.tagLength === undefined ? {} : { tagLength: a.tagLength });
    if (!r) return undefined;
    const out = bytes.slice();
    const width = (r.end - r.start) * 8;
    const n = a.bit !== undefined ? 1 : (a.bits ?? 1);
    for (let i = 0; i < n; i++) {
      const bit = a.bit !== undefined ? ((a.bit % width) + width) % width : prng.int(width);
      const at = r.start + (bit >>> 3);
      out[at] = (out[at] as number) ^ (0x80 >>> (bit & 7));
    }
    return out;
  }

  /** Applies one action; returns the frames that now stand for this one on its route (before, self, after). */
  function act(rule: AdversaryRule, f: InterceptedFrame, bytes: Uint8Array, type: FrameTypeName | undefined): Uint8Array[] | 'unchanged' {
    const a = rule.action;
    const route = { from: f.from, to: f.to };
    switch (a.kind) {
      case 'observe':
        return 'unchanged';
      case 'flip': {
        const out = flip(bytes, a);
        return out ? [out] : 'unchanged';
      }
      case 'truncate': {
        const keep = a.to !== undefined ? Math.max(0, Math.min(bytes.length, a.to)) : Math.max(0, bytes.length - (a.by ?? 1));
        return [bytes.slice(0, keep)];
      }
      case 'extend':
        return [concat(bytes, a.bytes ?? prng.bytes(a.length ?? 1))];
      case 'drop':
        return [];
      case 'duplicate':
        return Array.from({ length: 1 + (a.copies ?? 1) }, () => bytes.slice());
      case 'delay':
        held.push({ route, bytes: bytes.slice(), countdown: a.after, after: true });
        return [];
      case 'replay': {
        const after = a.after ?? 1;
        held.push({ route, bytes: bytes.slice(), countdown: after === 0 ? undefined : after, after: true });
        return [bytes];
      }
      case 'reorder':
        held.push({ route, bytes: bytes.slice(), countdown: 1, after: true });
        return [];
      case 'reflect':
        deliverNow({ from: f.to, to: f.from, bytes: bytes.slice() });
        return a.keep ? [bytes] : [];
      case 'redirect':
        deliverNow({ from: a.as ?? f.from, to: a.to, bytes: bytes.slice() });
        return a.keep ? [bytes] : [];
      case 'splice': {
        const prev = type ? lastSeen.get(`${key(f.from, f.to)}/${type}`) : undefined;
        if (!prev) return 'unchanged';
        const out = a.keep === 'header' ? spliceFrames(bytes, prev) : spliceFrames(prev, bytes);
        return out ? [out] : 'unchanged';
      }
      case 'inject': {
        const made = a.make(f, { seen: (from, to, t) => lastSeen.get(`${key(from, to)}/${t}`) });
        const list = made instanceof Uint8Array ? [made] : [...made];
        if (a.position === 'replace') return list;
        return a.position === 'after' ? [bytes, ...list] : [...list, bytes];
      }
      case 'rewrite': {
        const out = a.fn(bytes, f);
        return out === undefined ? 'unchanged' : out === null ? [] : [out];
      }
      case 'downgrade':
        try {
          return [downgradeOffer(bytes, a.suites)];
        } catch {
          return 'unchanged';
        }
    }
  }

  const intercept = (f: InterceptedFrame): Uint8Array[] | undefined => {
    const type = frameTypeName(f.bytes);
    const k = key(f.from, f.to);
    // Frames released by this one (their countdown ends here), and frames riding along.
    const before: Uint8Array[] = [...(piggyback.get(k) ?? [])];
    piggyback.delete(k);
    const after: Uint8Array[] = [];
    const keep: Held[] = [];
    for (const h of held) {
      if (key(h.route.from, h.route.to) === k && h.countdown !== undefined) {
        h.countdown--;
        if (h.countdown <= 0) {
          (h.after ? after : before).push(h.bytes);
          continue;
        }
      }
      keep.push(h);
    }
    held = keep;

    let current: Uint8Array[] = [f.bytes];
    let changed = before.length > 0 || after.length > 0;
    for (const rule of active) {
      const next: Uint8Array[] = [];
      for (const b of current) {
        const t = b === f.bytes ? type : frameTypeName(b);
        if (!selects(rule.match, rule, { ...f, bytes: b }, t)) {
          next.push(b);
          continue;
        }
        const r = act(rule, { ...f, bytes: b }, b, t);
        log.push({ rule: rule.name ?? rule.action.kind, action: rule.action.kind, from: f.from, to: f.to, type: t });
        if (r === 'unchanged') next.push(b);
        else {
          changed = true;
          next.push(...r);
        }
      }
      current = next;
    }
    if (type) lastSeen.set(`${k}/${type}`, f.bytes.slice());
    return changed ? [...before, ...current, ...after] : undefined;
  };

  const adversary = Object.assign(intercept, {
    log,
    hits(name?: string): number {
      return name === undefined ? log.length : log.filter((e) => e.rule === name).length;
    },
    held: (): number => held.length,
    release(route?: Partial<Route>): number {
      const out = held.filter(
        (h) => (route?.from === undefined || h.route.from === route.from) && (route?.to === undefined || h.route.to === route.to),
      );
      held = held.filter((h) => !out.includes(h));
      for (const h of out) deliverNow({ ...h.route, bytes: h.bytes });
      return out.length;
    },
    inject: (frame: InjectedFrame): void => deliverNow(frame),
    attach(i: Injector): void {
      injector = i;
    },
    wrapTransport(t: Transport): Transport {
      let local: string | undefined;
      return {
        name: t.name,
        maxFrameSize: t.maxFrameSize,
        async open(id, onFrame) {
          await t.open(id, onFrame);
          local = id;
          direct.set(id, onFrame);
        },
        send: (peerId, bytes) => t.send(peerId, bytes),
        async close() {
          if (local !== undefined) direct.delete(local);
          await t.close();
        },
        ...(t.onStatus ? { onStatus: t.onStatus.bind(t) } : {}),
      };
    },
    add(rule: AdversaryRule): void {
      active.push(rule);
    },
    clear(): void {
      active.length = 0;
    },
  });
  return adversary;
}
