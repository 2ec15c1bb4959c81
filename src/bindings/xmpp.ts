/**
 * XMPP binding on @xmpp/client. [SPEC 8.4]
 *
 * - Endpoint `localId` logs in as `{username}@{domain}` (username defaults to the id) and sends `<presence/>`
 *   once online (servers deliver messages for a bare JID only to available resources; until then Prosody's
 *   mod_offline stores them).
 * - A frame to `peer` is a `<message type="normal">` to the peer's bare JID carrying
 *   `<frame xmlns="urn:hopsafe:frame:1">{base64}</frame>` (xmpp-stanza.ts).
 * - Inbound: only `<message>` stanzas of type normal (or no type) with our element are frames; everything else
 *   (errors/bounces, chat, presence, iq) is ignored. The sender id comes from the `from` bare JID (the server
 *   stamps it); senders from another domain or with a localpart that is no valid id are dropped.
 * - `send` resolves when the stanza is written to the socket (XMPP core has no per-stanza acknowledgement).
 * - Reconnect is @xmpp/reconnect (fixed delay); after each reconnect presence is sent again and frames sent while
 *   down (up to `maxQueue`, then ERR_QUEUE_FULL) are written in order.
 * - With XEP-0198 stream management (Prosody's mod_smacks, on in Debian's default config) a broken stream is
 *   resumed: the server keeps our presence and @xmpp/client re-sends the stanzas the server had not acked. If
 *   the session cannot be resumed, those unacked frames are sent again on the new session (at-least-once; the
 *   session layer discards duplicates).
 * - Group addresses (SPEC 13.9) are PEP nodes (XEP-0163: XEP-0060 pubsub on the publisher's own account,
 *   xmpp-groups.ts): the publisher creates `urn:hopsafe:group:1:{groupId}` when the group is created and publishes one
 *   item per group frame; each member subscribes its bare JID and gets one headline notification per frame. The node
 *   keeps the last `groupNodeItems` items; after a login on a new stream (not a resumption) each subscribed address
 *   asks for them and catches up, bounded in count and bytes, the session layer dropping what it already had.
 *   `openGroup` lists the group in the account's directory node (`urn:hopsafe:groups:1`), which `subscribeGroupsOf`
 *   (a bridge) follows to find the publisher's groups.
 *
 * @module hopsafe/xmpp
 */
import type { Client, ClientOptions, Element } from '@xmpp/client';
import { assertPeerInstalled, importPeer } from '../transport/peer-dependency.js';
import { HopsafeError } from '../errors/index.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { assertQueueRoom, assertSendable } from '../transport/lifecycle.js';
import { isLoopbackService } from './xmpp-stanza.js';
import type { Logger } from 'pino';
import type { FrameHandler, GroupFrameHandler, InboundStats, Transport, TransportStatus } from '../transport/transport.js';
import { randomBytes } from 'node:crypto';
import { assertGroupAddress, assertGroupSendable, splitGroupAddress } from '../transport/group-address.js';
import {
  GROUP_DIRECTORY_CONFIG,
  GROUP_DIRECTORY_ITEMS,
  GROUP_DIRECTORY_NODE,
  GROUP_NODE_DEFAULT_ITEMS,
  directoryGroupIds,
  directoryPublishIq,
  PUBSUB_EVENT_NS,
  GROUP_NODE_MAX_ITEMS,
  PUBSUB_NS,
  groupNodeConfig,
  type NodeConfig,
  catchUpStart,
  configureNodeIq,
  createNodeIq,
  groupNode,
  groupNotification,
  itemsIq,
  itemsResult,
  publishIq,
  subscriptionIq,
  type GroupItem,
} from './xmpp-groups.js';
import { logStatus, StatusEmitter } from '../transport/status.js';
import { InboundGuard, UnsettledBound } from '../transport/inbound.js';
import { intOption } from '../transport/options.js';
import { setNoDelay } from '../transport/no-delay.js';
import {
  FRAME_ELEMENT,
  FRAME_NS,
  XMPP_DEFAULT_MAX_FRAME_SIZE,
  assertXmppId,
  decodeFrameText,
  decodedLengthOfText,
  defaultIdFor,
  defaultJidFor,
  encodeFrameText,
} from './xmpp-stanza.js';

// [issue 17] @xmpp/client is an optional peer dependency (an ES module: loaded at the first open()).
assertPeerInstalled('@xmpp/client', 'hopsafe/xmpp');
let xmppLib: typeof import('@xmpp/client') | undefined;
const loadXmpp = async (): Promise<typeof import('@xmpp/client')> =>
  (xmppLib ??= await importPeer(() => import('@xmpp/client'), '@xmpp/client', 'hopsafe/xmpp'));
/** `xml()` of @xmpp/client; only called once open() loaded it. */
const xml = (...args: Parameters<typeof import('@xmpp/client').xml>): Element => {
  if (xmppLib === undefined) throw new HopsafeError('ERR_STATE', 'xmpp transport: call open() before send()');
  return xmppLib.xml(...args);
};

export { FRAME_NS, XMPP_DEFAULT_MAX_FRAME_SIZE, maxFrameSizeForStanzaLimit } from './xmpp-stanza.js';

/** The socket-level view of an XMPP client that tests may use for fault injection. */
export interface XmppClientHandle {
  /**
   * The client's current socket (null while not connected); `destroy()` breaks the stream as a network failure would.
   */
  readonly socket: {
    /** Destroys the socket (as a network failure would). */
    destroy(error?: Error): void;
  } | null;
  /** XEP-0198 state: `enabled` once the server accepted stream management. */
  readonly streamManagement: { readonly enabled: boolean };
}

