/** zod schema for the plain-data part of `createEndpoint` options (validated once, at the edge). */
import { z } from 'zod';
import { ENDPOINT_ID_PATTERN } from '../transport/transport.js';
import { SUITES } from '../crypto/suites.js';
import type { AsyncSigner } from '../crypto/provider.js';
import { BATCH_MAX_RECORDS } from '../codec/batch.js';

/**
 * The defaults of createEndpoint's plain-data options, in one place: the schema below applies them, and
 * test/schemas/endpoint-options-source.test.ts checks that EndpointOptions' doc comments state these values and that
 * the interface and the schema have the same options.
 */
export const ENDPOINT_DEFAULTS = {
  protection: 'confidentiality',
  freshnessWindowMs: 30_000,
  handshakeTimeoutMs: 10_000,
  offlineStartMs: 0,
  maxQueuedPerPeer: 1000,
  maxConcurrentHandshakes: 64,
  handshakesPerSecond: 500,
  handshakesPerSecondPerPeer: 10,
  maxPeers: 100_000,
  handshakeRetryMs: 1000,
  knownPeerChecksPerSecond: 2000,
  alertsPerSecond: 100,
  probeTimeoutMs: 1000,
  maxSessionLifetimeMs: 86_400_000,
  maxHeldBytes: 8 * 1024 * 1024,
  acks: { every: 32, delayMs: 20, track: 1024, timeoutMs: 30_000, gapMs: 500 },
  coalesce: { maxRecords: 32, maxBytes: 16_384, maxDelayUs: 20, minInFlight: 16 },
  groupHold: { frames: 32, bytes: 65_536, ms: 2000 },
} as const;
const D = ENDPOINT_DEFAULTS;

const pemOrDer = z.union([z.string().min(1), z.instanceof(Uint8Array)]);
const protection = z.enum(['integrity', 'confidentiality']);
const suiteName = z.enum(SUITES.map((s) => s.name) as [string, ...string[]]);

export const endpointConfigSchema = z.object({
  id: z.string().regex(ENDPOINT_ID_PATTERN, 'endpoint id: 1-64 chars of [A-Za-z0-9._-], not starting with . or -'),
  identity: z.union([
    z.object({ certificate: pemOrDer, privateKey: pemOrDer, attributeCertificates: z.array(pemOrDer).max(8).optional() }),
    // [SPEC 10.6] A key held outside this program: checked further (and against the leaf) when the identity is opened.
    z.object({
      certificate: pemOrDer,
      signer: z.custom<AsyncSigner>(
        (v) => typeof (v as { sign?: unknown } | null)?.sign === 'function',
        'a signer with a sign(data) method',
      ),
      attributeCertificates: z.array(pemOrDer).max(8).optional(),
    }),
  ]),
  trust: z.object({
    roots: z.array(pemOrDer).min(1),
    intermediates: z.array(pemOrDer).optional(),
    crls: z.array(pemOrDer).optional(),
  }),
  // [SPEC 10.5] 'require': a peer whose issuers' CRLs are missing or cannot be validated is refused.
  crlMode: z.enum(['if-present', 'require']).optional(),
  protection: protection.default(D.protection),
  // [SPEC 5.5] Default: only the mode this endpoint requests (no downgrade by a peer or a broker).
  acceptProtection: z.array(protection).min(1).optional(),
  suites: z.array(suiteName).min(1).max(16).optional(),
  freshnessWindowMs: z.number().int().positive().max(3_600_000).default(D.freshnessWindowMs),
  handshakeTimeoutMs: z.number().int().positive().default(D.handshakeTimeoutMs),
  // [SPEC 5.11] A handshake this endpoint starts waits this long for a peer that is offline (0: off).
  offlineStartMs: z
    .number()
    .int()
    .nonnegative()
    .max(7 * 86_400_000)
    .default(D.offlineStartMs),
  maxQueuedPerPeer: z.number().int().positive().default(D.maxQueuedPerPeer),
  maxConcurrentHandshakes: z.number().int().positive().default(D.maxConcurrentHandshakes),
  handshakesPerSecond: z.number().positive().default(D.handshakesPerSecond),
  handshakesPerSecondPerPeer: z.number().positive().default(D.handshakesPerSecondPerPeer),
  maxPeers: z.number().int().positive().default(D.maxPeers),
  // [SPEC 5.7] A pending HS_INIT is sent again this often until answered.
  handshakeRetryMs: z.number().int().positive().default(D.handshakeRetryMs),
  // [SPEC 5.7] Signature checks per second at arrival of HS_INITs from peers that authenticated before.
  knownPeerChecksPerSecond: z.number().positive().default(D.knownPeerChecksPerSecond),
  // [SPEC 3.6] Unauthenticated HS_ALERT hints sent per second, all peers together.
  alertsPerSecond: z.number().positive().default(D.alertsPerSecond),
  // [SPEC 3.6] How long a live session waits for an authenticated answer to a probe before re-opening.
  probeTimeoutMs: z.number().int().positive().default(D.probeTimeoutMs),
  // [SPEC 5.10] No session lasts longer (it also ends at the earliest notAfter on the peer's path).
  maxSessionLifetimeMs: z.number().int().positive().default(D.maxSessionLifetimeMs),
  // [SPEC 7.3] Bytes of frames held ahead of their key update, all sessions together.
  maxHeldBytes: z.number().int().nonnegative().default(D.maxHeldBytes),
  // [SPEC 7.6] End-to-end acknowledgements.
  acks: z
    .object({
      every: z.number().int().min(1).max(32).default(D.acks.every),
      delayMs: z.number().int().nonnegative().max(1000).default(D.acks.delayMs),
      track: z.number().int().nonnegative().max(1_000_000).default(D.acks.track),
      timeoutMs: z.number().int().positive().default(D.acks.timeoutMs),
      // [SPEC 7.6] A gap the peer's ACKs show for this long makes the record ERR_NOT_CONFIRMED.
      gapMs: z.number().int().nonnegative().max(60_000).default(D.acks.gapMs),
    })
    .prefault({}),
  // [SPEC 3.7] Records sealed in the same event-loop turn share a transport message (BATCH frame).
  coalesce: z
    .object({
      maxRecords: z.number().int().min(1).max(BATCH_MAX_RECORDS).default(D.coalesce.maxRecords),
      maxBytes: z.number().int().min(64).default(D.coalesce.maxBytes),
      maxDelayUs: z.number().int().nonnegative().max(1_000_000).default(D.coalesce.maxDelayUs),
      minInFlight: z.number().int().nonnegative().max(1_000_000).default(D.coalesce.minInFlight),
    })
    .prefault({}),
  // [SPEC 13.6] Frames of a group's next epoch held until its key arrives, per group.
  groupHold: z
    .object({
      frames: z.number().int().nonnegative().max(1024).default(D.groupHold.frames),
      bytes: z.number().int().nonnegative().default(D.groupHold.bytes),
      ms: z.number().int().nonnegative().max(60_000).default(D.groupHold.ms),
    })
    .prefault({}),
  session: z
    .object({
      graceMs: z.number().int().nonnegative().optional(),
      rekeyAfterMessages: z.number().int().positive().optional(),
      rekeyAfterMs: z.number().int().positive().optional(),
      maxEarlyFrames: z.number().int().nonnegative().max(1024).optional(),
      maxEarlyBytes: z.number().int().nonnegative().optional(),
      retainedEphemerals: z.number().int().min(1).max(64).optional(),
    })
    .optional(),
});

export type EndpointConfig = z.infer<typeof endpointConfigSchema>;
