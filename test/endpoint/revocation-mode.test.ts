/** crlMode at the endpoint (issue 15 item 6): 'require' refuses a certificate without a current CRL from its issuer. [SPEC 10.5] */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../support/endpoints.js';
import { createTestPki } from '../../src/testing/index.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { utf8 } from '../../src/bytes/index.js';

test('[SPEC 10.5] crlMode require without a CRL from the issuer: the endpoint refuses to start (its own chain is checked the same way)', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'cc' }] });
  await assert.rejects(
    createEndpoint({
      id: 'cc',
      identity: pki.identities.cc!,
      trust: { roots: pki.roots },
      transport: createMemoryHub().transport(),
      crlMode: 'require',
    }),
    (e) => isHopsafeError(e) && e.code === 'ERR_CERT_REVOKED',
  );
});

test('[SPEC 10.5] crlMode require with the current CRL: sessions work; a revoked certificate cannot start an endpoint', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'cc' }, { id: 'der-1' }, { id: 'der-2' }] });
  const crl = pki.revoke('der-2');
  const hub = createMemoryHub();
  const mk = (id: string) =>
    createEndpoint({
      id,
      identity: pki.identities[id]!,
      trust: { roots: pki.roots, crls: [crl] },
      transport: hub.transport(),
      crlMode: 'require',
      handshakeTimeoutMs: 500,
    });
  const cc = await mk('cc');
  const der1 = await mk('der-1');
  const got: string[] = [];
  const codes: string[] = [];
  cc.on('message', (m) => got.push(new TextDecoder().decode(m.data)));
  cc.on('reject', (r) => codes.push(r.code));
  try {
    await der1.send('cc', utf8('with the CRL'));
    await until(() => got.length === 1);
    assert.equal(got[0], 'with the CRL');
    await assert.rejects(
      createEndpoint({
        id: 'der-2',
        identity: pki.identities['der-2']!,
        trust: { roots: pki.roots, crls: [crl] },
        transport: hub.transport(),
        crlMode: 'require',
      }),
      (e) => isHopsafeError(e) && e.code === 'ERR_CERT_REVOKED',
    );
  } finally {
    await Promise.all([cc.close(), der1.close()]);
  }
});
