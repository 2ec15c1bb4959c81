/**
 * Groups (`endpoint.group`, `endpoint.join`, `endpoint.leave`): the I/O shell around the sans-I/O group state of
 * src/session/group-*.ts. The publisher hands each epoch's key to every member over the member's pairwise session
 * (GROUP_CTRL records); a group message is sealed once and published once on the group address. [SPEC 13]
 */
import type { Logger } from 'pino';
import { HopsafeError, isHopsafeError, ERROR_CODES, type ErrorCode } from '../errors/index.js';
import { abytes, toHex, wipe } from '../bytes/index.js';
import type { CryptoProvider, PublicKeyHandle } from '../crypto/provider.js';
import type { Suite } from '../crypto/suites.js';
import type { Protection } from '../codec/tokens.js';
import {
  assertGroupName,
  decodeGroupControl,
  encodeGroupControl,
  type GroupControl,
  type GroupKey,
  type SourceAuth,
} from '../codec/group.js';
import type { LocalIdentity, RoleAssignment } from '../pki/types.js';
import { parseCertificate } from '../pki/x509.js';
import { rolesAt } from '../pki/roles.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { intOption } from '../transport/options.js';
import type { Transport } from '../transport/transport.js';
import { computeGroupId } from '../session/group-keys.js';
import { GroupSender } from '../session/group-sender.js';
import { GroupReceiver, type GroupHoldLimits, type GroupOpened } from '../session/group-receiver.js';

/** Options of `endpoint.group(name, options)`. [SPEC 13.1] */
export interface GroupOptions {
  /** Endpoint ids allowed to join. */
  readonly members?: readonly string[];
  /** IEC 62351-8 role names (SPEC 10.4): a peer holding one of them (valid now) may join. */
  readonly roles?: readonly string[];
  /** Default: the endpoint's `protection`. */
  readonly protection?: Protection;
  /** Default 'signature': every frame signed by the publisher's certificate key. 'none': members can forge. [SPEC 13.6] */
  readonly sourceAuth?: SourceAuth;
  /** [SPEC 13.7] 'fresh' (default): a joining member gets a new epoch; 'current': the current one (it reads what is still in flight). */
  readonly newMembers?: 'fresh' | 'current';
  /** [SPEC 13.8] Automatic rotation after this many frames (default 1 000 000) or this long (default 1 h) in one epoch. */
  readonly rotateAfterMessages?: number;
  readonly rotateAfterMs?: number;
  /**
   * [SPEC 13.7] How long `publish` waits, after a new epoch or a join, for the members' acknowledgements of the key
   * before sealing the next frame. Default 0: it does not wait (members hold frames that overtake their key, SPEC 13.6).
   */
  readonly keyWaitMs?: number;
  /**
   * [SPEC 13.3] Publishes accepted and not yet settled (waiting to be sealed, for a key distribution or for the
   * transport) before `publish` refuses with ERR_QUEUE_FULL. Default: the endpoint's `maxQueuedPerPeer` (1000).
   */
  readonly maxQueued?: number;
}

/** What `endpoint.group` returns. */
export interface Group {
  readonly name: string;
  /** The group address: `{publisherId}/{groupId in hex}` (SPEC 13.9). */
  readonly address: string;
  /** Seals `data` once and publishes it once on the group address. */
  publish(data: Uint8Array): Promise<void>;
  /** Allows `id` to join. */
  add(id: string): Promise<void>;
  /** Removes `id`: it is told, and a new epoch goes to the remaining members before the next message. */
  remove(id: string): Promise<void>;
  /** The members holding the current key, sorted. */
  members(): string[];
  /** Tells the members the group ended and wipes its keys. */
  close(): Promise<void>;
}

export interface GroupCounters {
  /** Group frames sealed and published. */
  sent: number;
  /** Group frames verified and delivered. */
  received: number;
  /** Group frames refused (any code). */
  rejected: number;
  /** [SPEC 13.6] Frames of a next epoch held until its key arrived. */
  held: number;
  /** [SPEC 13.6] Frames of a next epoch dropped unverified: the hold was full or its deadline passed first. */
  dropped: number;
}