/** Node `tls.connect` options for an `xmpps://` (direct TLS) connection. PEM as a string or as bytes. */
export interface XmppTlsOptions {
  /** CA certificate(s) the server's certificate must chain to. Default: Node's built-in CA store. */
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Client certificate (PEM; may include intermediates), for servers that ask for one at the TLS layer. */
  cert?: string | Uint8Array;
  /** The client certificate's private key (PEM). */
  key?: string | Uint8Array;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Name the server's certificate must carry (SNI and verification), when it differs from the service's host. */
  servername?: string;
}

/**
 * Options of `xmppTransport`: the server, the account of each endpoint (`domain`, `password`, optionally
 * `username`), the id ↔ JID mapping and the bounds of SPEC 8.4 and 8.9. `domain` and `password` are required.
 */
export interface XmppTransportOptions {
  /**
   * Server address. Default `xmpp://127.0.0.1:5222`. Hop-by-hop TLS: `xmpps://host:5223` is direct TLS (XEP-0368) and
   * takes `tls` (a private CA, a client certificate, servername); on `xmpp://` the client upgrades with STARTTLS
   * whenever the server offers it, and there `@xmpp/client` 0.14 takes no TLS options: the server certificate is
   * verified against Node's CA store for `domain` — add a private CA with the environment variable
   * `NODE_EXTRA_CA_CERTS=ca.pem` (read when node starts). There is no SASL EXTERNAL: authentication is the account's
   * `password` (SCRAM-SHA-1, or PLAIN as `plainAuth` allows).
   */
  service?: string;
  /**
   * TLS options for an `xmpps://` service (refused with `xmpp://`: STARTTLS in @xmpp/client 0.14 passes none on).
   * Without `ca` the server is verified against Node's CA store; the name checked is the service's host unless
   * `servername` says otherwise (e.g. the XMPP `domain`).
   *   xmppTransport({ service: 'xmpps://xmpp.example:5223', domain: 'xmpp.example', password, tls: { ca: readFileSync('ca.pem') } })
   */
  tls?: XmppTlsOptions;
  /** XMPP domain of the accounts (the JIDs' domainpart), e.g. `localhost`. */
  domain: string;
  /** Account localpart. Default: the id given to `open` (the default id ↔ JID mapping requires them equal). */
  username?: string;
  /** The account's password (SASL SCRAM-SHA-1 or PLAIN, see `plainAuth`). Never logged. */
  password: string;
  /** Resource; default: assigned by the server. */
  resource?: string;
  /**
   * Largest frame in bytes. Default 195,072 (Prosody's default 256 KiB stanza limit minus base64 and envelope).
   * `send` refuses larger frames; inbound stanzas whose base64 text would decode to more are dropped before decoding,
   * never handed to onFrame. [SPEC 8.4, 8.9]
   */
  maxFrameSize?: number;
  /**
   * Inbound frames that may wait for or be in onFrame (frames are handed over one at a time, in order). Past it the
   * transport stops reading its socket until one settles. Default 1000. [SPEC 8.4, 8.9]
   */
  maxUnsettledFrames?: number;
  /** pino logger for dropped frames (ids and sizes, never bytes); none by default. */
  logger?: Logger;
  /** Max frames queued by `send` while offline; beyond it ERR_QUEUE_FULL. Default 1000. */
  maxQueue?: number;
  /** Reconnect delay in ms (@xmpp/reconnect retries at a fixed delay). Default 1000. */
  reconnectDelayMs?: number;
  /** Custom mapping endpoint id → bare JID (default `{id}@{domain}`, lower-case ids only). */
  jidFor?: (id: string) => string;
  /** Custom inverse mapping sender bare JID → endpoint id (undefined = drop). Required with `jidFor`. */
  idFor?: (bareJid: string) => string | undefined;
  /**
   * When SASL PLAIN may be used: 'always', 'loopback' (default: over TLS, or when `service` is a loopback
   * address), 'never' (SCRAM-SHA-1 only). SCRAM costs ~0.5 s per login in @xmpp/client's JavaScript PBKDF2.
   */
  plainAuth?: 'always' | 'loopback' | 'never';
  /** Called with each client created (fault-injection tests). */
  onClient?: (client: XmppClientHandle) => void;
  /**
   * [SPEC 8.4, 13.9] Group catch-up: after a login on a new stream (not an XEP-0198 resumption) each subscribed group
   * address asks its node for the items it keeps and hands over at most 64 (`GROUP_NODE_MAX_ITEMS`) of them whose
   * frames decode to at most this many bytes in all (the newest that fit). Default 1,048,576.
   */
  maxCatchUpBytes?: number;
  /**
   * [SPEC 8.4, 13.9] As a publisher: items each of our group nodes keeps for members that reconnect (its
   * `pubsub#max_items`, persisted by the server), 0–64; 0 keeps none (no catch-up from this publisher's groups).
   * Default 16. Storage cost on the server: Prosody's `internal` storage rewrites a node's whole item file on every
   * publish (SPEC 8.4).
   */
  groupNodeItems?: number;
  /**
   * [SPEC 8.5, 13.9] `subscribeGroupsOf` (a bridge): while the publisher's group directory node does not exist yet (it
   * has opened no group), how often to try again to subscribe to it, in ms. Default 5000. Once subscribed, a new
   * group is carried from its directory notification on, and whatever it published before is caught up from its node.
   */
  groupDirectoryRetryMs?: number;
}

/** [SPEC 8.5, 13.9] One `subscribeGroupsOf` publisher: its handler, the group addresses subscribed, the directory state. */
interface GroupsOf {
  readonly handler: (address: string, bytes: Uint8Array) => void | Promise<void>;
  readonly addresses: Set<string>;
  directory: boolean;
  timer: NodeJS.Timeout | undefined;
}

