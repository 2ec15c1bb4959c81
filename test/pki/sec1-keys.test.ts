/**
 * [SPEC 4.4, 10.6] Keys as people have them: SEC1 `EC PRIVATE KEY` (what `openssl ecparam -genkey` writes, with or
 * without the EC PARAMETERS block) and PKCS#8, for both providers; refused forms name the conversion command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createTestPki } from '../../src/testing/index.js';
import { loadIdentity, loadPrivateKey } from '../../src/pki/index.js';
import { privateKeyPkcs8 } from '../../src/pki/private-key.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { isHopsafeError } from '../../src/errors/index.js';

const providers = [createNodeProvider(), createNobleProvider()];

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8' });
}

test('[SPEC 4.4] openssl ecparam keys (P-256, P-384; with and without EC PARAMETERS) load and sign with both providers', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-sec1-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const curve of ['prime256v1', 'secp384r1']) {
    for (const noout of [true, false]) {
      const file = join(dir, `${curve}-${noout}.pem`);
      openssl('ecparam', '-genkey', '-name', curve, ...(noout ? ['-noout'] : []), '-out', file);
      const pem = readFileSync(file, 'utf8');
      assert.match(pem, /BEGIN EC PRIVATE KEY/);
      if (!noout) assert.match(pem, /BEGIN EC PARAMETERS/);
      const pub = createPublicKey(createPrivateKey(pem));
      assert.deepEqual(loadPrivateKey(pem).asymmetricKeyDetails?.namedCurve, curve);
      for (const p of providers) {
        const sk = p.importPrivateKey(privateKeyPkcs8(pem));
        const msg = new TextEncoder().encode(`hello ${curve}`);
        const sig = p.sign(sk, msg);
        const hash = curve === 'prime256v1' ? 'sha256' : 'sha384';
        const ok = verify(hash, msg, { key: pub, dsaEncoding: 'ieee-p1363' }, sig) || verify(hash, msg, pub, sig);
        assert.ok(ok, `${p.name}: the signature verifies under the key OpenSSL derives from the SEC1 file`);
      }
    }
  }
});

test('[SPEC 10.6] an identity whose key is given as SEC1 loads (key matches the leaf) with both providers', async () => {
  const pki = await createTestPki({ endpoints: [{ id: 'der-1' }] });
  const id = pki.identities['der-1']!;
  const sec1 = createPrivateKey(id.privateKey).export({ format: 'pem', type: 'sec1' }) as string;
  assert.match(sec1, /BEGIN EC PRIVATE KEY/);
  for (const provider of providers) {
    const local = loadIdentity({ certificate: id.certificate, privateKey: sec1 }, 'der-1', { provider });
    assert.equal(local.id, 'der-1');
  }
});

test('[SPEC 4.4] a refused key says how to convert it, and never shows key bytes', () => {
  const rsa = openssl('genrsa', '2048').trim();
  const labels: [string, RegExp][] = [
    [rsa.includes('BEGIN RSA PRIVATE KEY') ? rsa : rsa.replace(/PRIVATE KEY/g, 'RSA PRIVATE KEY'), /openssl pkcs8 -topk8 -nocrypt/],
    ['-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n', /decrypt it first/],
  ];
  for (const [pem, hint] of labels) {
    assert.throws(
      () => privateKeyPkcs8(pem),
      (e: unknown) => {
        assert.ok(isHopsafeError(e));
        assert.match(e.message, hint);
        const body = pem.split('\n').slice(1, 2)[0] ?? '';
        assert.ok(!e.message.includes(body.slice(0, 20)), 'no key bytes in the message');
        return true;
      },
    );
  }
});

test('[SPEC 4.4] property: SEC1 → PKCS#8 keeps the key (same public key as OpenSSL derives from the SEC1 PEM)', () => {
  fc.assert(
    fc.property(fc.constantFrom('prime256v1', 'secp384r1'), (curve) => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const sec1 = privateKey.export({ format: 'pem', type: 'sec1' }) as string;
      const p8 = privateKeyPkcs8(sec1);
      const a = createPublicKey(createPrivateKey({ key: Buffer.from(p8), format: 'der', type: 'pkcs8' })).export({
        format: 'der',
        type: 'spki',
      });
      const b = createPublicKey(createPrivateKey(sec1)).export({ format: 'der', type: 'spki' });
      assert.deepEqual(a, b);
    }),
    { numRuns: 50 },
  );
});