/** What the group layer needs from its endpoint. */
export interface GroupHost {
  readonly id: string;
  readonly provider: CryptoProvider;
  readonly identity: LocalIdentity;
  readonly suite: Suite;
  readonly protection: Protection;
  readonly transport: Transport;
  readonly clock: () => number;
  readonly graceMs: number;
  /** [SPEC 13.3] Default bound of a group's unsettled publishes (the endpoint's `maxQueuedPerPeer`). */
  readonly maxQueued: number;
  /** [SPEC 13.6] Frames of a next epoch held per group until its key arrives. */
  readonly hold: GroupHoldLimits;
  readonly log: Logger;
  readonly counters: GroupCounters;
  /** Sends a GroupControl over the pairwise session with `peer` (opening it when needed). */
  sendControl(peer: string, bytes: Uint8Array, confirm: boolean): Promise<void>;
  /** Roles of `peer`'s current session, valid now; undefined without a session. */
  peerRoles(peer: string): readonly RoleAssignment[] | undefined;
  deliver(m: { from: string; group: string; data: Uint8Array; roles: readonly RoleAssignment[] }): void;
  reject(e: unknown, from: string | undefined): void;
}

interface Holder {
  roles: readonly RoleAssignment[];
}

/** Waits for `p`, at most `ms`. */
function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    t.unref?.();
    void p.finally(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

function toCode(code: string): ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'ERR_FORBIDDEN';
}

function transportGroups(t: Transport): Required<Pick<Transport, 'subscribeGroup' | 'unsubscribeGroup' | 'publishGroup'>> {
  if (!t.subscribeGroup || !t.unsubscribeGroup || !t.publishGroup)
    throw new HopsafeError('ERR_UNSUPPORTED', `the ${t.name} transport has no group addresses`);
  return t as Required<Pick<Transport, 'subscribeGroup' | 'unsubscribeGroup' | 'publishGroup'>>;
}

/** [SPEC 13.1, 13.7] The publisher's side of one group. */
class PublisherGroup implements Group {
  readonly address: string;
  private readonly sender: GroupSender;
  private readonly allowIds: Set<string>;
  private readonly allowRoles: Set<string>;
  private readonly excluded = new Set<string>();
  private readonly holders = new Map<string, Holder>();
  /** Settles when the current epoch's key distribution settled (bounded by keyWaitMs). */
  private ready: Promise<void> = Promise.resolve();
  /** `ready` has settled (publishes need not wait for it). */
  private settled = true;
  /** Publishes run one after another (sequence numbers are assigned in order). */
  private chain: Promise<void> = Promise.resolve();
  /** Members waiting for a key: handed one together at the end of the turn. */
  private joining = new Set<string>();
  private rotateDue = false;
  private scheduled = false;
  private closed = false;
  /** [SPEC 13.3] Publishes accepted and not settled, bounded by `maxQueued`. */
  private unsettled = 0;
  private readonly maxQueued: number;

  constructor(
    private readonly host: GroupHost,
    readonly name: string,
    private readonly opts: GroupOptions,
    private readonly onClose: () => void,
  ) {
    const groupId = computeGroupId(host.provider, host.id, name);
    this.address = `${host.id}/${toHex(groupId)}`;
    const protection = opts.protection ?? host.protection;
    const sourceAuth = opts.sourceAuth ?? 'signature';
    // [SPEC 10.6, 13.3] Group frames are signed synchronously, one per publish: a key held outside (identity.signer) cannot.
    if (sourceAuth === 'signature' && host.identity.signer)
      throw new HopsafeError('ERR_UNSUPPORTED', "group frames cannot be signed by identity.signer: use sourceAuth 'none' or a privateKey");
    this.sender = new GroupSender({
      ctx: { provider: host.provider, suite: host.suite, protection },
      groupId,
      sourceAuth,
      ...(sourceAuth === 'signature' ? { signingKey: host.identity.privateKey, certificate: host.identity.chain[0] as Uint8Array } : {}),
      now: host.clock(),
      ...(opts.rotateAfterMessages !== undefined ? { rotateAfterMessages: opts.rotateAfterMessages } : {}),
      ...(opts.rotateAfterMs !== undefined ? { rotateAfterMs: opts.rotateAfterMs } : {}),
    });
    this.allowIds = new Set(opts.members ?? []);
    this.allowRoles = new Set(opts.roles ?? []);
    this.maxQueued = opts.maxQueued ?? host.maxQueued;
  }

