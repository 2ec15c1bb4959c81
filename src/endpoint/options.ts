import type { Logger } from 'pino';
import type { Transport } from '../transport/transport.js';
import type { AsyncSigner, CryptoProvider } from '../crypto/provider.js';
import type { PemOrDer, TrustConfig } from '../pki/types.js';
import type { SessionOptions } from '../session/session.js';
import type { PolicyInput } from '../pki/policy.js';
import type { MetricsOptions } from './metrics.js';

export type { Authorize, AuthorizeContext } from '../session/peer-types.js';
import type { Authorize } from '../session/peer-types.js';

/** Options of one {@link Endpoint.send} call. */
export interface SendOptions {
  /**
   * [SPEC 7.6] Resolve only once the peer acknowledged the message end to end; reject with the reason it was
   * not (ERR_NOT_CONFIRMED, ERR_TIMEOUT, ERR_UNKNOWN_SESSION, ERR_CLOSED, ERR_CERT_REVOKED, ERR_QUEUE_FULL, ERR_FORBIDDEN).
   * Default: resolve when the protected frame was handed to the transport.
   */
  readonly confirm?: boolean;
}

/**
 * What {@link createEndpoint} takes. Only `id`, `identity`, `trust` and `transport` are required; every other
 * option has the default its comment names. Numbers are validated when the endpoint is created (an invalid value
 * fails with ERR_CONFIG naming it). Timings are in milliseconds unless the name says otherwise.
 */
