/**
 * [SPEC 10.6] An endpoint whose key is held outside the program (`identity.signer`): here a non-extractable WebCrypto
 * key (Node's WebCrypto, the same code `hopsafe/browser` runs in a page). Handshakes as initiator and as responder,
 * both modes, P-256, P-384 and Ed25519; the key cannot be exported; a signer of another key is refused at start-up
 * (ERR_KEY_MISMATCH); a signer that fails makes the waiting sends fail (ERR_CONFIG) and the endpoint recovers; one that
 * never answers ends in the handshake timeout; groups signed by it are ERR_UNSUPPORTED; the synchronous `initiate`
 * refuses such an identity (ERR_CONFIG).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { createTestPki, type TestKeyType } from '../../src/testing/index.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import type { AsyncSigner } from '../../src/crypto/provider.js';
import { generateNonExtractableKey, importNonExtractableKey, webCryptoSigner } from '../../src/browser/webcrypto-key.js';
import { encodeName, issueCertificate, spkiOf } from '../../src/pki/issue.js';
import { initiate } from '../../src/session/handshake.js';
import { loadSignerIdentity } from '../../src/pki/identity.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { until } from '../support/endpoints.js';

const codeOf = (e: unknown): string => (isHopsafeError(e) ? e.code : `not a HopsafeError: ${String(e)}`);

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function pair(keyType: TestKeyType, protection: 'integrity' | 'confidentiality', signerOverride?: (s: AsyncSigner) => AsyncSigner) {
  const pki = await createTestPki({
    endpoints: [
      { id: 'browser', roles: ['OPERATOR'] },
      { id: 'der', roles: ['VIEWER'] },
    ],
    keyType,
  });
  const hub = createMemoryHub();
  const key = await importNonExtractableKey(pki.identities.browser?.privateKey as string);
  const signer = signerOverride ? signerOverride(webCryptoSigner(key)) : webCryptoSigner(key);
  const common = { trust: pki.trust(), protection, acceptProtection: [protection] } as const;
  const browser = await createEndpoint({
    id: 'browser',
    identity: { certificate: pki.identities.browser?.certificate as string, signer },
    transport: hub.transport(),
    provider: createNobleProvider(),
    ...common,
    handshakeTimeoutMs: 1500,
  });
  const der = await createEndpoint({ id: 'der', identity: pki.identities.der as never, transport: hub.transport(), ...common });
  const inbox: Record<string, string[]> = { browser: [], der: [] };
  browser.on('message', (m) => inbox.browser?.push(`${m.from}:${m.roles.join(',')}:${dec(m.data)}`));
  der.on('message', (m) => inbox.der?.push(`${m.from}:${m.roles.join(',')}:${dec(m.data)}`));
  return { pki, key, signer, browser, der, inbox, close: () => Promise.all([browser.close(), der.close()]) };
}

for (const keyType of ['p256', 'p384', 'ed25519'] as const)
  for (const protection of ['integrity', 'confidentiality'] as const)
    test(`[SPEC 10.6] a non-extractable WebCrypto ${keyType} key signs the ClearTokens (${protection}): as initiator and as responder`, async () => {
      const p = await pair(keyType, protection);
      try {
        assert.equal(p.key.extractable, false);
        await assert.rejects(webcrypto.subtle.exportKey('pkcs8', p.key as unknown as webcrypto.CryptoKey));
        // The signer's endpoint initiates (its HS_INIT signed asynchronously) …
        await p.browser.send('der', enc('setpoint 1'));
        await until(() => p.inbox.der?.length === 1, 5000, 'der got the setpoint');
        assert.deepEqual(p.inbox.der, ['browser:OPERATOR:setpoint 1']);
        await until(() => p.browser.sessions().length === 1, 5000, 'the session on the signer side');
        assert.equal(p.browser.sessions()[0]?.protection, protection);
        await p.der.send('browser', enc('telemetry 1'));
        await until(() => p.inbox.browser?.length === 1, 5000, 'browser got the telemetry');
        // A key update in that session (no signature needed) …
        await p.browser.rekey('der');
        await p.der.send('browser', enc('telemetry 2'));
        await until(() => p.inbox.browser?.length === 2, 5000, 'browser got telemetry after the key update');
        assert.deepEqual(p.inbox.browser, ['der:VIEWER:telemetry 1', 'der:VIEWER:telemetry 2']);
        // … and a handshake the other way: it responds (its HS_RESP signed asynchronously).
        const q = await pair(keyType, protection);
        try {
          await q.der.send('browser', enc('first from der'));
          await until(() => q.inbox.browser?.length === 1, 5000, 'browser answered the handshake and got the message');
          assert.deepEqual(q.inbox.browser, ['der:VIEWER:first from der']);
          assert.equal(q.browser.sessions()[0]?.peer, 'der');
          await q.browser.send('der', enc('reply'));
          await until(() => q.inbox.der?.length === 1, 5000, 'der got the reply');
        } finally {
          await q.close();
        }
      } finally {
        await p.close();
      }
    });

test('[SPEC 10.6] a signer that does not hold the leaf key is refused at start-up (ERR_KEY_MISMATCH)', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'a' }, { id: 'b' }] });
  const other = webCryptoSigner(await importNonExtractableKey(pki.identities.b?.privateKey as string));
  const base = { id: 'a', trust: pki.trust(), transport: createMemoryHub().transport() };
  await assert.rejects(
    createEndpoint({ ...base, identity: { certificate: pki.identities.a?.certificate as string, signer: other } }),
    (e) => {
      assert.equal(codeOf(e), 'ERR_KEY_MISMATCH');
      return true;
    },
  );
  // The algorithm it claims must be the certificate key's.
  const liar: AsyncSigner = { signatureAlg: 'ed25519', sign: other.sign };
  await assert.rejects(
    loadSignerIdentity({ certificate: pki.identities.a?.certificate as string, signer: liar }, 'a'),
    (e) => codeOf(e) === 'ERR_KEY_MISMATCH',
  );
  await assert.rejects(
    createEndpoint({ ...base, identity: { certificate: pki.identities.a?.certificate as string, signer: {} as AsyncSigner } }),
    (e) => codeOf(e) === 'ERR_CONFIG',
  );
});

test('[SPEC 10.6] a signer that fails: the waiting sends fail with ERR_CONFIG and the next send starts again; one that hangs times out', async () => {
  let mode: 'ok' | 'fail' | 'hang' = 'ok';
  const p = await pair('p256', 'confidentiality', (s) => ({
    signatureAlg: s.signatureAlg,
    sign: (d) =>
      mode === 'fail' ? Promise.reject(new Error('token removed')) : mode === 'hang' ? new Promise(() => undefined) : s.sign(d),
  }));
  try {
    mode = 'fail';
    const r = await Promise.allSettled([p.browser.send('der', enc('a')), p.browser.send('der', enc('b'))]);
    assert.deepEqual(
      r.map((x) => (x.status === 'rejected' ? codeOf(x.reason) : 'ok')),
      ['ERR_CONFIG', 'ERR_CONFIG'],
    );
    assert.match(String((r[0] as PromiseRejectedResult).reason.message), /token removed/);
    mode = 'hang';
    await assert.rejects(p.browser.send('der', enc('c'), { confirm: true }), (e) => codeOf(e) === 'ERR_TIMEOUT');
    mode = 'ok';
    await p.browser.send('der', enc('d'));
    await until(() => (p.inbox.der?.length ?? 0) === 1, 5000, 'der got d');
    assert.deepEqual(p.inbox.der, ['browser:OPERATOR:d']);
  } finally {
    await p.close();
  }
});

test('[SPEC 10.6] an identity with a signer: groups signed by it are ERR_UNSUPPORTED; the synchronous initiate refuses it', async () => {
  const p = await pair('p256', 'confidentiality');
  try {
    await assert.rejects(p.browser.group('g'), (e) => codeOf(e) === 'ERR_UNSUPPORTED');
    const g = await p.browser.group('g2', { sourceAuth: 'none' });
    await g.close();
    const identity = await loadSignerIdentity(
      { certificate: p.pki.identities.browser?.certificate as string, signer: p.signer },
      'browser',
    );
    assert.equal(identity.privateKey.provider, 'signer');
    assert.throws(
      () =>
        initiate(
          {
            provider: createNobleProvider(),
            identity,
            verifier: { verify: () => Promise.reject(new Error('unused')) },
            suites: [],
            protection: 'confidentiality',
            acceptProtection: ['confidentiality'],
            replayCache: undefined as never,
          },
          'der',
          Date.now(),
        ),
      (e) => codeOf(e) === 'ERR_CONFIG',
    );
  } finally {
    await p.close();
  }
});

const pem = (der: Uint8Array): string =>
  `-----BEGIN CERTIFICATE-----\n${(
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END CERTIFICATE-----\n`;

test('[SPEC 10.6] a key generated inside WebCrypto (never bytes in script): its SPKI certified, it signs the handshake', async () => {
  // A CA of our own (so the leaf can be issued for a public key only), shared with a test PKI for the peer.
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = encodeName('hopsafe test CA for generated keys');
  const now = Date.now();
  const validity = { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 86_400_000) };
  const caDer = issueCertificate(
    { subject: caName, issuer: caName, ...validity, publicKey: ca.publicKey, ca: true, issuerSpki: spkiOf(ca.publicKey) },
    { key: ca.privateKey },
  );
  const pki = await createTestPki({
    endpoints: [{ id: 'der', roles: ['VIEWER'] }],
    ca: { certificate: pem(caDer), privateKey: ca.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
  });
  const generated = await generateNonExtractableKey('ecdsa-p256-sha256');
  assert.equal(generated.privateKey.extractable, false);
  await assert.rejects(webcrypto.subtle.exportKey('pkcs8', generated.privateKey as unknown as webcrypto.CryptoKey));
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', generated.publicKey as unknown as webcrypto.CryptoKey));
  const leaf = issueCertificate(
    {
      subject: encodeName('browser'),
      issuer: caName,
      ...validity,
      publicKey: spki,
      keyUsage: ['digitalSignature'],
      san: { endpointIds: ['browser'] },
      issuerSpki: spkiOf(ca.publicKey),
    },
    { key: ca.privateKey },
  );
  const hub = createMemoryHub();
  const trust = { roots: [pem(caDer)] };
  const browser = await createEndpoint({
    id: 'browser',
    identity: { certificate: pem(leaf), signer: webCryptoSigner(generated.privateKey) },
    trust,
    transport: hub.transport(),
  });
  const der = await createEndpoint({ id: 'der', identity: pki.identities.der as never, trust, transport: hub.transport() });
  try {
    const got: string[] = [];
    der.on('message', (m) => got.push(`${m.from}: ${dec(m.data)}`));
    await browser.send('der', enc('from a generated key'));
    await until(() => got.length === 1, 5000, 'der got the message');
    assert.deepEqual(got, ['browser: from a generated key']);
  } finally {
    await Promise.all([browser.close(), der.close()]);
  }
});