  members(): string[] {
    return [...this.holders.keys()].sort();
  }

  async add(id: string): Promise<void> {
    this.assertOpen();
    assertEndpointId(id, 'member id');
    this.excluded.delete(id);
    this.allowIds.add(id);
  }

  async remove(id: string): Promise<void> {
    this.assertOpen();
    assertEndpointId(id, 'member id');
    this.allowIds.delete(id);
    this.excluded.add(id);
    await this.drop(id, true);
  }

  publish(data: Uint8Array): Promise<void> {
    try {
      this.assertOpen();
      abytes(data, 'data');
      // [SPEC 13.3] Bounded like a pairwise send: a broker that is down or slow never makes the publisher grow
      // without end. Refused before sealing, so no sequence number is used.
      if (this.unsettled >= this.maxQueued)
        throw new HopsafeError(
          'ERR_QUEUE_FULL',
          `group ${this.name}: ${this.unsettled} publishes not settled (maxQueued ${this.maxQueued})`,
        );
    } catch (e) {
      return Promise.reject(e);
    }
    this.unsettled++;
    // Sealing is serialized (sequence numbers in order, a pending key distribution first); the transport sends are
    // not: they start in sealing order and settle independently (several frames in flight).
    const sealed = this.chain.then(() => this.sealNext(data));
    this.chain = sealed.then(
      () => undefined,
      () => undefined,
    );
    const sent = sealed.then((frame) => transportGroups(this.host.transport).publishGroup(this.address, frame));
    void sent.then(
      () => this.unsettled--,
      () => this.unsettled--,
    );
    return sent;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const leave = encodeGroupControl({ kind: 'removed', name: this.name });
    // Bounded like the endpoint's goodbyes: a broker that is down must not keep close() waiting.
    await bounded(Promise.allSettled([...this.holders.keys()].map((id) => this.host.sendControl(id, leave, false))), 500);
    this.holders.clear();
    this.sender.destroy();
    this.onClose();
  }

  /** [SPEC 13.7] A join request from `peer` (authenticated by its pairwise session). */
  onJoin(peer: string, roles: readonly RoleAssignment[]): void {
    if (this.closed || !this.authorized(peer, roles)) {
      this.host.reject(new HopsafeError('ERR_FORBIDDEN', `${peer} may not join group ${this.name}`), peer);
      void this.host
        .sendControl(peer, encodeGroupControl({ kind: 'refused', name: this.name, code: 'ERR_FORBIDDEN' }), false)
        .catch(() => undefined);
      return;
    }
    const known = this.holders.has(peer);
    this.holders.set(peer, { roles });
    // A fresh epoch unless nothing was sealed in the current one yet (nothing to hide, nothing to replay) or a new
    // member joins a group that shares the current epoch. A member asking again lost its key (it restarted, or its
    // join timed out): it gets a fresh epoch too, so its new replay window never meets a frame it may have delivered
    // before (SPEC 13.7, rejoin).
    if (this.sender.nextSeq === 0 || (!known && this.opts.newMembers === 'current')) this.joining.add(peer);
    else this.rotateDue = true;
    this.schedule();
  }

