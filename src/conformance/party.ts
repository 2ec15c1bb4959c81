/**
 * One of the kit's counterpart endpoints: an id with a certificate, driving hopsafe's own sans-I/O handshake and
 * session layer (src/session) over the kit's wire. It records everything the IUT sends it (opened where it has the
 * keys), answers the IUT's key-update requests, and can respond to the IUT's HS_INITs. Attacks are built from the
 * frames it seals (src/adversary) and sent raw. [SPEC 5, 7, Annex C]
 */
import { equal, toHex, utf8, wipe } from '../bytes/index.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { SUITES, suiteById, type Suite } from '../crypto/suites.js';
import { decodeHandshakeAlert, decodeHandshakeResponse, decodeRecordHeader, frameType, FrameType } from '../codec/frame.js';
import { decodeBatch } from '../codec/batch.js';
import { decodeSignedClearToken1, type ClearToken1, type Protection } from '../codec/tokens.js';
import type { AckRange } from '../codec/ack.js';
import type { LocalIdentity, PeerVerifier } from '../pki/types.js';
import { HandshakeReplayCache } from '../session/freshness.js';
import {
  complete,
  initiate,
  respond,
  responseFrame,
  type HandshakeContext,
  type PendingHandshake,
  type Responded,
} from '../session/handshake.js';
import type { Session } from '../session/session.js';
import { isHopsafeError } from '../errors/index.js';
import type { Wire } from './wire.js';
import { encodeControl, type ControlMessage } from './contract.js';
import { initiatorSendKeys, keepEphemerals, sealWithKeys, wipeKept } from './kit-records.js';
import type { TrafficKeys } from '../session/key-schedule.js';

export type Observed =
  | { readonly kind: 'data'; readonly payload: Uint8Array; readonly epoch: number; readonly seq: number; readonly sid: string }
  | { readonly kind: 'ack'; readonly ranges: readonly AckRange[]; readonly sid: string }
  /** [SPEC 13.4] A GROUP_CTRL record of the IUT (its GroupControl DER; never an echo). */
  | { readonly kind: 'group-ctrl'; readonly payload: Uint8Array; readonly seq: number; readonly sid: string }
  | { readonly kind: 'key-update'; readonly newEpoch: number; readonly requestUpdate: boolean; readonly sid: string }
  | { readonly kind: 'alert'; readonly code: string; readonly reference?: number; readonly referenceEpoch?: number; readonly sid: string }
  | { readonly kind: 'hs-alert'; readonly sid: string; readonly code: string }
  | { readonly kind: 'hs-init'; readonly frame: Uint8Array; readonly token: ClearToken1 }
  | { readonly kind: 'hs-resp'; readonly frame: Uint8Array; readonly token: ClearToken1; readonly sid: string }
  | {
      readonly kind: 'established';
      readonly sid: string;
      readonly suite: number;
      readonly protection: Protection;
      readonly role: 'initiator' | 'responder';
    }
  | { readonly kind: 'hs-refused'; readonly sid: string; readonly code: string }
  /** The kit could not finish a handshake the IUT answered (a defect of the kit, reported as such). */
  | { readonly kind: 'kit-error'; readonly sid: string; readonly message: string }
  | { readonly kind: 'unreadable'; readonly code: string; readonly type: string };

export interface PartyOptions {
  readonly suites?: readonly Suite[];
  readonly protection?: Protection;
  /** Respond to the IUT's HS_INITs automatically (initiator cases). Default true. */
  readonly respond?: boolean;
  /** Suites the party accepts as responder (default every suite the kit's provider runs: the IUT's order decides). */
  readonly responderSuites?: readonly Suite[];
  /** Answer the IUT's KEY_UPDATE requests with our own update. Default true. */
  readonly answerKeyUpdates?: boolean;
}

export interface KitEnv {
  readonly wire: Wire;
  readonly provider: CryptoProvider;
  readonly verifier: PeerVerifier;
  readonly iut: string;
  readonly timeoutMs: number;
}

type Waiter = { pred: (o: Observed) => boolean; resolve: (o: Observed | undefined) => void; timer: NodeJS.Timeout };

const DEFAULT_SUITE = SUITES[0] as Suite;

