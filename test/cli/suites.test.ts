/**
 * Suites on the command line (issue 23): `hopsafe pki` keys work with every suite — a key of each --key-type signs
 * the handshake in every suite, the post-quantum X25519MLKEM768 ones included (SPEC 4.1-4.3: the ML-KEM key is
 * ephemeral, never in a certificate) —, and `pki init --suite` prints `hopsafe peer` command lines that negotiate
 * the first suite they list. [SPEC 4.1, 4.2, 4.3, 5.5, 10.6]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as pki } from '../../src/cli/pki.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { startBroker } from '../../src/broker/index.js';
import { SUITES } from '../../src/crypto/suites.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { startCliPeer, type CliPeer } from '../support/cli-peer.js';
import { capture } from '../support/cli-io.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'hopsafe-suites-'));
  dirs.push(d);
  return d;
}
const provider = createNodeProvider();
const RUNNABLE = SUITES.filter((s) => provider.supportsGroup(s.group) && provider.supportsAead(s.aead));

for (const keyType of ['p256', 'p384', 'ed25519', 'rsa'] as const) {
  test(`hopsafe pki --key-type ${keyType}: the identities complete a session in every suite (${RUNNABLE.length}), hybrid included`, async () => {
    const dir = tmp();
    const c = capture();
    assert.equal(
      await pki(['init', '--dir', dir, '--endpoint', 'cc', '--endpoint', 'der-1', '--key-type', keyType], c.io),
      0,
      c.err.join('\n'),
    );
    const identity = (id: string) => ({
      certificate: readFileSync(join(dir, `${id}.pem`), 'utf8'),
      privateKey: readFileSync(join(dir, `${id}.key`), 'utf8'),
    });
    const trust = { roots: [readFileSync(join(dir, 'ca.pem'), 'utf8')], crls: [readFileSync(join(dir, 'crl.pem'), 'utf8')] };
    const hub = createMemoryHub();
    const negotiated: string[] = [];
    for (const s of RUNNABLE) {
      const suites = [s.name];
      const cc = await createEndpoint({ id: 'cc', identity: identity('cc'), trust, transport: hub.transport(), suites });
      const der = await createEndpoint({ id: 'der-1', identity: identity('der-1'), trust, transport: hub.transport(), suites });
      try {
        const got = new Promise<Uint8Array>((r) => cc.on('message', (m) => r(m.data)));
        const session = new Promise<string>((r) => der.on('session', (x) => r(x.suite)));
        await der.send('cc', new TextEncoder().encode(`hello in ${s.name}`));
        assert.equal(new TextDecoder().decode(await got), `hello in ${s.name}`);
        negotiated.push(await session);
      } finally {
        await der.close();
        await cc.close();
      }
    }
    assert.deepEqual(
      negotiated,
      RUNNABLE.map((s) => s.name),
    );
    assert.ok(negotiated.includes('X25519MLKEM768_AES256GCM_SHA384') && negotiated.includes('X25519MLKEM768_CHACHA20POLY1305_SHA256'));
  });
}

test('hopsafe pki init --suite: prints a hopsafe peer command line per endpoint; run as printed, the peers negotiate the first suite', {
  timeout: 90_000,
}, async () => {
  const dir = tmp();
  const c = capture();
  const suites = ['X25519MLKEM768_AES256GCM_SHA384', 'X25519_AES128GCM_SHA256'];
  const rc = await pki(
    ['init', '--dir', dir, '--endpoint', 'cc', '--endpoint', 'der-1', '--key-type', 'ed25519', ...suites.flatMap((s) => ['--suite', s])],
    c.io,
  );
  assert.equal(rc, 0, c.err.join('\n'));
  const commands = c.out.filter((l) => l.startsWith('hopsafe peer '));
  assert.equal(commands.length, 2, c.out.join('\n'));
  for (const [i, id] of ['cc', 'der-1'].entries())
    assert.equal(
      commands[i],
      `hopsafe peer --id ${id} --cert ${join(dir, `${id}.pem`)} --key ${join(dir, `${id}.key`)} --trust ${join(dir, 'ca.pem')} --crl ${join(dir, 'crl.pem')} --suite ${suites[0]} --suite ${suites[1]} --url URL`,
    );
  const broker = await startBroker();
  const peers: CliPeer[] = [];
  try {
    // the temp dir has no spaces: the printed line splits on them as a shell would
    const argv = (line: string): string[] => line.replace('--url URL', `--url ${broker.url}`).split(' ').slice(2);
    const cc = startCliPeer(argv(commands[0] as string));
    peers.push(cc);
    await cc.next((e) => e.event === 'ready');
    const der = startCliPeer(argv(commands[1] as string));
    peers.push(der);
    await der.next((e) => e.event === 'ready');
    der.write({ to: 'cc', data: Buffer.from('hybrid hello').toString('base64') });
    const m = await cc.next((e) => e.event === 'message');
    assert.equal(Buffer.from(String(m.data), 'base64').toString(), 'hybrid hello');
    for (const p of [cc, der]) {
      const s = await p.next((e) => e.event === 'session');
      assert.equal(s.suite, 'X25519MLKEM768_AES256GCM_SHA384');
    }
  } finally {
    for (const p of peers) {
      p.proc.stdin.end(); // a peer without --until-signal closes when stdin ends
      await p.exit;
    }
    await broker.close();
  }
});

test('hopsafe pki --suite: an unknown or repeated suite is a usage error (exit 2), before anything is written', async () => {
  for (const bad of [
    ['--suite', 'X25519_NOPE'],
    ['--suite', 'X25519_AES128GCM_SHA256', '--suite', 'X25519_AES128GCM_SHA256'],
  ]) {
    const dir = join(tmp(), 'pki');
    const c = capture();
    assert.equal(await pki(['init', '--dir', dir, '--endpoint', 'a', ...bad], c.io), 2, bad.join(' '));
    assert.match(c.err.join('\n'), /^hopsafe pki: --suite[^\n]*\nsee 'hopsafe pki --help' for usage$/);
    assert.throws(() => readFileSync(join(dir, 'ca.pem')), /ENOENT/, 'nothing written');
  }
  const help = capture();
  assert.equal(await pki(['--help'], help.io), 0);
  assert.match(help.out.join('\n'), /Keys and suites are independent/);
  for (const l of help.out.join('\n').split('\n')) assert.ok(l.length <= 80, l);
});