  /** [SPEC 13.7] A member left, was removed, revoked or lost its session: a new epoch for the rest. */
  async drop(id: string, tell: boolean): Promise<void> {
    if (!this.holders.delete(id)) return;
    this.joining.delete(id);
    if (tell) void this.host.sendControl(id, encodeGroupControl({ kind: 'removed', name: this.name }), false).catch(() => undefined);
    this.rotateDue = true;
    this.schedule();
    await this.flush();
  }

  /** The members' authorization now: role loss (validity ended) removes them before the next message. [SPEC 13.7] */
  private recheck(): void {
    if (this.holders.size === 0) return;
    const now = new Date(this.host.clock());
    // (deleting the entry being visited is safe in a Map's for-of)
    for (const [id, h] of this.holders) {
      // Allowed by id: authorized whatever its roles until `remove` (which drops it), so nothing to look up per
      // publish — this loop was O(members) session-role lookups per message.
      if (this.allowIds.has(id) && !this.excluded.has(id)) continue;
      const roles = this.host.peerRoles(id) ?? rolesAt(h.roles, now);
      if (!this.authorized(id, roles)) {
        this.holders.delete(id);
        this.joining.delete(id);
        this.rotateDue = true;
        void this.host.sendControl(id, encodeGroupControl({ kind: 'removed', name: this.name }), false).catch(() => undefined);
      } else h.roles = roles;
    }
  }

  private authorized(id: string, roles: readonly RoleAssignment[]): boolean {
    if (this.excluded.has(id)) return false;
    return this.allowIds.has(id) || roles.some((r) => this.allowRoles.has(r.role));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  /** Rotates if due and hands the key to who needs it; `ready` settles when they acknowledged (bounded). */
  private flush(): Promise<void> {
    this.scheduled = false;
    if (this.closed) return this.ready;
    const now = this.host.clock();
    let to: string[];
    let key: GroupKey;
    if (this.rotateDue) {
      this.rotateDue = false;
      key = this.sender.rotate(now);
      to = [...this.holders.keys()];
    } else {
      if (this.joining.size === 0) return this.ready;
      key = this.sender.currentKey();
      to = [...this.joining].filter((id) => this.holders.has(id));
    }
    this.joining.clear();
    const bytes = encodeGroupControl({ kind: 'key', name: this.name, key });
    wipe(key.epochSecret);
    const sends = to.map((id) =>
      this.host.sendControl(id, bytes, true).catch((e: unknown) => {
        this.host.log.info({ member: id, group: this.name, code: isHopsafeError(e) ? e.code : undefined }, 'group key not confirmed');
      }),
    );
    const all = Promise.all(sends).then(() => wipe(bytes));
    // [SPEC 13.7] By default the next frame is sealed at once: the GroupKey records were sealed into the members'
    // pairwise sessions first, and a member holds frames that overtake them (SPEC 13.6). keyWaitMs > 0 waits for
    // the acknowledgements (bounded).
    const wait = this.opts.keyWaitMs ?? 0;
    if (wait === 0) return this.ready;
    this.settled = false;
    const ready = bounded(Promise.all([this.ready, all]), wait);
    this.ready = ready;
    void ready.then(() => {
      if (this.ready === ready) this.settled = true;
    });
    return ready;
  }

  /** [SPEC 13.7] The next frame, sealed once every change of membership since the last one is distributed. */
  private async sealNext(data: Uint8Array): Promise<Uint8Array> {
    this.assertOpen();
    this.recheck();
    if (this.sender.needsRotation(this.host.clock())) this.rotateDue = true;
    if (this.rotateDue || this.joining.size > 0) await this.flush();
    else if (!this.settled) await this.ready;
    this.assertOpen();
    const frame = this.sender.seal(data);
    this.host.counters.sent++;
    return frame;
  }

  private assertOpen(): void {
    if (this.closed) throw new HopsafeError('ERR_CLOSED', `group ${this.name} closed`);
  }
}

/** [SPEC 13.6] A member's side of one group. */
interface Membership {
  readonly publisher: string;
  readonly name: string;
  readonly address: string;
  readonly groupId: Uint8Array;
  receiver: GroupReceiver | undefined;
  roles: readonly RoleAssignment[];
  waiters: { resolve: () => void; reject: (e: unknown) => void }[];
  timer: NodeJS.Timeout | undefined;
  /** [SPEC 13.6] Drops held frames at their deadline (memory is released without further traffic). */
  holdTimer: NodeJS.Timeout | undefined;
  subscribed: boolean;
}

export class GroupManager {
  private readonly published = new Map<string, PublisherGroup>();
  /** Memberships by `${publisher}\n${name}` and by address. */
  private readonly joined = new Map<string, Membership>();
  private readonly byAddress = new Map<string, Membership>();