const SM_NS = 'urn:xmpp:sm:3';

/** Resolves once XEP-0198 negotiation, if the client started it in this turn, ended (enabled or failed; at most 5 s). */
function smSettled(c: Client): Promise<void> {
  return new Promise<void>((resolve) => {
    setImmediate(() => {
      const sm = c.streamManagement;
      if (!sm.enableSent || sm.enabled) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        c.off('nonza', onNonza);
        resolve();
      };
      const onNonza = (el: Element): void => {
        // after the library's own handler of the same element (it sets sm.enabled and resets the counter)
        if (el.is('enabled', SM_NS) || el.is('failed', SM_NS)) setImmediate(done);
      };
      const timer = setTimeout(done, 5000);
      c.on('nonza', onNonza);
    });
  });
}

/** The XMPP error condition of an iq error reply, by the error it was reported as. */
const iqConditions = new WeakMap<HopsafeError, string>();
/** The XEP-0060 condition (`pubsub#errors` child, e.g. precondition-not-met) of an iq error reply, if any. */
const pubsubConditions = new WeakMap<HopsafeError, string>();
const PUBSUB_ERRORS_NS = `${PUBSUB_NS}#errors`;
const isPrecondition = (e: unknown): boolean => e instanceof HopsafeError && pubsubConditions.get(e) === 'precondition-not-met';

interface PendingSend {
  readonly stanza: Element;
  resolve(): void;
  reject(e: unknown): void;
}

const bytesOf = (v: string | Uint8Array): Buffer =>
  typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** `tls.connect` options from `tls` (validated: they need an xmpps:// service; cert and key go together). */
function tlsSocketOptions(service: string, tls: XmppTlsOptions | undefined): Record<string, unknown> | undefined {
  if (tls === undefined) return undefined;
  if (typeof tls !== 'object' || tls === null) throw new HopsafeError('ERR_CONFIG', 'xmpp: tls must be an object');
  if (!service.startsWith('xmpps://'))
    throw new HopsafeError(
      'ERR_CONFIG',
      'xmpp: tls options need an xmpps:// service (direct TLS); STARTTLS on xmpp:// takes none — trust a private CA there with NODE_EXTRA_CA_CERTS',
    );
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new HopsafeError('ERR_CONFIG', 'xmpp: tls.cert and tls.key go together');
  const ca =
    tls.ca === undefined ? undefined : (typeof tls.ca === 'string' || tls.ca instanceof Uint8Array ? [tls.ca] : [...tls.ca]).map(bytesOf);
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(tls.cert !== undefined ? { cert: bytesOf(tls.cert) } : {}),
    ...(tls.key !== undefined ? { key: bytesOf(tls.key) } : {}),
    ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
  };
}

class XmppTransport implements Transport {
  readonly name = 'xmpp';
  /** send: the frame is base64-encoded into the stanza before send returns. */
  readonly copiesFrames = true;
  readonly maxFrameSize: number;
  readonly #o: XmppTransportOptions;
  readonly #maxQueue: number;
  readonly #jidFor: (id: string) => string;
  readonly #idFor: (bareJid: string) => string | undefined;
  readonly #checkId: (id: string, label: string) => string;
  readonly #tls: Record<string, unknown> | undefined;
  #client: Client | undefined;
  #self: string | undefined;
  #onFrame: FrameHandler | undefined;
  readonly #status = new StatusEmitter();
  #online = false;
  #flushing = false;
  #queue: PendingSend[] = [];
  /** Frames the server never acked on a stream that could not be resumed (XEP-0198 'fail'): re-sent first. */
  #retry: Element[] = [];
  #closed = false;
  #chain: Promise<void> = Promise.resolve();
  #presence: Promise<void> | undefined;
  readonly #guard: InboundGuard;
  readonly #bound: UnsettledBound;
  /** The socket whose reading is paused by the inbound bound, if any. */
  #paused: { resume?(): unknown } | undefined;
  /** [SPEC 13.9] Subscribed group addresses and their handlers. */
  readonly #groups = new Map<string, GroupFrameHandler>();
  /** [SPEC 13.9] Our group nodes known to carry the group configuration (created, or checked by a publish). */
  readonly #configured = new Set<string>();
  /** [SPEC 8.4, 13.9] Per subscribed group address: the server's id of the last item handed over (skipped on catch-up). */
  readonly #lastItem = new Map<string, string>();
  /** [SPEC 8.4, 13.9] Addresses catching up: the live notifications' items that arrived meanwhile, handed over after. */
  readonly #catching = new Map<string, GroupItem[]>();
  readonly #maxCatchUpBytes: number;
  /** [SPEC 8.5, 13.9] subscribeGroupsOf: per publisher. */
  readonly #groupsOf = new Map<string, GroupsOf>();
  readonly #directoryRetryMs: number;
  /** [SPEC 8.4, 13.9] The configuration of our group nodes. */
  readonly #nodeConfig: NodeConfig;
  /** Our iq requests waiting for their result, by stanza id. */
  readonly #iqWaiters = new Map<string, { resolve(el: Element): void; reject(e: HopsafeError): void }>();

