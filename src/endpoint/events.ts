/** Events an endpoint emits. A bad frame is never thrown into the transport: it becomes a `reject`. */
import { EventEmitter } from 'node:events';
import type { ErrorCode } from '../errors/index.js';
import type { RoleAssignment } from '../pki/types.js';

/**
 * An application message from a peer, verified (and decrypted) on its session and allowed by the authorization
 * hook or policy (SPEC 8.7); the `message` event. Each accepted record is delivered once (SPEC 7.4).
 */
export interface MessageEvent {
  /** The authenticated endpoint id of the sender (its certificate names it, SPEC 10.3). */
  readonly from: string;
  /** The payload as the peer passed it to `send`. */
  readonly data: Uint8Array;
  /** Role names of the sender, validated at handshake (IEC 62351-8). */
  readonly roles: readonly string[];
  /** The same roles with their numeric ids and validity (SPEC 10.4). */
  readonly roleAssignments: readonly RoleAssignment[];
  /** [SPEC 13] Set for a group message: the publisher's group name (`from` is the publisher). */
  readonly group?: string;
}

/**
 * A frame or message the endpoint refused, and why; the `reject` event. Refusals never throw into the
 * transport: a forged, replayed, altered or unauthorized frame becomes this event (and a counter in
 * `stats().rejected`). Codes are those of SPEC 9.
 */
export interface RejectEvent {
  readonly code: ErrorCode;
  /** Transport-level sender when known (not authenticated for refused frames). */
  readonly from?: string;
  /** Human-readable detail (may change between versions; act on `code`). */
  readonly message?: string;
}

/** A handshake this endpoint started: its HS_INIT was handed to the transport (re-sends are not reported). */
export interface HandshakeEvent {
  readonly peer: string;
}

/** A session with `peer` was established (or a replacement session took over, SPEC 5.9); the `session` event. */
export interface SessionEvent {
  readonly peer: string;
  /** Name of the negotiated suite (SPEC 4.1), e.g. `X25519_AES128GCM_SHA256`. */
  readonly suite: string;
  /** Negotiated mode: `integrity` (HMAC, payloads readable on the way) or `confidentiality` (AEAD). */
  readonly protection: 'integrity' | 'confidentiality';
  /** Whether this endpoint sent the HS_INIT (`initiator`) or answered it. */
  readonly role: 'initiator' | 'responder';
}

/** [SPEC 7.2] The keys of one direction of the session with `peer` were updated; the `key-update` event. */
export interface KeyUpdateEvent {
  readonly peer: string;
  /** `send`: this endpoint updated its own sending keys; `receive`: it applied the peer's update. */
  readonly direction: 'send' | 'receive';
  /** The new epoch of that direction (1 after the first update). */
  readonly epoch: number;
}

/** The session with `peer` ended; the `session-closed` event. The next `send` to the peer opens a new handshake. */
export interface SessionClosedEvent {
  readonly peer: string;
  /**
   * Why: ERR_CLOSED (either side closed), ERR_CERT_REVOKED (SPEC 10.5), ERR_CERT_EXPIRED or ERR_SESSION_EXPIRED
   * (SPEC 5.10), among others.
   */
  readonly reason: ErrorCode;
}

/**
 * [SPEC 7.6] Messages sent to `peer` that were not acknowledged end to end, and why: the peer lost or replaced the
 * session (ERR_UNKNOWN_SESSION), the session was closed (ERR_CLOSED) or its peer revoked (ERR_CERT_REVOKED), the
 * peer's acknowledgements show it did not accept them (ERR_NOT_CONFIRMED), none came in time (ERR_TIMEOUT), the
 * peer's policy refused them (ERR_FORBIDDEN), or tracking was full (ERR_QUEUE_FULL). "Not confirmed" is not
 * "not delivered": an acknowledgement can be lost too. The `data` are the arrays given to `send`, oldest first.
 */
export interface UnconfirmedEvent {
  readonly peer: string;
  readonly code: ErrorCode;
  readonly messages: readonly Uint8Array[];
}

/** [SPEC 10.5] A peer was accepted with a reservation: a CRL naming an issuer on its path could not be validated. */
export interface TrustWarningEvent {
  readonly code: ErrorCode;
  readonly reason: string;
  /** Leaf fingerprint (hex SHA-256) of the peer's certificate. */
  readonly fingerprint: string;
  readonly detail: string;
}

/**
 * The events of an {@link Endpoint}: each key is an event name, its value the listener's arguments.
 *
 * @example
 * ```ts
 * endpoint.on('reject', (r) => log.warn({ code: r.code, from: r.from }, 'refused'));
 * endpoint.on('unconfirmed', (u) => resend(u.peer, u.messages));
 * ```
 */
export interface EndpointEvents {
  message: [MessageEvent];
  reject: [RejectEvent];
  handshake: [HandshakeEvent];
  session: [SessionEvent];
  'key-update': [KeyUpdateEvent];
  'session-closed': [SessionClosedEvent];
  unconfirmed: [UnconfirmedEvent];
  'trust-warning': [TrustWarningEvent];
}

type Listener<K extends keyof EndpointEvents> = (...args: EndpointEvents[K]) => void;

/**
 * Typed `on`/`once`/`off` for EndpointEvents. Events are emitted by the endpoint only: `emit` is not public (an
 * application holding an endpoint cannot make it report a fake `message`). The listener methods behave as
 * EventEmitter's, so `events.once(endpoint, 'session')` works.
 */
export class TypedEmitter {
  readonly #events = new EventEmitter();

  /** Calls `listener` on every `event` (as EventEmitter's `on`). Returns the endpoint, for chaining. */
  on<K extends keyof EndpointEvents>(event: K, listener: Listener<K>): this {
    this.#events.on(event, listener as (...a: unknown[]) => void);
    return this;
  }
  /** Calls `listener` on the next `event` only. */
  once<K extends keyof EndpointEvents>(event: K, listener: Listener<K>): this {
    this.#events.once(event, listener as (...a: unknown[]) => void);
    return this;
  }
  /** Removes a listener added with `on` or `once`. */
  off<K extends keyof EndpointEvents>(event: K, listener: Listener<K>): this {
    this.#events.off(event, listener as (...a: unknown[]) => void);
    return this;
  }
  /** Alias of `off` (for `events.once` and other EventEmitter helpers). */
  removeListener<K extends keyof EndpointEvents>(event: K, listener: Listener<K>): this {
    return this.off(event, listener);
  }
  /** Removes every listener of `event`, or of every event when none is named. */
  removeAllListeners(event?: keyof EndpointEvents): this {
    if (event === undefined) this.#events.removeAllListeners();
    else this.#events.removeAllListeners(event);
    return this;
  }
  /** Number of listeners currently registered for `event`. */
  listenerCount(event: keyof EndpointEvents): number {
    return this.#events.listenerCount(event);
  }
  protected emit<K extends keyof EndpointEvents>(event: K, ...args: EndpointEvents[K]): boolean {
    return this.#events.emit(event, ...args);
  }
}
