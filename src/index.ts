/**
 * hopsafe — end-to-end secure sessions across untrusted brokers and bridges.
 * Public entry point: endpoint API, Transport interface, errors, suites.
 *
 * @module hopsafe
 */
export { createEndpoint } from './endpoint/endpoint.js';
/** An endpoint, as `createEndpoint` returns it (its constructor takes internal parts: not public). */
export type { Endpoint } from './endpoint/endpoint.js';
export type { EndpointOptions, SendOptions, Authorize, AuthorizeContext } from './endpoint/options.js';
export type {
  MessageEvent,
  RejectEvent,
  TrustWarningEvent,
  HandshakeEvent,
  SessionEvent,
  KeyUpdateEvent,
  SessionClosedEvent,
  UnconfirmedEvent,
  EndpointEvents,
} from './endpoint/events.js';
export type { EndpointStats, EndpointQueues } from './endpoint/stats.js';
export type { MetricsOptions } from './endpoint/metrics.js';
export type { Transport, FrameHandler, InboundFrame, InboundStats, TransportStatus, GroupFrameHandler } from './transport/transport.js';
export type { Group, GroupOptions } from './endpoint/groups.js';
export { ENDPOINT_ID_PATTERN } from './transport/transport.js';
export { assertEndpointId } from './transport/endpoint-id.js';
export { HopsafeError, isHopsafeError, ERROR_CODES, type ErrorCode } from './errors/index.js';
export { SUITES, DEFAULT_SUITES, type Suite } from './crypto/suites.js';
export type { CryptoProvider } from './crypto/provider.js';
/** [SPEC 10.6] A key held outside this program that signs asynchronously: `identity.signer` of `createEndpoint`. */
export type { AsyncSigner } from './crypto/provider.js';
export type { TrustConfig, PemOrDer, RoleAssignment, VerifiedPeer } from './pki/types.js';
export type { SessionOptions } from './session/session.js';