  constructor(o: XmppTransportOptions) {
    if (typeof o?.domain !== 'string' || o.domain === '') throw new HopsafeError('ERR_CONFIG', 'xmpp: domain is required');
    if (typeof o.password !== 'string') throw new HopsafeError('ERR_CONFIG', 'xmpp: password is required');
    if ((o.jidFor === undefined) !== (o.idFor === undefined))
      throw new HopsafeError('ERR_CONFIG', 'xmpp: jidFor and idFor must be given together');
    this.#tls = tlsSocketOptions(o.service ?? 'xmpp://127.0.0.1:5222', o.tls);
    this.#o = o;
    this.maxFrameSize = intOption(o.maxFrameSize ?? XMPP_DEFAULT_MAX_FRAME_SIZE, 'maxFrameSize');
    this.#maxQueue = intOption(o.maxQueue ?? 1000, 'maxQueue');
    this.#maxCatchUpBytes = intOption(o.maxCatchUpBytes ?? 1_048_576, 'maxCatchUpBytes');
    this.#directoryRetryMs = intOption(o.groupDirectoryRetryMs ?? 5000, 'groupDirectoryRetryMs');
    const items = o.groupNodeItems ?? GROUP_NODE_DEFAULT_ITEMS;
    if (!Number.isInteger(items) || items < 0 || items > GROUP_NODE_MAX_ITEMS)
      throw new HopsafeError('ERR_CONFIG', `xmpp: groupNodeItems must be an integer from 0 to ${GROUP_NODE_MAX_ITEMS}`);
    this.#nodeConfig = groupNodeConfig(items);
    const log = o.logger?.child({ transport: 'xmpp' });
    this.#guard = new InboundGuard(this.maxFrameSize, log);
    this.#status.on((s) => logStatus(log, s, this.#self));
    this.#bound = new UnsettledBound(intOption(o.maxUnsettledFrames ?? 1000, 'maxUnsettledFrames'));
    const domain = o.domain;
    this.#jidFor = o.jidFor ?? ((id) => defaultJidFor(id, domain));
    this.#idFor = o.idFor ?? ((jid) => defaultIdFor(jid, domain));
    this.#checkId = o.jidFor ? assertEndpointId : assertXmppId;
  }

