import type { ErrorCode } from '../errors/index.js';

export interface EndpointStats {
  /** Established sessions. */
  sessions: number;
  /** Application messages protected and handed to the transport. */
  sent: number;
  /** Sent messages the peer acknowledged end to end (SPEC 7.6). */
  confirmed: number;
  /** Sent messages reported in `unconfirmed` events. */
  unconfirmed: number;
  /** [SPEC 3.7] BATCH frames sent, and the records that left in them. */
  batches: number;
  coalesced: number;
  /** Application messages verified and delivered. */
  received: number;
  /** Refused frames/messages by code. */
  rejected: Partial<Record<ErrorCode, number>>;
  handshakes: { initiated: number; completed: number; failed: number };
  keyUpdates: { sent: number; received: number };
}

export function emptyStats(): EndpointStats {
  return { sessions: 0, sent: 0, confirmed: 0, unconfirmed: 0, batches: 0, coalesced: 0, received: 0, rejected: {}, handshakes: { initiated: 0, completed: 0, failed: 0 }, keyUpdates: { sent: 0, received: 0 } };
}