export interface EndpointOptions {
  /** This endpoint's id: its certificate must name it (CN or SAN), and the transport routes by it. */
  readonly id: string;
  /**
   * PEM (certificate may hold the chain, leaf first; key PKCS#8) or DER. Instead of `privateKey`, `signer`: a key
   * held outside this program that signs asynchronously (SPEC 10.6), e.g. a non-extractable WebCrypto key
   * (`webCryptoSigner` in `hopsafe/browser`).
   */
  readonly identity:
    | {
        readonly certificate: PemOrDer;
        readonly privateKey: PemOrDer;
        /** RFC 5755 attribute certificates carrying IEC 62351-8 roles, presented in the ClearToken (SPEC 10.4). */
        readonly attributeCertificates?: readonly PemOrDer[];
      }
    | {
        readonly certificate: PemOrDer;
        /** [SPEC 10.6] Signs our ClearTokens; must hold the leaf certificate's key (checked: ERR_KEY_MISMATCH). */
        readonly signer: AsyncSigner;
        /** RFC 5755 attribute certificates carrying IEC 62351-8 roles, presented in the ClearToken (SPEC 10.4). */
        readonly attributeCertificates?: readonly PemOrDer[];
      };
  /** Trust anchors, extra intermediates and CRLs that peers' certificate chains are validated against (SPEC 10.2). */
  readonly trust: TrustConfig;
  /**
   * [SPEC 10.5] Revocation: 'if-present' (default) checks the CRLs given and passes a peer whose issuer's CRL cannot
   * be validated with a `trust-warning` event; 'require' refuses a peer without a current, valid CRL from each issuer.
   */
  readonly crlMode?: 'if-present' | 'require';
  /**
   * The transport frames travel on (e.g. `mqttTransport(…)` from `hopsafe/mqtt`); the endpoint opens and closes it.
   */
  readonly transport: Transport;
  /** Mode requested when this endpoint opens a session. Default: confidentiality. */
  readonly protection?: 'integrity' | 'confidentiality';
  /** [SPEC 5.5] Modes accepted when a peer opens a session. Default: `[protection]` only (list both to accept both). */
  readonly acceptProtection?: readonly ('integrity' | 'confidentiality')[];
  /** Suite names in preference order (see SPEC 4.1). Default: the X25519 suites. */
  readonly suites?: readonly string[];
  /** Crypto provider. Default: node:crypto. */
  readonly provider?: CryptoProvider;
  /** Clock in ms since the epoch. Default: Date.now. */
  readonly clock?: () => number;
  /** Per-message authorization hook; with `policy`, both must allow. [SPEC 8.7] */
  readonly authorize?: Authorize;
  /** Declarative RBAC policy (object or JSON text, SPEC 10.8) over the peer's validated IEC 62351-8 roles. */
  readonly policy?: PolicyInput | string;
  /** Tells the policy a message's type and/or topic (e.g. parsed from the payload). */
  readonly classify?: (data: Uint8Array, ctx: { peer: string; direction: 'send' | 'receive' }) => { type?: string; topic?: string };
  /** ClearToken1 timestamps must be within ± this many ms. Default 30 000. */
  readonly freshnessWindowMs?: number;
  /** A handshake not completed within this many ms fails (ERR_TIMEOUT) and queued messages are reported. Default 10 000. */
  readonly handshakeTimeoutMs?: number;
  /**
   * [SPEC 5.11] Offline start, for storing brokers (NATS JetStream, MQTT persistent sessions, AMQP durable queues): a
   * handshake this endpoint starts, and the messages queued behind it, wait up to this many ms for a peer that is
   * offline (instead of `handshakeTimeoutMs`), and an HS_INIT the returning peer refuses as stale is replaced by a
   * fresh one. Default 0 (off).
   */
  readonly offlineStartMs?: number;
  /** Messages waiting for a session per peer before `send` fails with ERR_QUEUE_FULL. Default 1000. */
  readonly maxQueuedPerPeer?: number;
  /** Handshakes being verified at once before new ones are refused (ERR_HANDSHAKE_LIMIT). Default 64. */
  readonly maxConcurrentHandshakes?: number;
  /** Token-bucket rate for incoming handshakes (after the cheap checks). Default 500/s. */
  readonly handshakesPerSecond?: number;
  /** The same per sender id (burst 4). Default 10/s. */
  readonly handshakesPerSecondPerPeer?: number;
  /** Peers in the table (a session, a handshake, queued messages or outcomes owed); past it a new peer is refused with ERR_HANDSHAKE_LIMIT. Default 100 000. */
  readonly maxPeers?: number;
  /** [SPEC 5.7] A pending HS_INIT is sent again this often until it is answered. Default 1000 ms. */
  readonly handshakeRetryMs?: number;
  /** [SPEC 5.7] Signature checks per second at arrival of HS_INITs from peers that authenticated before. Default 2000. */
  readonly knownPeerChecksPerSecond?: number;
  /** [SPEC 3.6] Unauthenticated HS_ALERT hints sent per second, all peers together. Default 100. */
  readonly alertsPerSecond?: number;
  /** [SPEC 3.6] How long a live session waits for an authenticated answer to a probe before re-opening. Default 1000 ms. */
  readonly probeTimeoutMs?: number;
  /** [SPEC 5.10] No session lasts longer (it also ends at the earliest notAfter on the peer's path). Default 86 400 000 ms (24 h). */
  readonly maxSessionLifetimeMs?: number;
  /** [SPEC 7.3, 13.6] Bytes of frames held ahead of their key (update), all sessions and groups together. Default 8 388 608 (8 MiB). */
  readonly maxHeldBytes?: number;
  /** Session tuning: key-update grace, automatic key updates, held-frame bounds (SPEC 7.2, 7.3, 7.5). */
  readonly session?: Partial<SessionOptions>;
  /**
   * [SPEC 7.6] End-to-end acknowledgements. As a receiver, an ACK goes back after `every` DATA records
   * (default and at most 32) or `delayMs` (default 20) after the first unacknowledged one. As a sender, up to
   * `track` messages per peer (default 1024; 0 = off) are remembered until acknowledged; those that are not
   * within `timeoutMs` (default 30 000), or whose session ends first, are reported (`unconfirmed` event); one the
   * peer's ACKs show as a gap for `gapMs` (default 500) is reported as ERR_NOT_CONFIRMED without waiting for the timeout.
   */
  readonly acks?: {
    readonly every?: number;
    readonly delayMs?: number;
    readonly track?: number;
    readonly timeoutMs?: number;
    readonly gapMs?: number;
  };
  /**
   * [SPEC 3.7] Coalescing, only while the transport lags. With fewer than `minInFlight` (default 16) transport sends
   * to a peer unsettled, every record is sent at once. Past that, records wait and travel together in one transport
   * message (BATCH frame) of at most `maxRecords` records (default 32, at most 64; 1 = off) and `maxBytes` bytes
   * (default 16 384, capped at the transport's maxFrameSize); a batch leaves when the code running now is done
   * (process.nextTick), when full, or once a record joins it `maxDelayUs` (default 20) after its first one.
   * Each record keeps its own protection, sequence number and acknowledgement.
   */
  readonly coalesce?: {
    readonly maxRecords?: number;
    readonly maxBytes?: number;
    readonly maxDelayUs?: number;
    readonly minInFlight?: number;
  };
  /**
   * [SPEC 13.6] As a group member: frames of a group's next epoch that arrive before its key (which travels over the
   * pairwise session) are held, unverified, per group at most `frames` (default 32; 0 = none are held) and `bytes`
   * (default 65 536), within `maxHeldBytes` for all, and for at most `ms` (default 2000); then opened when the key
   * arrives, or dropped (counted in `stats().groups.dropped`).
   */
  readonly groupHold?: {
    readonly frames?: number;
    readonly bytes?: number;
    readonly ms?: number;
  };
  /** pino logger; silent by default. Logs ids, suites, epochs, sizes and error codes — never keys or payloads. */
  readonly logger?: Logger;
  /**
   * Prometheus metrics (prom-client), off by default (nothing measured). `true`: in a registry of the endpoint's
   * own, read with `endpoint.metrics()`; `{ registry }`: in the application's registry (endpoints sharing one get one
   * series each, label `endpoint`); `prefix` (default `hopsafe_`); `buckets` of the latency histograms, in seconds.
   */
  readonly metrics?: boolean | MetricsOptions;
}
