/**
 * `createEndpoint`: validates the options and the endpoint's own identity, builds the handshake context and opens the
 * transport. [SPEC 8]
 */
import { HopsafeError } from '../errors/index.js';
import { createNodeProvider } from '../crypto/node.js';
import { DEFAULT_SUITES, suiteByName } from '../crypto/suites.js';
import type { PeerVerifier } from '../pki/types.js';
import { HandshakeReplayCache } from '../session/freshness.js';
import { HoldBudget } from '../session/session.js';
import type { HandshakeContext } from '../session/peer.js';
import { endpointConfigSchema } from '../schemas/endpoint-options.js';
import { parseMetricsOptions } from './metrics.js';
import type { EndpointOptions } from './options.js';
import { openIdentity } from './identity.js';
import { buildAuthorize } from './authorization.js';
import { AlertLimiter, HandshakeAdmission } from '../session/admission.js';
import { createSessionIndex } from '../session/session-index.js';
import { emptyStats } from './stats.js';
import { ABANDON, Endpoint } from './endpoint.js';
import { FramePool } from '../bytes/frame-pool.js';

/** [SPEC 8] Creates an endpoint, validates its own identity, and opens the transport. */
export async function createEndpoint(options: EndpointOptions): Promise<Endpoint> {
  const { transport, provider: p, clock: c, authorize, policy, classify, logger, metrics: m, ...plain } = options;
  const metrics = parseMetricsOptions(m);
  const parsed = endpointConfigSchema.safeParse(plain);
  if (!parsed.success) throw new HopsafeError('ERR_CONFIG', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const cfg = parsed.data;
  if (!transport || typeof transport.open !== 'function') throw new HopsafeError('ERR_CONFIG', 'transport is required');
  const provider = p ?? createNodeProvider();
  const clock = c ?? Date.now;
  const { identity, trust } = await openIdentity(cfg, provider, clock);
  const suites = (cfg.suites ?? DEFAULT_SUITES).map(suiteByName);
  const hs: HandshakeContext = {
    provider,
    identity,
    verifier: trust.verifier satisfies PeerVerifier,
    suites,
    protection: cfg.protection,
    acceptProtection: cfg.acceptProtection ?? [cfg.protection],
    // [SPEC 5.6] Covers every random accepted since now: older tokens may have been accepted before a restart.
    replayCache: new HandshakeReplayCache(cfg.freshnessWindowMs, undefined, clock()),
    holdBudget: new HoldBudget(cfg.maxHeldBytes),
    // [SPEC 8] Large frames are sealed into reused memory only over a transport that copies them in send.
    ...(transport.copiesFrames === true ? { framePool: new FramePool() } : {}),
    ...(cfg.session ? { sessionOptions: cfg.session } : {}),
  };
  const now = clock();
  const counters = emptyStats();
  const index = createSessionIndex();
  const env = {
    ctx: hs,
    limits: {
      handshakeTimeoutMs: cfg.handshakeTimeoutMs,
      handshakeRetryMs: cfg.handshakeRetryMs,
      maxQueued: cfg.maxQueuedPerPeer,
      offlineStartMs: cfg.offlineStartMs,
      acks: cfg.acks,
      probeTimeoutMs: cfg.probeTimeoutMs,
      maxSessionLifetimeMs: cfg.maxSessionLifetimeMs,
    },
    admission: new HandshakeAdmission(cfg, now),
    alerts: new AlertLimiter({ perSecond: cfg.alertsPerSecond }, now),
    counters,
    index,
    authorize: buildAuthorize({ authorize, policy, classify }),
    // [SPEC 5.7] One event-loop turn before each verification, so other peers' records are not held up.
    pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
  };
  const ep = new Endpoint({ cfg, transport, clock, env, index, trust, logger, metrics });
  try {
    await transport.open(cfg.id, ep.onFrame);
  } catch (e) {
    ep[ABANDON]();
    throw e;
  }
  return ep;
}