export class KitParty {
  readonly id: string;
  readonly events: Observed[] = [];
  /** Current session (the last one established). */
  session: Session | undefined;
  private readonly sessions: Session[] = [];
  private readonly pendings: PendingHandshake[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly intended = new Map<string, number>();
  /** The kit's epoch-0 send keys of the sessions it initiated, by session id (see `sealType`). */
  private readonly sendKeys = new Map<string, TrafficKeys>();
  private chain: Promise<void> = Promise.resolve();
  private readonly unlisten: () => void;
  ctx: HandshakeContext;
  respondToInits: boolean;
  answerKeyUpdates: boolean;
  /** Replaces the automatic answer to an HS_INIT of the IUT (the case crafts its own). */
  onInit: ((frame: Uint8Array) => Promise<void>) | undefined;
  /** The last responded handshake (initiator cases craft variants of its response). */
  lastResponded: Responded | undefined;
  private readonly responderSuites: readonly Suite[];

  constructor(
    readonly env: KitEnv,
    identity: LocalIdentity,
    o: PartyOptions = {},
  ) {
    this.id = identity.id;
    this.ctx = {
      provider: env.provider,
      identity,
      verifier: env.verifier,
      suites: o.suites ?? [DEFAULT_SUITE],
      protection: o.protection ?? 'confidentiality',
      acceptProtection: ['integrity', 'confidentiality'],
      replayCache: new HandshakeReplayCache(30_000),
    };
    this.respondToInits = o.respond ?? true;
    /** As responder (initiator cases) the kit accepts every suite it can run, so the IUT's preference decides. */
    this.responderSuites =
      o.responderSuites ?? SUITES.filter((x) => env.provider.supportsGroup(x.group) && env.provider.supportsAead(x.aead));
    this.answerKeyUpdates = o.answerKeyUpdates ?? true;
    this.unlisten = env.wire.listen(this.id, (bytes) => {
      this.chain = this.chain.then(() => this.receive(bytes)).catch(() => undefined);
    });
  }

  /** Stops listening. */
  close(): void {
    this.unlisten();
    for (const k of this.sendKeys.values()) wipe(k.ik, k.ek, k.iv);
    this.sendKeys.clear();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(undefined);
    }
    this.waiters.clear();
  }

  // ------------------------------------------------------------------ sending

  /** Sends bytes as they are. */
  sendFrame(frame: Uint8Array): Promise<void> {
    return this.env.wire.send(this.id, frame);
  }

  /** Seals a DATA record without sending it or expecting its echo. */
  seal(payload: Uint8Array, s: Session | undefined = this.session): Uint8Array {
    if (!s) throw new Error(`${this.id}: no session`);
    return s.seal(payload);
  }

  /**
   * A record of any type with a payload the kit chooses (KEY_UPDATE, ACK, ALERT…), sealed under the epoch-0 send
   * keys of session `s`, which this party initiated (kit-records.ts).
   */
  sealType(type: FrameType, payload: Uint8Array, s: Session | undefined = this.session): Uint8Array {
    if (!s) throw new Error(`${this.id}: no session`);
    const keys = this.sendKeys.get(toHex(s.id));
    if (!keys) throw new Error(`${this.id}: records of a chosen type only on sessions the kit initiated`);
    return sealWithKeys(s, keys, type, payload);
  }

  /** Registers one intended echo of `payload` (see `overDelivered`). */
  intend(payload: Uint8Array): void {
    const k = toHex(payload);
    this.intended.set(k, (this.intended.get(k) ?? 0) + 1);
  }

  /** Seals, sends and intends one genuine message. */
  async send(payload: Uint8Array): Promise<Uint8Array> {
    const f = this.seal(payload);
    this.intend(payload);
    await this.sendFrame(f);
    return f;
  }

  control(c: ControlMessage): Promise<Uint8Array> {
    const p = encodeControl(c);
    return this.send(p);
  }

  // ------------------------------------------------------------------ handshakes

  /** Builds an HS_INIT (not sent) with this party's context and the given overrides. */
  initiate(o: { suites?: readonly Suite[]; protection?: Protection; timestamp?: number; earlyData?: Uint8Array } = {}): {
    pending: PendingHandshake;
    frame: Uint8Array;
  } {
    const ctx: HandshakeContext = {
      ...this.ctx,
      ...(o.suites ? { suites: o.suites } : {}),
      ...(o.protection ? { protection: o.protection } : {}),
    };
    return initiate(ctx, this.env.iut, o.timestamp ?? Date.now(), o.earlyData);
  }

  /** Expects an HS_RESP for `pending` (completes it when one comes). */
  expectResponse(pending: PendingHandshake): void {
    this.pendings.push(pending);
  }