  constructor(private readonly host: GroupHost) {}

  /** [SPEC 13.1] */
  async group(name: string, options: GroupOptions = {}): Promise<Group> {
    assertGroupName(name);
    transportGroups(this.host.transport);
    if (this.published.has(name)) throw new HopsafeError('ERR_CONFIG', `group ${name} exists`);
    for (const id of options.members ?? []) assertEndpointId(id, 'member id');
    if (options.sourceAuth !== undefined && options.sourceAuth !== 'signature' && options.sourceAuth !== 'none')
      throw new HopsafeError('ERR_CONFIG', 'sourceAuth: signature | none');
    if (options.protection !== undefined && options.protection !== 'integrity' && options.protection !== 'confidentiality')
      throw new HopsafeError('ERR_CONFIG', 'protection: integrity | confidentiality');
    if (options.maxQueued !== undefined) intOption(options.maxQueued, 'maxQueued');
    if (options.keyWaitMs !== undefined) intOption(options.keyWaitMs, 'keyWaitMs', 0);
    const g = new PublisherGroup(this.host, name, options, () => this.published.delete(name));
    this.published.set(name, g);
    try {
      // [SPEC 13.9] The transport sets the address up before a member subscribes (XMPP: the PEP node).
      await this.host.transport.openGroup?.(g.address);
    } catch (e) {
      if (this.published.get(name) === g) this.published.delete(name);
      throw e;
    }
    return g;
  }

  /** [SPEC 13.7] Resolves once the key is held and the group address subscribed. */
  join(publisher: string, name: string, timeoutMs = 10_000): Promise<void> {
    assertEndpointId(publisher, 'publisher id');
    assertGroupName(name);
    const t = transportGroups(this.host.transport);
    void t;
    const k = `${publisher}\n${name}`;
    let m = this.joined.get(k);
    if (m?.receiver && m.subscribed) return Promise.resolve();
    if (!m) {
      const groupId = computeGroupId(this.host.provider, publisher, name);
      m = {
        publisher,
        name,
        address: `${publisher}/${toHex(groupId)}`,
        groupId,
        receiver: undefined,
        roles: [],
        waiters: [],
        timer: undefined,
        holdTimer: undefined,
        subscribed: false,
      };
      this.joined.set(k, m);
      this.byAddress.set(m.address, m);
    }
    const mm = m;
    return new Promise<void>((resolve, reject) => {
      mm.waiters.push({ resolve, reject });
      if (mm.waiters.length > 1) return;
      mm.timer = setTimeout(() => this.fail(mm, new HopsafeError('ERR_TIMEOUT', `no key for group ${name} from ${publisher}`)), timeoutMs);
      this.host.sendControl(publisher, encodeGroupControl({ kind: 'join', name }), false).catch((e: unknown) => this.fail(mm, e));
    });
  }

  /** [SPEC 13.7] Tells the publisher and drops the keys; resolves when the request was handed over. */
  async leave(publisher: string, name: string): Promise<void> {
    assertEndpointId(publisher, 'publisher id');
    assertGroupName(name);
    const m = this.joined.get(`${publisher}\n${name}`);
    if (!m) return;
    this.forget(m, new HopsafeError('ERR_CLOSED', `left group ${name}`));
    await this.host.sendControl(publisher, encodeGroupControl({ kind: 'leave', name }), false).catch(() => undefined);
  }

