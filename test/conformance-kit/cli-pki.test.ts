/**
 * `hopsafe conformance` set-up (SPEC Annex C.1): exit status 3 when the IUT never answers, and `--pki DIR` holding
 * a vendor's CA (ca.pem + ca.key) and the IUT's own certificate: the kit issues under that CA, keeps those files,
 * and the echo peer (trusting only the vendor CA) passes the handshake and certificate cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePem } from '../../src/codec/pem.js';
import { encodeName, issueCertificate, spkiOf } from '../../src/pki/issue.js';
import { HOPSAFE_URI_PREFIX, ID_KP_CLIENT_AUTH, ID_KP_HOPSAFE_ENDPOINT, ID_KP_SERVER_AUTH } from '../../src/pki/oids.js';
import { selfTest } from '../../src/conformance/self-test.js';
import { selectCases } from '../../src/conformance/runner.js';

const CLI = existsSync('dist/cli/main.js') ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
const DAY = 86_400_000;
const p256 = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const pkcs8 = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }).toString();

test('exit status 3 when the IUT never answers (--wait), after writing its PKI files', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopsafe-conf-exit3-'));
  try {
    const t0 = Date.now();
    const r = spawnSync(
      process.execPath,
      [
        ...CLI,
        'conformance',
        '--iut',
        'nobody-answers',
        '--broker-port',
        '0',
        '--pki',
        join(dir, 'pki'),
        '--report',
        join(dir, 'report'),
        '--wait',
        '2',
        '--timeout',
        '1',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /nobody-answers did not answer within 2 s/);
    assert.ok(Date.now() - t0 < 20_000);
    for (const f of ['ca.pem', 'crl.pem', 'nobody-answers.pem', 'nobody-answers.key', 'kit.json'])
      assert.ok(existsSync(join(dir, 'pki', f)), f);
    assert.equal(existsSync(join(dir, 'report', 'report.json')), false, 'no report without an IUT');
    assert.equal(spawnSync(process.execPath, [...CLI, 'conformance', '--iut', 'x', '--wait', '0'], { encoding: 'utf8' }).status, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--pki DIR with a vendor CA and the IUT certificate: the kit issues under it, keeps the files, the cases pass', {
  timeout: 90_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopsafe-conf-vendor-'));
  try {
    const now = Date.now();
    const caKey = p256();
    const caName = encodeName('vendor test root', 'ACME DER vendor');
    const caDer = issueCertificate(
      { subject: caName, issuer: caName, notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY), publicKey: caKey, ca: true },
      { key: caKey },
    );
    const iutKey = p256();
    const iutDer = issueCertificate(
      {
        subject: encodeName('hopsafe-echo', 'ACME DER vendor'),
        issuer: caName,
        notBefore: new Date(now - DAY),
        notAfter: new Date(now + 30 * DAY),
        publicKey: iutKey,
        keyUsage: ['digitalSignature'],
        extKeyUsage: [ID_KP_HOPSAFE_ENDPOINT, ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH],
        san: { uris: [`${HOPSAFE_URI_PREFIX}hopsafe-echo`], endpointIds: ['hopsafe-echo'] },
        issuerSpki: spkiOf(caKey),
      },
      { key: caKey },
    );
    const files = {
      'ca.pem': encodePem('CERTIFICATE', caDer),
      'ca.key': pkcs8(caKey),
      'hopsafe-echo.pem': encodePem('CERTIFICATE', iutDer),
      'hopsafe-echo.key': pkcs8(iutKey),
    };
    for (const [f, c] of Object.entries(files)) await writeFile(join(dir, f), c);
    const lines: string[] = [];
    const cases = '1.1.1,2.1.1,5.1.*';
    const r = await selfTest({ pkiDir: dir, cases, variants: [], timeoutMs: 2000, log: (l) => lines.push(l) });
    assert.deepEqual(
      r.echo.cases.filter((c) => c.outcome !== 'pass').map((c) => `${c.id}: ${c.reason}`),
      [],
    );
    assert.equal(r.echo.cases.length, selectCases(cases).length);
    assert.ok(
      lines.some((l) => /issuing under the CA in .*; the IUT's certificate from hopsafe-echo\.pem/.test(l)),
      'the kit says it uses the vendor CA',
    );
    for (const [f, c] of Object.entries(files)) assert.equal(await readFile(join(dir, f), 'utf8'), c, `${f} left as the vendor wrote it`);
    // the revoked-certificate case passed: the CRL the kit wrote is signed by the vendor CA (the IUT loads it)
    assert.match(await readFile(join(dir, 'crl.pem'), 'utf8'), /BEGIN X509 CRL/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
