/** A forger's handshake context: its own identity (from its own PKI, or someone's certificate with its own key). */
import { createNodeProvider } from '../../src/crypto/node.js';
import { DEFAULT_SUITES, suiteByName } from '../../src/crypto/suites.js';
import { createTrustStore, loadIdentity } from '../../src/pki/index.js';
import { HandshakeReplayCache } from '../../src/session/freshness.js';
import type { HandshakeContext } from '../../src/session/handshake.js';
import type { LocalIdentity } from '../../src/pki/types.js';
import type { TestIdentity } from '../../src/testing/index.js';

export function forgerContext(
  identity: LocalIdentity,
  roots: string[],
  protection: 'integrity' | 'confidentiality' = 'confidentiality',
): HandshakeContext {
  const provider = createNodeProvider();
  return {
    provider,
    identity,
    verifier: createTrustStore({ roots }, { provider }),
    suites: DEFAULT_SUITES.map(suiteByName),
    protection,
    acceptProtection: ['integrity', 'confidentiality'],
    replayCache: new HandshakeReplayCache(30_000),
  };
}

export function identityOf(t: TestIdentity, id: string): LocalIdentity {
  return loadIdentity(t, id, { provider: createNodeProvider() });
}
