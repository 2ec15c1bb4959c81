/** Issue #4 at the endpoint: every refusal reason, for our own identity (createEndpoint) and for a peer (reject event). */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { suiteByName, DEFAULT_SUITES } from '../../src/crypto/suites.js';
import { derObjects } from '../../src/codec/pem.js';
import { HopsafeError } from '../../src/errors/index.js';
import { HandshakeReplayCache } from '../../src/session/freshness.js';
import { initiate } from '../../src/session/handshake.js';
import { createTrustStore } from '../../src/pki/index.js';
import { createTestPki, type TestIdentity } from '../../src/testing/index.js';
import type { MessageEvent, RejectEvent } from '../../src/endpoint/events.js';
import { utf8 } from '../../src/bytes/index.js';
import { cast, until } from '../support/endpoints.js';

const provider = createNodeProvider();

type Pki = Awaited<ReturnType<typeof createTestPki>>;
const CASES: {
  name: string;
  code: string;
  make: (p: Pki, id: string) => TestIdentity & { crl?: string; root?: string };
  ownCode?: string;
}[] = [
  { name: 'expired', code: 'ERR_CERT_EXPIRED', make: (p, id) => p.broken.expired(id) },
  { name: 'not yet valid', code: 'ERR_CERT_NOT_YET_VALID', make: (p, id) => p.broken.notYetValid(id) },
  { name: 'keyUsage without digitalSignature', code: 'ERR_CERT_USAGE', make: (p, id) => p.broken.wrongKeyUsage(id) },
  { name: 'extendedKeyUsage without a hopsafe use', code: 'ERR_CERT_USAGE', make: (p, id) => p.broken.wrongExtKeyUsage(id) },
  { name: 'revoked', code: 'ERR_CERT_REVOKED', make: (p, id) => p.broken.revoked(id) },
  { name: 'foreign root with the same name', code: 'ERR_CERT_UNTRUSTED', make: (p, id) => p.broken.foreignRoot(id) },
  { name: 'CA certificate as endpoint', code: 'ERR_CERT_USAGE', make: (p, id) => p.broken.caAsLeaf(id) },
  { name: 'issued by a non-CA', code: 'ERR_CERT_USAGE', make: (p, id) => p.broken.issuedByLeaf(id) },
  { name: 'certificate for another name', code: 'ERR_CERT_NAME', make: (p, id) => p.broken.wrongName(id) },
  {
    name: 'private key of another certificate',
    code: 'ERR_BAD_SIGNATURE',
    ownCode: 'ERR_KEY_MISMATCH',
    make: (p, id) => p.broken.mismatchedKey(id),
  },
];

describe('[SPEC 10.2–10.6] certificate refusals at the endpoint', () => {
  for (const c of CASES) {
    test(`${c.name}: createEndpoint refuses it (${c.ownCode ?? c.code}); as a peer it is refused (${c.code}), nothing delivered`, async () => {
      const pki = await createTestPki({ endpoints: [{ id: 'cc', roles: ['OPERATOR'] }] });
      const bad = c.make(pki, 'mallory');
      const trust = { roots: pki.roots, crls: [bad.crl ?? pki.crl] };
      const hub = createMemoryHub();
      // (a) our own identity
      await assert.rejects(
        createEndpoint({ id: 'mallory', identity: bad, trust, transport: hub.transport() }),
        (e) => e instanceof HopsafeError && e.code === (c.ownCode ?? c.code),
      );
      // (b) a peer presenting it: raw ClearToken1 with signed early data, straight into a real endpoint
      const cc = await createEndpoint({
        id: 'cc',
        identity: pki.identities.cc!,
        trust,
        transport: hub.transport(),
        acceptProtection: ['integrity', 'confidentiality'],
      });
      const got: MessageEvent[] = [];
      const rejects: RejectEvent[] = [];
      cc.on('message', (m) => got.push(m));
      cc.on('reject', (r) => rejects.push(r));
      const [pkcs8] = derObjects(bad.privateKey, ['PRIVATE KEY']);
      const ctx = {
        provider,
        identity: {
          id: 'mallory',
          chain: derObjects(bad.certificate, ['CERTIFICATE']),
          privateKey: provider.importPrivateKey(pkcs8!),
          attributeCertificates: [],
          roles: [],
        },
        verifier: createTrustStore(trust),
        suites: DEFAULT_SUITES.map(suiteByName),
        protection: 'integrity' as const,
        acceptProtection: ['integrity' as const],
        replayCache: new HandshakeReplayCache(30_000),
      };
      const raw = hub.transport();
      await raw.open('mallory', () => undefined);
      await raw.send('cc', initiate(ctx, 'cc', Date.now(), utf8('open breaker 7')).frame);
      await until(() => rejects.length === 1, 5000, 'reject');
      assert.equal(rejects[0]!.code, c.code);
      assert.equal(rejects[0]!.from, 'mallory');
      assert.equal(got.length, 0);
      assert.equal(cc.stats().sessions, 0);
      await raw.close();
      await cc.close();
    });
  }
});

test('[SPEC 10.5] a CRL update at run time closes live sessions with the revoked peer; it cannot come back', async () => {
  const c = await cast(['cc', 'der']);
  try {
    await c.eps.der!.send('cc', utf8('before'));
    await until(() => c.inbox.cc!.length === 1);
    const closed: string[] = [];
    c.eps.cc!.on('session-closed', (e) => closed.push(`${e.peer}:${e.reason}`));
    const crl = c.pki.revoke('der');
    await c.eps.cc!.updateTrust({ crls: [crl] });
    assert.deepEqual(closed, ['der:ERR_CERT_REVOKED']);
    assert.ok(c.rejects.cc!.some((r) => r.code === 'ERR_CERT_REVOKED' && r.from === 'der'));
    assert.equal(c.eps.cc!.stats().sessions, 0);
    // der's old session is gone on cc's side: its next frame is refused and its re-handshake too
    await c.eps.der!.send('cc', utf8('after')).catch(() => undefined);
    await until(() => c.rejects.cc!.filter((r) => r.code === 'ERR_CERT_REVOKED').length >= 2, 5000, 'refused re-handshake');
    assert.equal(c.inbox.cc!.length, 1);
  } finally {
    await c.close();
  }
});

test('[SPEC 10.4] roles from an attribute certificate carried in the ClearToken reach the application', async () => {
  const pki = await createTestPki({
    endpoints: [
      { id: 'cc', roles: ['OPERATOR'] },
      { id: 'der', roles: ['VIEWER'] },
    ],
  });
  const hub = createMemoryHub();
  const ac = pki.attributeCertificate('der', ['ENGINEER']);
  const cc = await createEndpoint({ id: 'cc', identity: pki.identities.cc!, trust: { roots: pki.roots }, transport: hub.transport() });
  const der = await createEndpoint({
    id: 'der',
    identity: { ...pki.identities.der!, attributeCertificates: [ac] },
    trust: { roots: pki.roots },
    transport: hub.transport(),
  });
  const got: MessageEvent[] = [];
  cc.on('message', (m) => got.push(m));
  await der.send('cc', utf8('hello'));
  await until(() => got.length === 1);
  assert.deepEqual([...got[0]!.roles].sort(), ['ENGINEER', 'VIEWER']);
  await der.close();
  await cc.close();
});
