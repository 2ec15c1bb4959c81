/**
 * The one interface every binding implements. A transport moves opaque frames between
 * endpoint ids; it never sees keys and nothing in the session depends on which transport
 * carries it. [SPEC 8]
 */
export interface InboundFrame {
  /** Endpoint id the transport says the frame came from (untrusted: the session verifies it). */
  readonly from: string;
  readonly bytes: Uint8Array;
}

/**
 * Called for every inbound frame, in arrival order. What the returned promise means for
 * acknowledgements is the transport's choice, documented per binding in SPEC §8: AMQP acks only
 * after it settles (the session accepted or rejected the frame); MQTT sends its PUBACK when the
 * frame is handed over (mqtt.js processes packets one at a time, so waiting would deadlock a
 * handler that awaits its own send) and instead bounds the calls still unsettled.
 */
export type FrameHandler = (frame: InboundFrame) => void | Promise<void>;

/**
 * Connection state a transport reports through `onStatus`. While it is not connected, the network bindings hold up
 * to `maxQueue` frames for after the reconnect (SPEC 8.10); `closed` is final.
 */
export type TransportStatus = 'connected' | 'disconnected' | 'reconnecting' | 'closed';

/** Inbound frames a transport dropped before they reached onFrame. [SPEC 8.9] */
export interface InboundStats {
  /** Frames larger than `maxFrameSize`, dropped before being copied or decoded (never handed to onFrame). */
  readonly oversize: number;
  /**
   * Inbound frames handed to onFrame or waiting for it whose call has not settled (MQTT, XMPP); the transport stops
   * reading its connection while this is at its `maxUnsettledFrames` bound.
   */
  readonly queued?: number;
  /**
   * Frames dropped because `maxUnsettledFrames` handler calls were pending, where the connection cannot be paused
   * (core NATS: the subscription delivers regardless; at-most-once, like the server's slow-consumer drop).
   */
  readonly overflow?: number;
}

/**
 * [SPEC 8] What an endpoint needs from a binding: open an inbox for its id, send opaque frames to other ids, close.
 * A transport never sees keys and is not trusted: everything it hands over, including the sender id, is verified by
 * the session. The shipped bindings are `hopsafe/mqtt`, `hopsafe/amqp`, `hopsafe/xmpp`, `hopsafe/nats` and `hopsafe/memory`;
 * `send` refuses misuse with the same codes in each (SPEC 8.10). Implement it to carry hopsafe over another medium.
 */
export interface Transport {
  /** Human-readable name for logs and errors, e.g. "mqtt", "amqp", "xmpp", "memory". */
  readonly name: string;
  /**
   * Largest frame this transport carries, in bytes: `send` refuses larger ones with ERR_PAYLOAD_TOO_LARGE, and
   * larger inbound frames are dropped before they are copied or decoded, never handed to onFrame. [SPEC 8.9]
   */
  readonly maxFrameSize: number;
  /** Starts receiving frames addressed to `localId`. Resolves once frames can be received. */
  open(localId: string, onFrame: FrameHandler): Promise<void>;
  /** Sends one frame to `peerId`. Resolves when the intermediary accepted it (publish ack / confirm) where the transport has one. */
  send(peerId: string, bytes: Uint8Array): Promise<void>;
  /**
   * [SPEC 8] True when `send` has copied (or encoded) `bytes` by the time it returns, so the caller may reuse the
   * array at once: the endpoint then seals large frames into memory it reuses (issue 19). Every shipped binding
   * copies and says so; leave it unset for a transport that keeps a reference to the array it was given.
   */
  readonly copiesFrames?: boolean;
  /** Stops receiving and releases connections. Idempotent. */
  close(): Promise<void>;
  /** Optional status notifications (reconnects etc.). */
  onStatus?(listener: (status: TransportStatus) => void): void;
  /** Inbound frames dropped by the transport itself (every shipped binding has it). [SPEC 8.9] */
  inboundStats?(): InboundStats;
  /**
   * [SPEC 13.9] Group addresses (optional: a transport without them carries no groups). `address` is
   * `{publisherId}/{groupId in lower-case hex}`; the binding maps it to a topic / routing key that no inbox can ever have. Frames published on
   * it reach every subscriber; `onFrame` gets them in arrival order, with no sender (the frame names its group).
   */
  subscribeGroup?(address: string, onFrame: GroupFrameHandler): Promise<void>;
  unsubscribeGroup?(address: string): Promise<void>;
  /**
   * [SPEC 13.9] Sets up a group address of this endpoint before any member subscribes; the publisher's `group()` calls
   * it once (optional: MQTT, AMQP, NATS and the memory hub need nothing; XMPP creates the group's PEP node).
   */
  openGroup?(address: string): Promise<void>;
  /** Publishes one frame on a group address; resolves as `send` does. */
  publishGroup?(address: string, bytes: Uint8Array): Promise<void>;
  /** [SPEC 8.5, 13.9] Every group address of `publisher` (a bridge forwarding that publisher's groups); `onFrame` gets the address. */
  subscribeGroupsOf?(publisher: string, onFrame: (address: string, bytes: Uint8Array) => void | Promise<void>): Promise<void>;
}

/** Called for every frame on a subscribed group address. */
export type GroupFrameHandler = (bytes: Uint8Array) => void | Promise<void>;

/** [SPEC 13.9] A group address: the publisher's endpoint id, '/', and the 16-byte group id as 32 lower-case hex digits. */
export const GROUP_ADDRESS_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}\/[0-9a-f]{32}$/;
/** [SPEC 13.9] The topic level / routing-key word before a group address: '~' is never in an endpoint id (SPEC 8.1). */
export const GROUP_LEVEL = '~g';

/** Endpoint ids: 1–64 chars of [A-Za-z0-9._-], not starting with '.' or '-' — safe as MQTT topic levels, AMQP routing-key words and XMPP localparts. [SPEC 8.1] */
export const ENDPOINT_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