  /** Opens a session with the IUT: HS_INIT, wait for the HS_RESP. Resolves with the session or undefined. */
  async connect(
    o: {
      suites?: readonly Suite[];
      protection?: Protection;
      timestamp?: number;
      earlyData?: Uint8Array;
      frame?: (f: Uint8Array) => Uint8Array;
    } = {},
  ): Promise<Session | undefined> {
    const { pending, frame } = this.initiate(o);
    this.expectResponse(pending);
    await this.sendFrame(o.frame ? o.frame(frame) : frame);
    const sid = toHex(pending.sessionId);
    const ev = await this.waitFor((e) => (e.kind === 'established' || e.kind === 'hs-refused' || e.kind === 'kit-error') && e.sid === sid);
    if (ev?.kind === 'kit-error') throw new Error(ev.message);
    return ev?.kind === 'established' ? this.session : undefined;
  }

  // ------------------------------------------------------------------ observing

  /** Resolves with the first event (already seen from index `since`, or still to come) that matches, or undefined after `ms`. */
  waitFor(pred: (o: Observed) => boolean, ms = this.env.timeoutMs, since = 0): Promise<Observed | undefined> {
    for (let i = since; i < this.events.length; i++) {
      const e = this.events[i] as Observed;
      if (pred(e)) return Promise.resolve(e);
    }
    return new Promise((resolve) => {
      const w: Waiter = {
        pred,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          resolve(undefined);
        }, ms),
      };
      this.waiters.add(w);
    });
  }

  /** Waits for an echo of `payload` (the n-th, 1-based). */
  async waitEcho(payload: Uint8Array, ms = this.env.timeoutMs, nth = 1): Promise<boolean> {
    let seen = 0;
    const e = await this.waitFor((o) => o.kind === 'data' && equal(o.payload, payload) && ++seen >= nth, ms);
    return e !== undefined;
  }

  /** Sends a fresh genuine message and waits for its echo. */
  async roundTrip(label = 'alive'): Promise<boolean> {
    if (!this.session) return false;
    const p = utf8(`${label} ${this.id} ${toHex(this.env.provider.randomBytes(6))}`);
    await this.send(p);
    return this.waitEcho(p);
  }

  /** Echoed payloads beyond what was intended (replays, forgeries, tampered records the IUT accepted), as text for a report. */
  overDelivered(): string[] {
    const count = new Map<string, number>();
    const out: string[] = [];
    for (const e of this.events) {
      if (e.kind !== 'data') continue;
      const k = toHex(e.payload);
      const n = (count.get(k) ?? 0) + 1;
      count.set(k, n);
      if (n > (this.intended.get(k) ?? 0))
        out.push(`echo #${n} of ${e.payload.length}-byte payload ${k.slice(0, 24)}… (epoch ${e.epoch}, seq ${e.seq}) was not expected`);
    }
    return out;
  }

  count(kind: Observed['kind'], since = 0): number {
    let n = 0;
    for (let i = since; i < this.events.length; i++) if ((this.events[i] as Observed).kind === kind) n++;
    return n;
  }

  // ------------------------------------------------------------------ receiving

  private record(o: Observed): void {
    this.events.push(o);
    for (const w of this.waiters)
      if (w.pred(o)) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve(o);
      }
  }

  private async receive(bytes: Uint8Array): Promise<void> {
    let type: number;
    try {
      type = frameType(bytes);
    } catch (e) {
      this.record({ kind: 'unreadable', code: isHopsafeError(e) ? e.code : 'ERR_MALFORMED', type: 'unknown' });
      return;
    }
    try {
      switch (type) {
        case FrameType.HS_RESP:
          return await this.onResponse(bytes);
        case FrameType.HS_INIT: {
          const token = decodeSignedClearToken1(bytes.subarray(1)).token;
          this.record({ kind: 'hs-init', frame: bytes, token });
          if (this.onInit) return await this.onInit(bytes);
          if (this.respondToInits) await this.respondTo(bytes);
          return;
        }
        case FrameType.HS_ALERT: {
          const a = decodeHandshakeAlert(bytes);
          this.record({ kind: 'hs-alert', sid: toHex(a.sessionId), code: a.code });
          return;
        }
        case FrameType.BATCH:
          for (const r of decodeBatch(bytes)) this.onRecord(r);
          return;
        default:
          this.onRecord(bytes);
      }
    } catch (e) {
      this.record({ kind: 'unreadable', code: isHopsafeError(e) ? e.code : 'ERR_MALFORMED', type: String(type) });
    }
  }

  /** Answers an HS_INIT of the IUT as responder; the session becomes current. */
  async respondTo(
    frame: Uint8Array,
    o: { before?: (resp: Uint8Array, suite: Suite) => Uint8Array[]; via?: string; record?: (s: Session) => Uint8Array | undefined } = {},
  ): Promise<Responded | undefined> {
    let r: Responded;
    try {
      r = await respond({ ...this.ctx, suites: this.responderSuites }, frame, this.env.iut, Date.now());
    } catch (e) {
      this.record({ kind: 'hs-refused', sid: '', code: isHopsafeError(e) ? e.code : 'ERR_MALFORMED' });
      return undefined;
    }
    this.lastResponded = r;
    this.install(r.session, 'responder');
    const resp = responseFrame(r.token, o.record?.(r.session));
    for (const f of o.before?.(resp, r.session.suite) ?? []) await (o.via ? this.env.wire.send(o.via, f) : this.sendFrame(f));
    await this.sendFrame(resp);
    return r;
  }

  private async onResponse(bytes: Uint8Array): Promise<void> {
    const token = decodeSignedClearToken1(decodeHandshakeResponse(bytes).token).token;
    const sid = toHex(token.sessionId);
    this.record({ kind: 'hs-resp', frame: bytes, token, sid });
    const i = this.pendings.findIndex((p) => toHex(p.sessionId) === sid);
    const pending = this.pendings[i];
    if (!pending) return;
    // complete() wipes a hybrid ephemeral: the kit's record keys (sealType) are derived from a copy (kit-records.ts)
    const kept = keepEphemerals(pending);
    try {
      let c: Awaited<ReturnType<typeof complete>>;
      try {
        c = await complete(this.ctx, pending, bytes, this.env.iut, Date.now());
      } catch (e) {
        this.record({ kind: 'hs-refused', sid, code: isHopsafeError(e) ? e.code : 'ERR_MALFORMED' });
        return;
      }
      this.pendings.splice(i, 1);
      try {
        this.sendKeys.set(sid, initiatorSendKeys(c.session, kept, bytes));
      } catch (e) {
        // the kit's own failure, never the IUT's refusal (connect() makes the case fail with it)
        this.record({ kind: 'kit-error', sid, message: e instanceof Error ? e.message : String(e) });
        return;
      }
      this.install(c.session, 'initiator');
      if (c.record) this.onRecord(c.record);
    } finally {
      wipeKept(kept);
    }
  }

  private install(s: Session, role: 'initiator' | 'responder'): void {
    this.session = s;
    this.sessions.unshift(s);
    this.record({ kind: 'established', sid: toHex(s.id), suite: s.suite.id, protection: s.protection, role });
  }

  private onRecord(bytes: Uint8Array): void {
    let sid: string;
    try {
      sid = toHex(decodeRecordHeader(bytes).sessionId);
    } catch (e) {
      this.record({ kind: 'unreadable', code: isHopsafeError(e) ? e.code : 'ERR_MALFORMED', type: 'record' });
      return;
    }
    const s = this.sessions.find((x) => toHex(x.id) === sid);
    if (!s) {
      this.record({ kind: 'unreadable', code: 'ERR_UNKNOWN_SESSION', type: 'record' });
      return;
    }
    let ds: ReturnType<typeof s.open>;
    try {
      ds = s.open(bytes, Date.now());
    } catch (e) {
      this.record({ kind: 'unreadable', code: isHopsafeError(e) ? e.code : 'ERR_MALFORMED', type: 'record' });
      return;
    }
    for (const d of ds) {
      switch (d.type) {
        case 'data':
          if (d.control) {
            this.record({ kind: 'group-ctrl', payload: new Uint8Array(d.payload), seq: d.seq, sid });
            break;
          }
          this.record({ kind: 'data', payload: new Uint8Array(d.payload), epoch: d.epoch, seq: d.seq, sid });
          break;
        case 'ack':
          this.record({ kind: 'ack', ranges: d.ranges, sid });
          break;
        case 'alert':
          this.record({
            kind: 'alert',
            code: d.code,
            ...(d.reference !== undefined ? { reference: d.reference } : {}),
            ...(d.referenceEpoch !== undefined ? { referenceEpoch: d.referenceEpoch } : {}),
            sid,
          });
          break;
        case 'key-update':
          this.record({ kind: 'key-update', newEpoch: d.epoch, requestUpdate: d.requestUpdate, sid });
          if (d.requestUpdate && this.answerKeyUpdates && s === this.session) void this.sendFrame(s.keyUpdate(Date.now(), false));
          break;
        case 'rejected':
          this.record({ kind: 'unreadable', code: d.error.code, type: 'held record' });
          break;
      }
    }
  }
}

/** The suite with wire id `id` (kit tables name suites by id). */
export function suite(id: number): Suite {
  const s = suiteById(id);
  if (!s) throw new Error(`no suite 0x${id.toString(16)}`);
  return s;
}
