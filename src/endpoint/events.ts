/** Events an endpoint emits. A bad frame is never thrown into the transport: it becomes a `reject`. */
import { EventEmitter } from 'node:events';
import type { ErrorCode } from '../errors/index.js';
import type { RoleAssignment } from '../pki/types.js';

export interface MessageEvent {
  readonly from: string;
  readonly data: Uint8Array;
  /** Role names of the sender, validated at handshake (IEC 62351-8). */
  readonly roles: readonly string[];
  readonly roleAssignments: readonly RoleAssignment[];
  /** [SPEC 13] Set for a group message: the publisher's group name (`from` is the publisher). */
  readonly group?: string;
}

export interface RejectEvent {
  readonly code: ErrorCode;
  /** Transport-level sender when known (not authenticated for refused frames). */
  readonly from?: string;
  readonly message?: string;
}

/** A handshake this endpoint started: its HS_INIT was handed to the transport (re-sends are not reported). */
export interface HandshakeEvent {
  readonly peer: string;
}

export interface SessionEvent {
  readonly peer: string;
  readonly suite: string;
  readonly protection: 'integrity' | 'confidentiality';
  readonly role: 'initiator' | 'responder';
}

export interface KeyUpdateEvent {
  readonly peer: string;
  readonly direction: 'send' | 'receive';
  readonly epoch: number;
}

export interface SessionClosedEvent {
  readonly peer: string;
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

  on<K extends keyof EndpointEvents>(event: K, listener: Listener<K>): this {
    this.#events.on(event, listener as (...a: unknown[]) => void);
    return this;
  }
  once<K extends keyof EndpointEvents>(event: K, listener: Listener<K>): this {
    this.#events.once(event, listener as (...a: unknown[]) => void);
    return this;
  }
  off<K extends keyof EndpointEvents>(event: K, listener: Listener<K>): this {
    this.#events.off(event, listener as (...a: unknown[]) => void);
    return this;
  }
  /** Alias of `off` (for `events.once` and other EventEmitter helpers). */
  removeListener<K extends keyof EndpointEvents>(event: K, listener: Listener<K>): this {
    return this.off(event, listener);
  }
  removeAllListeners(event?: keyof EndpointEvents): this {
    if (event === undefined) this.#events.removeAllListeners();
    else this.#events.removeAllListeners(event);
    return this;
  }
  listenerCount(event: keyof EndpointEvents): number {
    return this.#events.listenerCount(event);
  }
  protected emit<K extends keyof EndpointEvents>(event: K, ...args: EndpointEvents[K]): boolean {
    return this.#events.emit(event, ...args);
  }
}
