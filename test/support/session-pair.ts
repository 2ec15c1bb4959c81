/** Builds handshake contexts for two endpoints from a test PKI, for sans-I/O session tests. */
import { createNodeProvider } from '../../src/crypto/node.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { suiteByName, DEFAULT_SUITES, type Suite } from '../../src/crypto/suites.js';
import { createTrustStore, loadIdentity } from '../../src/pki/index.js';
import { createTestPki } from '../../src/testing/index.js';
import { HandshakeReplayCache } from '../../src/session/freshness.js';
import { complete, initiate, respond, responseFrame, type HandshakeContext } from '../../src/session/handshake.js';
import type { Session } from '../../src/session/session.js';
import type { Protection } from '../../src/codec/tokens.js';

export interface PairOptions {
  readonly providerA?: CryptoProvider;
  readonly providerB?: CryptoProvider;
  readonly suitesA?: readonly string[];
  readonly suitesB?: readonly string[];
  readonly protection?: Protection;
  readonly keyType?: 'p256' | 'p384' | 'ed25519' | 'rsa';
  readonly ids?: readonly [string, string];
}

export interface Pair {
  readonly a: HandshakeContext;
  readonly b: HandshakeContext;
  readonly idA: string;
  readonly idB: string;
}

const pkiCache = new Map<string, ReturnType<typeof createTestPki>>();

export async function makePair(o: PairOptions = {}): Promise<Pair> {
  const [idA, idB] = o.ids ?? ['control-center', 'der-1'];
  const keyType = o.keyType ?? 'p256';
  const cacheKey = `${idA}|${idB}|${keyType}`;
  let pkiP = pkiCache.get(cacheKey);
  if (!pkiP) {
    pkiP = createTestPki({
      endpoints: [
        { id: idA, roles: ['OPERATOR'] },
        { id: idB, roles: ['VIEWER'] },
      ],
      keyType,
    });
    pkiCache.set(cacheKey, pkiP);
  }
  const pki = await pkiP;
  const ctx = async (id: string, provider: CryptoProvider, suites: readonly string[]): Promise<HandshakeContext> => {
    const store = createTrustStore({ roots: pki.roots }, { provider });
    const ident = pki.identities[id];
    if (!ident) throw new Error(`no identity ${id}`);
    const identity = loadIdentity(ident, id, { provider });
    return {
      provider,
      identity,
      verifier: store,
      suites: suites.map(suiteByName) as Suite[],
      protection: o.protection ?? 'confidentiality',
      acceptProtection: ['integrity', 'confidentiality'],
      replayCache: new HandshakeReplayCache(30_000),
    };
  };
  const pa = o.providerA ?? createNodeProvider();
  const pb = o.providerB ?? pa;
  return {
    a: await ctx(idA, pa, o.suitesA ?? DEFAULT_SUITES),
    b: await ctx(idB, pb, o.suitesB ?? DEFAULT_SUITES),
    idA,
    idB,
  };
}

export interface Established {
  readonly sa: Session;
  readonly sb: Session;
  readonly init: Uint8Array;
  readonly resp: Uint8Array;
}

/** Runs the full 1-RT handshake between the pair's contexts. */
export async function handshake(p: Pair, now = Date.now()): Promise<Established> {
  const { pending, frame: init } = initiate(p.a, p.idB, now);
  const r = await respond(p.b, init, p.idA, now);
  const resp = responseFrame(r.token);
  const c = await complete(p.a, pending, resp, p.idB, now);
  return { sa: c.session, sb: r.session, init, resp };
}
