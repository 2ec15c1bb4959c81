/** `hopsafe pki` CLI, in-process and as a child process. [SPEC 10.6] */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { run } from '../../src/cli/pki.js';
import { createTrustStore, loadIdentity } from '../../src/pki/index.js';
import { rejectsWith } from '../support/pki.js';
import { capture } from '../support/cli-io.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'hopsafe-pki-'));
  dirs.push(d);
  return d;
}
const read = (dir: string, f: string): string => readFileSync(join(dir, f), 'utf8');

test('init → files, modes, usable identities with roles; issue; revoke; show', async () => {
  const dir = tmp();
  const c = capture();
  const rc = await run(
    ['init', '--dir', dir, '--endpoint', 'control-center:OPERATOR,SECAUD', '--endpoint', 'der-17:VIEWER', '--intermediate'],
    c.io,
  );
  assert.equal(rc, 0, c.err.join('\n'));
  for (const f of [
    'ca.pem',
    'ca.key',
    'intermediate.pem',
    'intermediate.key',
    'control-center.pem',
    'control-center.key',
    'der-17.pem',
    'der-17.key',
    'crl.pem',
  ])
    assert.ok(existsSync(join(dir, f)), f);
  for (const f of ['ca.key', 'intermediate.key', 'control-center.key', 'der-17.key'])
    assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);

  const store = createTrustStore({ roots: [read(dir, 'ca.pem')], crls: [read(dir, 'crl.pem')] });
  const now = new Date();
  const cc = loadIdentity({ certificate: read(dir, 'control-center.pem'), privateKey: read(dir, 'control-center.key') }, 'control-center');
  assert.equal(cc.chain.length, 2);
  const peer = await store.verify({ chain: cc.chain, claimedId: 'control-center', now });
  assert.deepEqual(
    peer.roles.map((r) => r.role),
    ['OPERATOR', 'SECAUD'],
  );

  // refuses to overwrite keys without --force
  const again = capture();
  assert.equal(await run(['init', '--dir', dir, '--endpoint', 'der-17:VIEWER'], again.io), 1);
  assert.match(again.err.join('\n'), /refusing to overwrite/);
  assert.equal(await run(['issue', '--dir', dir, '--endpoint', 'der-17:ENGINEER'], capture().io), 1);
  assert.equal(await run(['issue', '--dir', dir, '--endpoint', 'der-17:ENGINEER', '--force'], capture().io), 0);
  assert.equal(await run(['issue', '--dir', dir, '--endpoint', 'meter-9:dso=-3'], capture().io), 0);
  const der = loadIdentity({ certificate: read(dir, 'der-17.pem'), privateKey: read(dir, 'der-17.key') }, 'der-17');
  assert.deepEqual(
    (await store.verify({ chain: der.chain, claimedId: 'der-17', now })).roles.map((r) => r.role),
    ['ENGINEER'],
  );

  // revoke re-signs the CRL and keeps earlier entries
  assert.equal(await run(['revoke', '--dir', dir, '--id', 'der-17'], capture().io), 0);
  assert.equal(await run(['revoke', '--dir', dir, '--id', 'meter-9'], capture().io), 0);
  store.updateTrust({ crls: [read(dir, 'crl.pem')] });
  await rejectsWith(store.verify({ chain: der.chain, claimedId: 'der-17', now }), 'ERR_CERT_REVOKED');
  const meter = loadIdentity({ certificate: read(dir, 'meter-9.pem'), privateKey: read(dir, 'meter-9.key') }, 'meter-9');
  await rejectsWith(store.verify({ chain: meter.chain, claimedId: 'meter-9', now }), 'ERR_CERT_REVOKED');
  await store.verify({ chain: cc.chain, claimedId: 'control-center', now });

  const show = capture();
  assert.equal(await run(['show', join(dir, 'control-center.pem')], show.io), 0);
  const text = show.out.join('\n');
  for (const s of [
    'subject: O=hopsafe, CN=control-center',
    'URI:urn:hopsafe:endpoint:control-center',
    'OPERATOR(1)',
    'SECAUD(5)',
    'keyUsage: digitalSignature',
    'clientAuth',
    'sha256 fingerprint: ' + peer.fingerprint,
  ])
    assert.ok(text.includes(s), `show output lacks ${s}:\n${text}`);
  const showCrl = capture();
  assert.equal(await run(['show', join(dir, 'crl.pem')], showCrl.io), 0);
  assert.match(showCrl.out.join('\n'), /revoked: [0-9a-f]+ .*, [0-9a-f]+/);
});

test('usage errors exit 2, bad values exit 1', async () => {
  assert.equal(await run([], capture().io), 2);
  assert.equal(await run(['frobnicate'], capture().io), 2);
  assert.equal(await run(['init', '--bogus'], capture().io), 2);
  const c = capture();
  assert.equal(await run(['init', '--dir', tmp(), '--endpoint', 'a:NOPE'], c.io), 1);
  assert.match(c.err.join('\n'), /ERR_CONFIG: unknown role "NOPE"/);
  assert.equal(await run(['init', '--dir', tmp(), '--endpoint', 'bad/id'], capture().io), 1);
  assert.equal(await run(['init', '--dir', tmp(), '--endpoint', 'a', '--key-type', 'dsa'], capture().io), 1);
  assert.equal(await run(['revoke', '--dir', tmp(), '--id', 'a'], capture().io), 1);
});

test('child process: node --import tsx src/cli/main.ts pki init/show', async () => {
  const dir = tmp();
  const exec = promisify(execFile);
  const args = [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'pki',
    'init',
    '--dir',
    dir,
    '--endpoint',
    'a:ENGINEER',
    '--key-type',
    'ed25519',
    '--days',
    '10',
  ];
  const r = await exec(process.execPath, args, { cwd: join(import.meta.dirname, '../..') });
  assert.match(r.stdout, /trust anchor/);
  const show = await exec(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'pki', 'show', join(dir, 'a.pem')], {
    cwd: join(import.meta.dirname, '../..'),
  });
  assert.match(show.stdout, /key: +ed25519/);
  assert.match(show.stdout, /ENGINEER\(2\)/);
  await assert.rejects(
    exec(process.execPath, args, { cwd: join(import.meta.dirname, '../..') }),
    (e: { code?: number; stderr?: string }) => e.code === 1 && /--force/.test(e.stderr ?? ''),
  );
});
