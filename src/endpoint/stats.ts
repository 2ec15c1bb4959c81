import type { ErrorCode } from '../errors/index.js';

/**
 * Counters of an endpoint since it was created, as `endpoint.stats()` returns them (also exported as Prometheus
 * metrics when the `metrics` option is on). Counts are of application messages unless a field says frames.
 */
export interface EndpointStats {
  /** Established sessions. */
  sessions: number;
  /** Application messages protected and handed to the transport. */
  sent: number;
  /** Sent messages the peer acknowledged end to end (SPEC 7.6). */
  confirmed: number;
  /** Sent messages reported in `unconfirmed` events. */
  unconfirmed: number;
  /** The same by the code of the `unconfirmed` event. */
  unconfirmedByCode: Partial<Record<ErrorCode, number>>;
  /** [SPEC 3.7] BATCH frames sent, and the records that left in them. */
  batches: number;
  /** Records that left inside BATCH frames (SPEC 3.7). */
  coalesced: number;
  /** Application messages verified and delivered. */
  received: number;
  /** Refused frames/messages by code. */
  rejected: Partial<Record<ErrorCode, number>>;
  /**
   * Handshakes this endpoint started (`initiated`), sessions established in either role (`completed`), and
   * handshakes refused or timed out (`failed`).
   */
  handshakes: { initiated: number; completed: number; failed: number };
  /** [SPEC 7.2] Key updates of this endpoint's sending direction (`sent`) and of its peers' (`received`). */
  keyUpdates: { sent: number; received: number };
  /** [SPEC 13] Group frames published, verified and delivered, refused, held ahead of their key, and dropped unverified (SPEC 13.6). */
  groups: { sent: number; received: number; rejected: number; held: number; dropped: number };
}

/** What waits inside an endpoint right now (`endpoint.queues()`); every figure is bounded by an option. */
export interface EndpointQueues {
  /** Peers in the table: with a session, a handshake, queued messages or outcomes owed (maxPeers). */
  peers: number;
  /** Handshakes this endpoint started and that wait for their response. */
  handshaking: number;
  /** Messages waiting for a session to open (maxQueuedPerPeer per peer). */
  waiting: number;
  /** [SPEC 7.6] Sent messages tracked until acknowledged (acks.track per peer). */
  tracked: number;
  /** [SPEC 3.7] Records waiting in outboxes to leave together in a BATCH frame. */
  outbox: number;
  /** Transport sends handed over and not settled yet (counted by the outboxes, i.e. while coalescing is on). */
  sending: number;
  /** Inbound frames queued behind the same sender's earlier frames. */
  inbound: number;
  /** [SPEC 7.3, 13.6] Bytes of frames held ahead of their key (update), all sessions and groups together (maxHeldBytes). */
  heldBytes: number;
}

export function emptyStats(): EndpointStats {
  return {
    sessions: 0,
    sent: 0,
    confirmed: 0,
    unconfirmed: 0,
    unconfirmedByCode: {},
    batches: 0,
    coalesced: 0,
    received: 0,
    rejected: {},
    handshakes: { initiated: 0, completed: 0, failed: 0 },
    keyUpdates: { sent: 0, received: 0 },
    groups: { sent: 0, received: 0, rejected: 0, held: 0, dropped: 0 },
  };
}

/** What one peer-table entry holds, as `queueDepths` reads it. */
export interface QueueSource {
  readonly handshaking: boolean;
  readonly waiting: number;
  readonly tracked: number;
  readonly inboundDepth: number;
  readonly outbox: { readonly waiting: number; readonly sending: number } | undefined;
}

/** Queue depths over the peer table (one pass). */
export function queueDepths(slots: Iterable<QueueSource>, peers: number, heldBytes: number): EndpointQueues {
  const q: EndpointQueues = { peers, handshaking: 0, waiting: 0, tracked: 0, outbox: 0, sending: 0, inbound: 0, heldBytes };
  for (const s of slots) {
    if (s.handshaking) q.handshaking++;
    q.waiting += s.waiting;
    q.tracked += s.tracked;
    q.inbound += s.inboundDepth;
    if (s.outbox) {
      q.outbox += s.outbox.waiting;
      q.sending += s.outbox.sending;
    }
  }
  return q;
}
