/** Handshake contexts for in-process (sans-I/O) benchmarks, built from a test PKI. */
import type { CryptoProvider } from '../src/crypto/provider.js';
import { createNodeProvider } from '../src/crypto/node.js';
import { suiteByName } from '../src/crypto/suites.js';
import { createTrustStore, loadIdentity, type TrustStore } from '../src/pki/index.js';
import type { TestPki } from '../src/testing/index.js';
import { HandshakeReplayCache } from '../src/session/freshness.js';
import { complete, initiate, respond, responseFrame, type HandshakeContext } from '../src/session/handshake.js';
import type { Session } from '../src/session/session.js';
import type { Protection } from '../src/codec/tokens.js';

export const ID_A = 'bench-a';
export const ID_B = 'bench-b';

export interface BenchPair {
  readonly a: HandshakeContext;
  readonly b: HandshakeContext;
  readonly storeA: TrustStore;
  readonly storeB: TrustStore;
}

export function makeContext(
  pki: TestPki,
  id: string,
  provider: CryptoProvider,
  suites: readonly string[],
  protection: Protection,
): { ctx: HandshakeContext; store: TrustStore } {
  const store = createTrustStore({ roots: pki.roots }, { provider });
  const ident = pki.identities[id];
  if (!ident) throw new Error(`no identity ${id} in the bench PKI`);
  const ctx: HandshakeContext = {
    provider,
    identity: loadIdentity(ident, id, { provider }),
    verifier: store,
    suites: suites.map(suiteByName),
    protection,
    acceptProtection: ['integrity', 'confidentiality'],
    // Large enough that a benchmark's own handshakes never hit the cache bound.
    replayCache: new HandshakeReplayCache(30_000, 10_000_000),
  };
  return { ctx, store };
}

export function makePair(
  pki: TestPki,
  suites: readonly string[],
  protection: Protection = 'confidentiality',
  providerA: CryptoProvider = createNodeProvider(),
  providerB: CryptoProvider = providerA,
): BenchPair {
  const a = makeContext(pki, ID_A, providerA, suites, protection);
  const b = makeContext(pki, ID_B, providerB, suites, protection);
  return { a: a.ctx, b: b.ctx, storeA: a.store, storeB: b.store };
}

/** One full 1-RT handshake, both sides in-process. */
export async function handshake(p: BenchPair, now = Date.now()): Promise<{ sa: Session; sb: Session; init: Uint8Array; resp: Uint8Array }> {
  const { pending, frame: init } = initiate(p.a, ID_B, now);
  const r = await respond(p.b, init, ID_A, now);
  const resp = responseFrame(r.token);
  const c = await complete(p.a, pending, resp, ID_B, now);
  return { sa: c.session, sb: r.session, init, resp };
}
