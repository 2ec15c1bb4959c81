/** zod schema for the plain-data part of `createEndpoint` options (validated once, at the edge). */
import { z } from 'zod';
import { ENDPOINT_ID_PATTERN } from '../transport/transport.js';
import { SUITES } from '../crypto/suites.js';
import { BATCH_MAX_RECORDS } from '../codec/batch.js';

const pemOrDer = z.union([z.string().min(1), z.instanceof(Uint8Array)]);
const protection = z.enum(['integrity', 'confidentiality']);
const suiteName = z.enum(SUITES.map((s) => s.name) as [string, ...string[]]);

export const endpointConfigSchema = z.object({
  id: z.string().regex(ENDPOINT_ID_PATTERN, 'endpoint id: 1-64 chars of [A-Za-z0-9._-], not starting with . or -'),
  identity: z.object({ certificate: pemOrDer, privateKey: pemOrDer, attributeCertificates: z.array(pemOrDer).max(8).optional() }),
  trust: z.object({
    roots: z.array(pemOrDer).min(1),
    intermediates: z.array(pemOrDer).optional(),
    crls: z.array(pemOrDer).optional(),
  }),
  // [SPEC 10.5] 'require': a peer whose issuers' CRLs are missing or cannot be validated is refused.
  crlMode: z.enum(['if-present', 'require']).optional(),
  protection: protection.default('confidentiality'),
  // [SPEC 5.5] Default: only the mode this endpoint requests (no downgrade by a peer or a broker).
  acceptProtection: z.array(protection).min(1).optional(),
  suites: z.array(suiteName).min(1).max(16).optional(),
  freshnessWindowMs: z.number().int().positive().max(3_600_000).default(30_000),
  handshakeTimeoutMs: z.number().int().positive().default(10_000),
  maxQueuedPerPeer: z.number().int().positive().default(1000),
  maxConcurrentHandshakes: z.number().int().positive().default(64),
  handshakesPerSecond: z.number().positive().default(500),
  handshakesPerSecondPerPeer: z.number().positive().default(10),
  maxPeers: z.number().int().positive().default(100_000),
  // [SPEC 5.7] A pending HS_INIT is sent again this often until answered.
  handshakeRetryMs: z.number().int().positive().default(1000),
  // [SPEC 5.7] Signature checks per second at arrival of HS_INITs from peers that authenticated before.
  knownPeerChecksPerSecond: z.number().positive().default(2000),
  // [SPEC 3.6] Unauthenticated HS_ALERT hints sent per second, all peers together.
  alertsPerSecond: z.number().positive().default(100),
  // [SPEC 3.6] How long a live session waits for an authenticated answer to a probe before re-opening.
  probeTimeoutMs: z.number().int().positive().default(1000),
  // [SPEC 5.10] No session lasts longer (it also ends at the earliest notAfter on the peer's path).
  maxSessionLifetimeMs: z.number().int().positive().default(86_400_000),
  // [SPEC 7.3] Bytes of frames held ahead of their key update, all sessions together.
  maxHeldBytes: z.number().int().nonnegative().default(8 * 1024 * 1024),
  // [SPEC 7.6] End-to-end acknowledgements.
  acks: z
    .object({
      every: z.number().int().min(1).max(32).default(32),
      delayMs: z.number().int().nonnegative().max(1000).default(20),
      track: z.number().int().nonnegative().max(1_000_000).default(1024),
      timeoutMs: z.number().int().positive().default(30_000),
      // [SPEC 7.6] A gap the peer's ACKs show for this long makes the record ERR_NOT_CONFIRMED.
      gapMs: z.number().int().nonnegative().max(60_000).default(500),
    })
    .prefault({}),
  // [SPEC 3.7] Records sealed in the same event-loop turn share a transport message (BATCH frame).
  coalesce: z
    .object({
      maxRecords: z.number().int().min(1).max(BATCH_MAX_RECORDS).default(32),
      maxBytes: z.number().int().min(64).default(16_384),
      maxDelayUs: z.number().int().nonnegative().max(1_000_000).default(20),
      minInFlight: z.number().int().nonnegative().max(1_000_000).default(16),
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
