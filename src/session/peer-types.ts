/** What the per-peer machine (peer.ts) is given and what it asks its I/O shell to do. [SPEC 8] */
import type { HopsafeError, ErrorCode } from '../errors/index.js';
import type { RoleAssignment } from '../pki/types.js';
import type { Protection } from '../codec/tokens.js';
import type { Outgoing } from './confirmations.js';

/**
 * [SPEC 8.7] What the {@link Authorize} hook is asked about: one application message, in either direction,
 * with the peer's validated roles.
 */
export interface AuthorizeContext {
  /** The peer's endpoint id (authenticated by its certificate). */
  readonly peer: string;
  /** The peer's roles valid now (SPEC 10.4). */
  readonly roles: readonly RoleAssignment[];
  /** Seen from this endpoint: `send` for a message about to be sent, `receive` for one that arrived. */
  readonly direction: 'send' | 'receive';
  /** The application payload (in clear). */
  readonly data: Uint8Array;
}

/** Decides per message; `false` (or throwing) refuses it (ERR_FORBIDDEN). [SPEC 8.7] */
export type Authorize = (ctx: AuthorizeContext) => boolean;

/** The application's side of one message: how its `send` settles. */
export interface Settle {
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export type PeerAction =
  /**
   * Hand `frame` to the transport. `record`: a record frame (may be coalesced into a BATCH, SPEC 3.7); otherwise
   * a handshake frame, sent alone. `onSent`/`onFailed` follow the transport's outcome; `handshake` marks the HS_INIT
   * whose failure ends the pending handshake (the shell then calls `initFailed`).
   */
  | {
      readonly type: 'transmit';
      readonly frame: Uint8Array;
      readonly record: boolean;
      readonly onSent?: () => void;
      readonly onFailed?: (e: unknown) => void;
      readonly handshake?: true;
    }
  /** Call `tick(now)` at `at` (undefined: no timer). `keepAlive`: work is owed (an ACK, an outcome). */
  | { readonly type: 'timer'; readonly at: number | undefined; readonly keepAlive: boolean }
  /** `control`: a GroupControl message (SPEC 13.4) for the endpoint's group layer, with the peer's certificate fingerprint. */
  | {
      readonly type: 'deliver';
      readonly data: Uint8Array;
      readonly roles: readonly RoleAssignment[];
      readonly control?: { readonly fingerprint: string };
    }
  | { readonly type: 'reject'; readonly error: HopsafeError }
  | { readonly type: 'session'; readonly role: 'initiator' | 'responder'; readonly suite: string; readonly protection: Protection }
  | { readonly type: 'session-closed'; readonly reason: ErrorCode }
  | { readonly type: 'key-update'; readonly direction: 'send' | 'receive'; readonly epoch: number }
  /** [SPEC 7.6] Messages confirmed (`code` undefined) or not, with why. */
  | { readonly type: 'outcome'; readonly code: ErrorCode | undefined; readonly items: readonly Outgoing[] };

/** Counters the machine moves (the endpoint's stats object). */
export interface PeerCounters {
  sent: number;
  received: number;
  handshakes: { initiated: number; completed: number; failed: number };
  keyUpdates: { sent: number; received: number };
}

export interface PeerLimits {
  readonly handshakeTimeoutMs: number;
  /** [SPEC 5.7] A pending HS_INIT is sent again this often until answered. */
  readonly handshakeRetryMs: number;
  readonly maxQueued: number;
  readonly acks: {
    readonly every: number;
    readonly delayMs: number;
    readonly track: number;
    readonly timeoutMs: number;
    readonly gapMs: number;
  };
  /** [SPEC 3.6] How long a live session waits for an authenticated answer to its probe. */
  readonly probeTimeoutMs: number;
  /** [SPEC 5.10] No session lasts longer. */
  readonly maxSessionLifetimeMs: number;
}

/** [SPEC 8.1] Which peer holds a session id (only to tell a redirected record, ERR_WRONG_PEER, from an unknown one). */
export interface SessionIndex {
  add(sessionIdHex: string, peer: string): void;
  remove(sessionIdHex: string, peer: string): void;
  /** [SPEC 7.1] A session with this id is held with a peer other than `peer`. */
  heldByOther(sessionIdHex: string, peer: string): boolean;
}