  /** [SPEC 13.4] A GroupControl from `peer`'s pairwise session (authenticated; `fingerprint` is its certificate's). */
  onControl(peer: string, bytes: Uint8Array, fingerprint: string, roles: readonly RoleAssignment[]): void {
    let c: GroupControl;
    try {
      c = decodeGroupControl(bytes);
    } catch (e) {
      this.host.reject(e, peer);
      return;
    }
    switch (c.kind) {
      case 'join': {
        const g = this.published.get(c.name);
        if (g) g.onJoin(peer, roles);
        else {
          this.host.reject(new HopsafeError('ERR_FORBIDDEN', `${peer} asked to join unknown group ${c.name}`), peer);
          void this.host
            .sendControl(peer, encodeGroupControl({ kind: 'refused', name: c.name, code: 'ERR_FORBIDDEN' }), false)
            .catch(() => undefined);
        }
        return;
      }
      case 'leave':
        // A member leaves our group.
        void this.published.get(c.name)?.drop(peer, false);
        return;
      case 'removed': {
        // The publisher removed us (or closed the group).
        const m = this.joined.get(`${peer}\n${c.name}`);
        if (m) this.forget(m, new HopsafeError('ERR_FORBIDDEN', `removed from group ${c.name}`));
        return;
      }
      case 'refused': {
        const m = this.joined.get(`${peer}\n${c.name}`);
        if (m) this.forget(m, new HopsafeError(toCode(c.code), `${peer} refused joining group ${c.name}`));
        return;
      }
      case 'key':
        this.onKey(peer, c.name, c.key, fingerprint, roles);
        return;
    }
  }

  /** [SPEC 10.5, 13.7] The pairwise session with `peer` ended. */
  onSessionClosed(peer: string, reason: ErrorCode): void {
    if (reason !== 'ERR_CERT_REVOKED' && reason !== 'ERR_CLOSED') return;
    for (const g of this.published.values()) void g.drop(peer, false);
    // A revoked publisher's frames are no longer accepted.
    if (reason === 'ERR_CERT_REVOKED')
      for (const m of [...this.joined.values()])
        if (m.publisher === peer) this.forget(m, new HopsafeError('ERR_CERT_REVOKED', `publisher ${peer} revoked`));
  }

  /** [SPEC 13.6] A frame from the group address `address`. */
  onGroupFrame(address: string, bytes: Uint8Array): void {
    const m = this.byAddress.get(address);
    const r = m?.receiver;
    if (!m || !r) return;
    try {
      // [SPEC 8.9] Bounded before anything is read, whatever the binding let through.
      if (bytes.length > this.host.transport.maxFrameSize) throw new HopsafeError('ERR_TOO_LARGE', 'group frame exceeds maxFrameSize');
      const got = r.receive(bytes, this.host.clock());
      if (got === 'held') this.host.counters.held++;
      else if (got !== 'dropped') this.deliverOpened(m, got);
    } catch (e) {
      this.host.counters.rejected++;
      this.host.reject(e, m.publisher);
    }
    this.afterHold(m);
  }

  private deliverOpened(m: Membership, r: GroupOpened): void {
    this.host.counters.received++;
    const roles = this.host.peerRoles(m.publisher) ?? rolesAt(m.roles, new Date(this.host.clock()));
    this.host.deliver({ from: m.publisher, group: m.name, data: r.payload, roles });
  }

  /** [SPEC 13.6] Counts what the hold dropped and keeps a timer for the next held frame's deadline. */
  private afterHold(m: Membership): void {
    const r = m.receiver;
    if (r) this.host.counters.dropped += r.takeDropped();
    const due = r?.heldDeadline;
    if (due === undefined) {
      clearTimeout(m.holdTimer);
      m.holdTimer = undefined;
      return;
    }
    if (m.holdTimer) return;
    m.holdTimer = setTimeout(
      () => {
        m.holdTimer = undefined;
        m.receiver?.expireHeld(this.host.clock());
        this.afterHold(m);
      },
      Math.max(1, due - this.host.clock()),
    );
    m.holdTimer.unref?.();
  }