  async open(localId: string, onFrame: FrameHandler): Promise<void> {
    this.#checkId(localId, 'localId');
    if (this.#closed) throw new HopsafeError('ERR_CLOSED', 'xmpp transport is closed');
    if (this.#self !== undefined) throw new HopsafeError('ERR_STATE', 'xmpp transport is already open');
    const username = this.#o.username ?? localId;
    if (this.#o.jidFor === undefined && username.toLowerCase() !== localId)
      throw new HopsafeError(
        'ERR_CONFIG',
        `xmpp: username ${JSON.stringify(username)} must equal the endpoint id ${JSON.stringify(localId)} under the default JID mapping`,
      );
    const { client: xmppClient } = await loadXmpp();
    if (this.#closed) throw new HopsafeError('ERR_CLOSED', 'xmpp transport is closed');
    if (this.#self !== undefined) throw new HopsafeError('ERR_STATE', 'xmpp transport is already open');
    this.#self = localId;
    this.#onFrame = onFrame;
    const service = this.#o.service ?? 'xmpp://127.0.0.1:5222';
    const password = this.#o.password;
    const plainAuth = this.#o.plainAuth ?? 'loopback';
    const options: ClientOptions = {
      service,
      domain: this.#o.domain,
      credentials: async (authenticate, mechanisms, _fast, entity) => {
        const plainOk = plainAuth === 'always' || (plainAuth === 'loopback' && (entity.isSecure() || isLoopbackService(service)));
        const mechanism = plainOk && mechanisms.includes('PLAIN') ? 'PLAIN' : mechanisms.find((m) => m !== 'PLAIN' && m !== 'ANONYMOUS');
        if (mechanism === undefined)
          throw new HopsafeError('ERR_TRANSPORT', `xmpp: no acceptable SASL mechanism in ${mechanisms.join(', ')}`);
        await authenticate({ username, password }, mechanism);
      },
    };
    if (this.#o.resource !== undefined) options.resource = this.#o.resource;
    const c = xmppClient(options);
    const tls = this.#tls;
    if (tls !== undefined) {
      // [SPEC 8.4] Direct TLS: @xmpp/connection hands socketParameters(service) to tls.connect on every (re)connect.
      const base = c.socketParameters.bind(c);
      c.socketParameters = (svc) => {
        const p = base(svc);
        return p === undefined ? undefined : { ...p, ...tls };
      };
    }
    this.#client = c;
    c.reconnect.delay = intOption(this.#o.reconnectDelayMs ?? 1000, 'reconnectDelayMs');
    this.#o.onClient?.(c);
    c.on('error', () => undefined); // surfaced through start() / status; never an unhandled 'error'
    c.on('stanza', (el: Element) => this.#onStanza(el));
    c.on('online', () => {
      // [SPEC 8.4] No Nagle delay: the socket is new on every (re)connect, and STARTTLS replaced it before 'online'.
      setNoDelay((c as unknown as { socket?: unknown }).socket);
      // [SPEC 8.4] Available presence first: only then are messages to our bare JID delivered to us. With XEP-0198 it
      // waits for <enabled/>: @xmpp/client emits 'online' before it sends <enable/>, and a stanza arriving in the same
      // read as <enabled/> (our presence's reflection) is counted after the counter's reset, so our acks would claim
      // one stanza more than the server sent and Prosody ends the session.
      this.#presence = smSettled(c)
        .then(() => c.send(xml('presence')))
        .then(() => {
          if (this.#closed || this.#client !== c) return;
          this.#online = true;
          this.#status.set('connected');
          void this.#flush();
          // [SPEC 8.4, 13.9] A new stream: what was published while we were away is only in the nodes' kept items.
          this.#catchUpAll();
        });
      this.#presence.catch(() => undefined);
    });
    // [SPEC 8.4] XEP-0198: a resumed stream keeps presence and re-sends unacked stanzas itself ('online' is not emitted).
    c.streamManagement.on('resumed', () => {
      if (this.#closed || this.#client !== c) return;
      this.#online = true;
      this.#status.set('connected');
      void this.#flush();
    });
    c.streamManagement.on('fail', (stanza: Element) => {
      if (this.#closed || this.#client !== c) return;
      if (stanza.is('message') && stanza.getChild(FRAME_ELEMENT, FRAME_NS) !== undefined) this.#retry.push(stanza);
      // [SPEC 13.9] our pending requests (group node, subscriptions, group publishes) too: their answer never came
      else if (stanza.is('iq') && stanza.attrs.id !== undefined && this.#iqWaiters.has(stanza.attrs.id)) this.#retry.push(stanza);
    });
    c.on('disconnect', () => {
      this.#online = false;
      if (!this.#closed) this.#status.set('reconnecting');
    });
    try {
      await c.start();
      await this.#presence;
    } catch (e) {
      c.reconnect.stop();
      await c.stop().catch(() => undefined);
      this.#client = undefined;
      this.#self = undefined;
      this.#onFrame = undefined;
      this.#status.set('disconnected');
      throw new HopsafeError('ERR_TRANSPORT', `xmpp: cannot log in as ${username}@${this.#o.domain}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  #onStanza(el: Element): void {
    if (el.is('iq')) {
      this.#onIqResponse(el);
      return;
    }
    if (!el.is('message')) return;
    const type = el.attrs.type ?? 'normal';
    if (type === 'headline') {
      this.#onGroupNotification(el); // [SPEC 13.9]
      return;
    }
    if (type !== 'normal') return; // [SPEC 8.4] error bounces echo our own frame: never treat them as inbound
    const frameEl = el.getChild(FRAME_ELEMENT, FRAME_NS);
    if (frameEl === undefined) return; // [SPEC 8.4] not ours
    const fromJid = el.attrs.from;
    if (fromJid === undefined) return;
    const slash = fromJid.indexOf('/');
    const from = this.#idFor(slash < 0 ? fromJid : fromJid.slice(0, slash)); // [SPEC 8.4] from = bare JID → id
    if (from === undefined) return;
    // [SPEC 8.9] Judge the size by the base64 text, before concatenating or decoding it.
    if (this.#guard.oversize(decodedLengthOfText(frameEl.children), from)) return;
    const bytes = decodeFrameText(frameEl.getText());
    if (bytes === undefined) return;
    const onFrame = this.#onFrame;
    if (onFrame !== undefined) this.#deliver(() => onFrame({ from, bytes }));
  }

  /**
   * [SPEC 8.4, 13.9] A group notification: from the PEP service of the group's publisher (`from` = its bare JID),
   * on a node of a group address subscribed here; each item's frame goes the inbox's way (size first, in order, bounded).
   */
  #onGroupNotification(el: Element): void {
    const fromJid = el.attrs.from;
    if (fromJid === undefined || fromJid.includes('/')) return;
    const publisher = this.#idFor(fromJid);
    if (publisher === undefined) return;
    const n = groupNotification(el);
    if (n === undefined) {
      // [SPEC 8.5, 13.9] a new entry in the directory of a publisher whose groups we carry: subscribe to it
      const of = this.#groupsOf.get(publisher);
      const ids = of ? directoryGroupIds(el.getChild('event', PUBSUB_EVENT_NS)?.getChild('items'), GROUP_DIRECTORY_ITEMS) : [];
      if (of !== undefined) for (const g of ids) void this.#addGroupOf(publisher, of, g, true);
      return;
    }
    const address = `${publisher}/${n.groupId}`;
    if (this.#groupHandler(address) === undefined) return;
    const waiting = this.#catching.get(address);
    if (waiting !== undefined) {
      // [SPEC 8.4, 13.9] Catching up: these go after the kept items (bounded; past it, everything now, in arrival order).
      if (waiting.length + n.items.length <= GROUP_NODE_MAX_ITEMS) {
        waiting.push(...n.items);
        return;
      }
      this.#catching.delete(address);
      this.#deliverItems(address, waiting.splice(0));
    }
    this.#deliverItems(address, n.items);
  }

  /** [SPEC 13.9] The handler of a subscribed group address, undefined when it is not subscribed here. */
  #groupHandler(address: string): GroupFrameHandler | undefined {
    const h = this.#groups.get(address);
    if (h !== undefined) return h;
    const of = this.#groupsOf.get(splitGroupAddress(address).publisher);
    return of?.addresses.has(address) ? (bytes) => of.handler(address, bytes) : undefined;
  }

  /** [SPEC 8.4, 8.9, 13.9] Group items' frames, the inbox's way: size first, in order, sharing the chain and the bound. */
  #deliverItems(address: string, items: readonly GroupItem[]): void {
    for (const { id, frame } of items) {
      if (id !== undefined) this.#lastItem.set(address, id);
      if (this.#guard.oversize(decodedLengthOfText(frame.children), undefined)) continue;
      const bytes = decodeFrameText(frame.getText());
      if (bytes === undefined) continue;
      this.#deliver(() => this.#groupHandler(address)?.(bytes));
    }
  }

  /** [SPEC 8.4, 13.9] After a login on a new stream: every subscribed group address catches up. */
  #catchUpAll(): void {
    for (const address of this.#groups.keys()) void this.#catchUp(address);
    for (const [publisher, of] of this.#groupsOf) {
      for (const address of of.addresses) if (!this.#groups.has(address)) void this.#catchUp(address);
      void this.#refreshGroupsOf(publisher, of); // groups opened while we were away
    }
  }

  /**
   * [SPEC 8.4, 13.9] Asks the publisher's node for the items it keeps (the newest GROUP_NODE_MAX_ITEMS) and hands over
   * those after the last one handed over here, within the count and byte bounds, then the live notifications that
   * arrived meanwhile (less those already among the items). The server is not trusted: what it returns are frames
   * like any other (size-checked, then judged by the session layer: the replay window drops what was delivered
   * already, epochs no longer held are refused) and leave no state here but the last item id.
   */
  async #catchUp(address: string, before?: () => Promise<void>): Promise<void> {
    const { publisher, groupId } = splitGroupAddress(address);
    const node = groupNode(groupId);
    const waiting: GroupItem[] = [];
    this.#catching.set(address, waiting);
    let items: GroupItem[] = [];
    if (before !== undefined) {
      try {
        await before();
      } catch (e) {
        if (this.#catching.get(address) === waiting) this.#catching.delete(address);
        throw e;
      }
    }
    try {
      const res = await this.#iq((id) => itemsIq(xml, id, this.#jidFor(publisher), node, GROUP_NODE_MAX_ITEMS));
      items = itemsResult(res, node);
    } catch {
      // No such node, a node keeping no items (created by an older version, until its publisher reconfigures it), no
      // answer, or closed: nothing to catch up.
    } finally {
      if (this.#catching.get(address) === waiting) this.#catching.delete(address);
    }
    if (this.#closed || this.#groupHandler(address) === undefined) return;
    const start = catchUpStart(
      items.map((i) => i.id),
      items.map((i) => decodedLengthOfText(i.frame.children)),
      this.#lastItem.get(address),
      GROUP_NODE_MAX_ITEMS,
      this.#maxCatchUpBytes,
    );
    const taken = items.slice(start);
    const ids = new Set(taken.map((i) => i.id));
    this.#deliverItems(address, [...taken, ...waiting.filter((i) => i.id === undefined || !ids.has(i.id))]);
  }

  /** Hands one frame to `call` in arrival order (inbox and group frames share the chain and the bound). [SPEC 8.9] */
  #deliver(call: () => void | Promise<void>): void {
    const step = this.#chain.then(async () => {
      try {
        if (!this.#closed) await call();
      } catch {
        /* the session rejected it; XMPP has nothing to ack */
      }
    });
    this.#chain = step;
    // [SPEC 8.4, 8.9] At most maxUnsettledFrames frames wait for onFrame: past that the socket is not read until one
    // settles (stanzas already read in the same chunk are still queued, so the queue exceeds the bound by at most one read).
    if (!this.#bound.admit(step, () => this.#resumeReading())) this.#pauseReading();
  }

  #pauseReading(): void {
    if (this.#paused !== undefined) return;
    const socket = this.#client?.socket;
    if (socket === null || socket === undefined || typeof socket.pause !== 'function') return;
    socket.pause();
    this.#paused = socket;
  }

  #resumeReading(): void {
    const socket = this.#paused;
    this.#paused = undefined;
    if (socket !== undefined && typeof socket.resume === 'function') socket.resume();
  }

  #onIqResponse(el: Element): void {
    const type = el.attrs.type;
    const id = el.attrs.id;
    if ((type !== 'result' && type !== 'error') || id === undefined) return;
    const w = this.#iqWaiters.get(id);
    if (w === undefined) return;
    this.#iqWaiters.delete(id);
    if (type === 'result') {
      w.resolve(el);
      return;
    }
    const error = el.getChild('error');
    const condition = error?.children.find((c): c is Element => typeof c !== 'string')?.name ?? 'unknown';
    const pubsubCondition = error?.children.find((c): c is Element => typeof c !== 'string' && c.attrs.xmlns === PUBSUB_ERRORS_NS)?.name;
    const e = new HopsafeError(
      condition === 'forbidden' ? 'ERR_FORBIDDEN' : 'ERR_TRANSPORT',
      `xmpp: the server refused the request (${condition}${pubsubCondition !== undefined ? `, ${pubsubCondition}` : ''})`,
    );
    iqConditions.set(e, condition);
    if (pubsubCondition !== undefined) pubsubConditions.set(e, pubsubCondition);
    w.reject(e);
  }

  /**
   * Sends an iq request through the send queue (in order with frames; bounded by maxQueue while offline) and resolves
   * with its result, ERR_FORBIDDEN / ERR_TRANSPORT on an error reply, ERR_TIMEOUT 10 s after it was written.
   */
  #iq(build: (id: string) => Element): Promise<Element> {
    const id = `hs-${randomBytes(9).toString('base64url')}`;
    return new Promise<Element>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.#iqWaiters.delete(id);
      };
      this.#iqWaiters.set(id, {
        resolve: (el) => {
          done();
          resolve(el);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      const written = (): void => {
        if (!this.#iqWaiters.has(id)) return;
        timer = setTimeout(
          () => this.#iqWaiters.get(id)?.reject(new HopsafeError('ERR_TIMEOUT', 'xmpp: no answer to the request within 10 s')),
          10_000,
        );
        timer.unref?.();
      };
      if (!this.#online) {
        try {
          assertQueueRoom('xmpp', this.#queue.length, this.#maxQueue);
        } catch (e) {
          done();
          return reject(e);
        }
      }
      this.#queue.push({
        stanza: build(id),
        resolve: written,
        reject: (e) => this.#iqWaiters.get(id)?.reject(e instanceof HopsafeError ? e : new HopsafeError('ERR_TRANSPORT', String(e))),
      });
      void this.#flush();
    });
  }

  #groupReady(): string {
    if (this.#closed) throw new HopsafeError('ERR_CLOSED', 'xmpp transport is closed');
    const self = this.#self;
    if (self === undefined || this.#client === undefined) throw new HopsafeError('ERR_STATE', 'xmpp transport: call open() first');
    return self;
  }

  /** [SPEC 13.9] Our own group address only: PEP nodes are published by their account alone. */
  #ownNode(self: string, address: string): string {
    const { publisher, groupId } = splitGroupAddress(address);
    if (publisher !== self)
      throw new HopsafeError('ERR_INPUT', `xmpp: ${self} can publish only its own group addresses (PEP), not ${publisher}'s`);
    return groupNode(groupId);
  }

  /**
   * [SPEC 13.9] Creates the group's PEP node (configured) before members subscribe; an existing node (created earlier
   * by this account, perhaps with another configuration) is set to the group configuration. ERR_TRANSPORT when the
   * server refuses either.
   */
  async openGroup(address: string): Promise<void> {
    const self = this.#groupReady();
    const node = this.#ownNode(self, assertGroupAddress(address));
    try {
      await this.#iq((id) => createNodeIq(xml, id, node, this.#nodeConfig));
    } catch (e) {
      if (!(e instanceof HopsafeError && iqConditions.get(e) === 'conflict')) throw e;
      await this.#iq((id) => configureNodeIq(xml, id, node, this.#nodeConfig));
    }
    this.#configured.add(node);
    // [SPEC 8.5, 13.9] listed in our group directory, for bridges carrying our groups (configured so, once, if needed)
    const groupId = splitGroupAddress(address).groupId;
    await this.#iq((id) => directoryPublishIq(xml, id, groupId)).catch(async (e: unknown) => {
      if (!isPrecondition(e)) throw e;
      await this.#iq((id) => configureNodeIq(xml, id, GROUP_DIRECTORY_NODE, GROUP_DIRECTORY_CONFIG));
      await this.#iq((id) => directoryPublishIq(xml, id, groupId));
    });
  }

  /** [SPEC 13.9] One item on our group node; resolves on the server's result (ERR_FORBIDDEN / ERR_TRANSPORT if refused). */
  publishGroup(address: string, bytes: Uint8Array): Promise<void> {
    let node: string;
    let text: string;
    try {
      const self = assertGroupSendable(
        { name: 'xmpp', closed: this.#closed, localId: this.#self, maxFrameSize: this.maxFrameSize },
        address,
        bytes,
      );
      node = this.#ownNode(self, address);
      text = encodeFrameText(bytes);
    } catch (e) {
      return Promise.reject(e);
    }
    // A node this transport did not create or check yet: the configuration goes along as publish-options (it creates
    // the node so configured, or the publish fails when an existing node is configured otherwise).
    // A node of ours configured otherwise (created by an older version: no items kept) is set to the group
    // configuration once and the publish tried again, still with its preconditions.
    const withOptions = !this.#configured.has(node);
    const publish = (): Promise<Element> => this.#iq((id) => publishIq(xml, id, node, text, withOptions ? this.#nodeConfig : undefined));
    return publish()
      .catch(async (e: unknown) => {
        if (!withOptions || !isPrecondition(e)) throw e;
        await this.#iq((id) => configureNodeIq(xml, id, node, this.#nodeConfig));
        return publish();
      })
      .then(() => {
        this.#configured.add(node);
      });
  }

  /** [SPEC 13.9] Subscribes our bare JID to the group node on the publisher's PEP service (kept by the server across logins). */
  async subscribeGroup(address: string, onFrame: GroupFrameHandler): Promise<void> {
    const self = this.#groupReady();
    const { publisher, groupId } = splitGroupAddress(assertGroupAddress(address));
    if (typeof onFrame !== 'function') throw new HopsafeError('ERR_INPUT', 'onFrame must be a function');
    this.#groups.set(address, onFrame);
    try {
      await this.#iq((id) => subscriptionIq(xml, id, 'subscribe', this.#jidFor(publisher), groupNode(groupId), this.#jidFor(self)));
    } catch (e) {
      if (this.#groups.get(address) === onFrame) this.#groups.delete(address);
      throw e;
    }
  }

  async unsubscribeGroup(address: string): Promise<void> {
    this.#lastItem.delete(address);
    this.#catching.delete(address);
    if (!this.#groups.delete(address) || this.#closed || this.#self === undefined) return;
    const self = this.#self;
    const { publisher, groupId } = splitGroupAddress(address);
    await this.#iq((id) => subscriptionIq(xml, id, 'unsubscribe', this.#jidFor(publisher), groupNode(groupId), this.#jidFor(self))).catch(
      () => undefined,
    );
  }

  /**
   * [SPEC 8.5, 13.9] Every group address of `publisher` (a bridge): subscribes to its group directory node
   * (`urn:hopsafe:groups:1`, trying again every `groupDirectoryRetryMs` while it does not exist), then to every group
   * node listed there and to each one announced later (catching up what such a new node already keeps). Frames come
   * only from `publisher`'s PEP service, so from no account but the publisher's. Resolves after the first attempt:
   * a publisher without groups (or a server without PEP) is no error.
   */
  async subscribeGroupsOf(publisher: string, onFrame: (address: string, bytes: Uint8Array) => void | Promise<void>): Promise<void> {
    this.#groupReady();
    assertEndpointId(publisher, 'publisher');
    if (typeof onFrame !== 'function') throw new HopsafeError('ERR_INPUT', 'onFrame must be a function');
    if (this.#groupsOf.has(publisher)) throw new HopsafeError('ERR_STATE', `xmpp: the groups of ${publisher} are subscribed already`);
    const of: GroupsOf = { handler: onFrame, addresses: new Set(), directory: false, timer: undefined };
    this.#groupsOf.set(publisher, of);
    await this.#refreshGroupsOf(publisher, of, false);
  }

  /** [SPEC 8.5, 13.9] Subscribes to the publisher's directory if not yet, then to every group node it lists. */
  async #refreshGroupsOf(publisher: string, of: GroupsOf, catchUpNew = true): Promise<void> {
    if (this.#closed || this.#groupsOf.get(publisher) !== of || this.#self === undefined) return;
    const service = this.#jidFor(publisher);
    const self = this.#jidFor(this.#self);
    try {
      if (!of.directory) {
        await this.#iq((id) => subscriptionIq(xml, id, 'subscribe', service, GROUP_DIRECTORY_NODE, self));
        of.directory = true;
        clearTimeout(of.timer);
        of.timer = undefined;
      }
      const res = await this.#iq((id) => itemsIq(xml, id, service, GROUP_DIRECTORY_NODE, GROUP_DIRECTORY_ITEMS));
      const ids = directoryGroupIds(res.getChild('pubsub', PUBSUB_NS)?.getChild('items'), GROUP_DIRECTORY_ITEMS);
      await Promise.all(ids.map((g) => this.#addGroupOf(publisher, of, g, catchUpNew)));
    } catch {
      // no directory yet (item-not-found), no PEP, no answer: try again later
      if (!of.directory && of.timer === undefined && !this.#closed) {
        of.timer = setTimeout(() => {
          of.timer = undefined;
          void this.#refreshGroupsOf(publisher, of);
        }, this.#directoryRetryMs);
        of.timer.unref?.();
      }
    }
  }

  /** [SPEC 8.5, 13.9] Subscribes to one group node of a `subscribeGroupsOf` publisher (at most GROUP_DIRECTORY_ITEMS). */
  async #addGroupOf(publisher: string, of: GroupsOf, groupId: string, catchUp: boolean): Promise<void> {
    const address = `${publisher}/${groupId}`;
    if (of.addresses.has(address) || of.addresses.size >= GROUP_DIRECTORY_ITEMS || this.#self === undefined) return;
    of.addresses.add(address);
    const subscribe = async (): Promise<void> => {
      await this.#iq((id) =>
        subscriptionIq(xml, id, 'subscribe', this.#jidFor(publisher), groupNode(groupId), this.#jidFor(this.#self ?? '')),
      );
    };
    try {
      // a new group: what its node kept before we subscribed goes first (the notifications meanwhile wait)
      if (catchUp) await this.#catchUp(address, subscribe);
      else await subscribe();
    } catch {
      of.addresses.delete(address); // listed but not there (or refused): the next refresh tries again
    }
  }

  /** [SPEC 8.9] Inbound frames dropped before onFrame. */
  inboundStats(): InboundStats {
    return { ...this.#guard.stats(), queued: this.#bound.pending };
  }

  send(peerId: string, bytes: Uint8Array): Promise<void> {
    let stanza: Element;
    try {
      assertSendable(
        { name: 'xmpp', closed: this.#closed, localId: this.#self, maxFrameSize: this.maxFrameSize },
        peerId,
        bytes,
        this.#checkId,
      );
      stanza = xml(
        'message',
        { to: this.#jidFor(peerId), type: 'normal' },
        xml(FRAME_ELEMENT, { xmlns: FRAME_NS }, encodeFrameText(bytes)),
      );
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<void>((resolve, reject) => {
      // [SPEC 8.4] The bound applies while offline (as for AMQP/MQTT); online, the queue drains at socket speed.
      if (!this.#online) {
        try {
          assertQueueRoom('xmpp', this.#queue.length, this.#maxQueue);
        } catch (e) {
          return reject(e);
        }
      }
      this.#queue.push({ stanza, resolve, reject });
      void this.#flush();
    });
  }

  /**
   * Writes queued stanzas in order while online; on a write error keeps them for after the reconnect — unless
   * XEP-0198 is on: then the stanza already sits in the stream-management queue, which re-sends it on resume
   * or hands it back through 'fail' (so keeping it too would duplicate it).
   */
  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      for (;;) {
        const c = this.#client;
        if (!this.#online || this.#closed || c === undefined) break;
        const retry = this.#retry[0];
        const p = retry === undefined ? this.#queue[0] : undefined;
        const stanza = retry ?? p?.stanza;
        if (stanza === undefined) break;
        let written = true;
        try {
          await c.send(stanza);
        } catch {
          written = false;
        }
        // [SPEC 8.4] A stanza in the XEP-0198 queue is re-sent on resume (or returned through 'fail'): not ours to keep.
        const smOwned = c.streamManagement.outbound_q.some((item) => item.stanza === stanza);
        if (!written && !smOwned) break; // socket gone: 'disconnect' follows, the reconnect flushes again
        if (retry !== undefined) this.#retry.shift();
        else if (p !== undefined) {
          this.#queue.shift();
          p.resolve();
        }
        if (!written) break;
      }
    } finally {
      this.#flushing = false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#online = false;
    for (const p of this.#queue.splice(0)) p.reject(new HopsafeError('ERR_CLOSED', 'xmpp transport closed'));
    for (const w of [...this.#iqWaiters.values()]) w.reject(new HopsafeError('ERR_CLOSED', 'xmpp transport closed'));
    this.#groups.clear();
    this.#lastItem.clear();
    this.#catching.clear();
    for (const of of this.#groupsOf.values()) clearTimeout(of.timer);
    this.#groupsOf.clear();
    const c = this.#client;
    this.#client = undefined;
    if (c !== undefined) {
      c.reconnect.stop();
      c.removeAllListeners('online');
      c.removeAllListeners('stanza');
      if (c.status !== 'offline') await c.stop().catch(() => undefined);
    }
    this.#status.set('closed');
  }

  onStatus(listener: (status: TransportStatus) => void): void {
    this.#status.on(listener);
  }
}

/** Creates an XMPP transport. Nothing connects until `open`. [SPEC 8.4] */
export function xmppTransport(options: XmppTransportOptions): Transport {
  return new XmppTransport(options);
}
