/**
 * CLI error messages (issue 16, second trial): a bad file or value names the option that gave it, a refusal does
 * not repeat its code in words, a missing file is "no such file" (never a raw ENOENT text or a stack), and a
 * missing required option is a usage error (exit 2). Nothing here needs a broker: every case fails before connecting.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliPeerFixture } from '../support/cli-peer.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('error messages name the option, say what is wrong once, and exit 1 (fatal) or 2 (usage)', async () => {
  const fx = await cliPeerFixture(['em-a', 'em-b']);
  dirs.push(fx.dir);
  const f = (name: string): string => join(fx.dir, name);
  writeFileSync(f('creds.json'), '{not json');
  const pkiDir = f('pki');
  assert.equal(spawnSync(process.execPath, [MAIN, 'pki', 'init', '--dir', pkiDir, '--endpoint', 'em-c'], { encoding: 'utf8' }).status, 0);
  // --url: a port nobody listens on — every case below must fail before the connection is tried
  const peer = (id: string, over: Record<string, string> = {}, extra: string[] = []): string[] => {
    const args = fx.args(id, 'mqtt://127.0.0.1:9');
    for (const [flag, v] of Object.entries(over)) args[args.indexOf(flag) + 1] = v;
    return ['peer', ...args, ...extra];
  };
  const cases: { args: string[]; status: 1 | 2; stderr: RegExp }[] = [
    {
      args: peer('em-a', {}, ['--crl', f('ca.pem')]),
      status: 1,
      stderr: /^hopsafe: ERR_MALFORMED: --crl \S+ca\.pem: unexpected PEM label CERTIFICATE \(expected X509 CRL\)$/,
    },
    {
      args: peer('em-a', { '--trust': f('em-a.key') }),
      status: 1,
      stderr: /^hopsafe: ERR_MALFORMED: --trust \S+em-a\.key: unexpected PEM label PRIVATE KEY \(expected CERTIFICATE\)$/,
    },
    {
      args: peer('em-a', { '--cert': f('em-a.key') }),
      status: 1,
      stderr: /^hopsafe: ERR_MALFORMED: --cert \S+em-a\.key: unexpected PEM label/,
    },
    {
      args: peer('em-a', {}, ['--prefix', 'a/#']),
      status: 2,
      stderr: /^hopsafe peer: --prefix "a\/#": MQTT topic prefix must be .*\nsee 'hopsafe peer --help' for usage$/,
    },
    {
      args: peer('em-a', { '--key': f('em-b.key') }),
      status: 1,
      stderr: /^hopsafe: ERR_KEY_MISMATCH: --key \S+em-b\.key: private key does not match certificate "[^"]+" \(--cert \S+em-a\.pem\)$/,
    },
    {
      args: peer('em-b', { '--cert': f('em-a.pem'), '--key': f('em-a.key') }),
      status: 1,
      stderr: /^hopsafe: ERR_CERT_NAME: --cert \S+em-a\.pem: certificate "[^"]+" does not name endpoint "em-b" \(--id em-b\)$/,
    },
    { args: ['pki', 'show', f('nope.pem')], status: 1, stderr: /^hopsafe pki: ERR_CONFIG: show \S+nope\.pem: no such file$/ },
    {
      args: ['pki', 'revoke', '--dir', pkiDir, '--id', 'nobody'],
      status: 1,
      stderr: /^hopsafe pki: ERR_CONFIG: revoke --id nobody: no certificate \S+nobody\.pem \(no such file\)$/,
    },
    {
      args: ['pki', 'init', '--endpoint', 'x'],
      status: 2,
      stderr: /^hopsafe pki: init: --dir is required\nsee 'hopsafe pki --help' for usage$/,
    },
    {
      args: [
        'bridge',
        '--side',
        'a=mqtt://127.0.0.1:9',
        '--side',
        'b=mqtt://127.0.0.1:9',
        '--route',
        'x=a',
        '--id',
        'x',
        '--credentials',
        f('nope.json'),
      ],
      status: 1,
      stderr: /^hopsafe: ERR_CONFIG: --credentials \S+nope\.json: no such file$/,
    },
    {
      args: [
        'bridge',
        '--side',
        'a=mqtt://127.0.0.1:9',
        '--side',
        'b=mqtt://127.0.0.1:9',
        '--route',
        'x=a',
        '--id',
        'x',
        '--credentials',
        f('creds.json'),
      ],
      status: 1,
      stderr: /^hopsafe: ERR_CONFIG: --credentials \S+creds\.json: not JSON/,
    },
  ];
  for (const c of cases) {
    const r = spawnSync(process.execPath, [MAIN, ...c.args], { encoding: 'utf8', input: '', timeout: 30_000 });
    const what = c.args.slice(0, 2).join(' ') + ` … → ${r.stderr}`;
    assert.equal(r.status, c.status, what);
    assert.match(r.stderr.trimEnd(), c.stderr, what);
    assert.doesNotMatch(r.stderr, /ENOENT|\n\s+at |ERR_[A-Z_]+: [a-z-]+: /, `no raw errno, stack or repeated code: ${what}`);
    assert.equal(r.stdout, '', what);
  }
});