  /** Every group closed, every membership dropped (endpoint close). */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.published.values()].map((g) => g.close()));
    for (const m of [...this.joined.values()]) this.forget(m, new HopsafeError('ERR_CLOSED', 'endpoint closed'));
  }

  private onKey(peer: string, name: string, key: GroupKey, fingerprint: string, roles: readonly RoleAssignment[]): void {
    const m = this.joined.get(`${peer}\n${name}`);
    if (!m) {
      // Not asked for: ignored (a member decides what it joins).
      this.host.reject(new HopsafeError('ERR_STATE', `unrequested key for group ${name} from ${peer}`), peer);
      return;
    }
    try {
      if (toHex(key.groupId) !== toHex(m.groupId))
        throw new HopsafeError('ERR_WRONG_PEER', `key for another group than ${name} of ${peer}`);
      let signer: PublicKeyHandle | undefined;
      if (key.sourceAuth === 'signature') {
        const cert = parseCertificate(key.signer as Uint8Array);
        // [SPEC 13.4] The signer is the certificate the pairwise session authenticated.
        if (cert.fingerprint !== fingerprint) throw new HopsafeError('ERR_CERT_NAME', `group ${name}: signer is not ${peer}'s certificate`);
        signer = this.host.provider.importPublicKey(cert.spki);
      }
      const now = this.host.clock();
      if (!m.receiver?.install(key, signer, now)) {
        m.receiver?.destroy();
        if (m.receiver) this.host.counters.dropped += m.receiver.takeDropped();
        m.receiver = new GroupReceiver({
          provider: this.host.provider,
          key,
          ...(signer ? { signerKey: signer } : {}),
          graceMs: this.host.graceMs,
          hold: this.host.hold,
        });
      }
      wipe(key.epochSecret);
      m.roles = roles;
    } catch (e) {
      this.host.reject(e, peer);
      return;
    }
    // [SPEC 13.6] Frames of this epoch that arrived before its key.
    const receiver = m.receiver;
    for (const r of receiver.drainHeld(this.host.clock())) {
      if (r instanceof HopsafeError) {
        this.host.counters.rejected++;
        this.host.reject(r, m.publisher);
      } else this.deliverOpened(m, r);
    }
    this.afterHold(m);
    if (m.subscribed) {
      this.settled(m);
      return;
    }
    const t = transportGroups(this.host.transport);
    m.subscribed = true;
    t.subscribeGroup(m.address, (bytes) => this.onGroupFrame(m.address, bytes)).then(
      () => this.settled(m),
      (e: unknown) => this.fail(m, e),
    );
  }

  private settled(m: Membership): void {
    clearTimeout(m.timer);
    m.timer = undefined;
    const w = m.waiters;
    m.waiters = [];
    for (const x of w) x.resolve();
  }

  private fail(m: Membership, e: unknown): void {
    if (m.waiters.length === 0) return;
    this.forget(m, e);
  }

  private forget(m: Membership, e: unknown): void {
    clearTimeout(m.timer);
    clearTimeout(m.holdTimer);
    m.holdTimer = undefined;
    const k = `${m.publisher}\n${m.name}`;
    if (this.joined.get(k) === m) this.joined.delete(k);
    if (this.byAddress.get(m.address) === m) this.byAddress.delete(m.address);
    m.receiver?.destroy();
    if (m.receiver) this.host.counters.dropped += m.receiver.takeDropped();
    m.receiver = undefined;
    if (m.subscribed) {
      m.subscribed = false;
      void this.host.transport.unsubscribeGroup?.(m.address).catch(() => undefined);
    }
    const w = m.waiters;
    m.waiters = [];
    for (const x of w) x.reject(e);
  }
}
