/**
 * `hopsafe peer --broker-ca/--broker-cert/--broker-key/--username/--password` (and HOPSAFE_BROKER_USERNAME /
 * HOPSAFE_BROKER_PASSWORD) against a private Mosquitto this file starts itself, on its listener that requires both a
 * client certificate and a user's password. Two peer processes exchange a message; a flag wins over its environment
 * variable; the password appears in no output; a missing file is reported by flag name without a stack trace.
 * Skipped when mosquitto, mosquitto_passwd or openssl is missing (fails under HOPSAFE_REQUIRE_SERVICES=1). [SPEC 8.2]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { mosquittoBinary, mosquittoPasswdBinary, startSecureMosquitto, type SecureMosquitto } from '../support/mosquitto.js';
import { opensslAvailable } from '../support/tls-certs.js';
import { requireOrSkip } from '../support/services.js';
import { cliPeerFixture, startCliPeer, type CliPeer, oneMessageThenExit } from '../support/cli-peer.js';

const binary = mosquittoBinary();
const passwd = mosquittoPasswdBinary();
const tools = binary !== undefined && passwd !== undefined && opensslAvailable();
// A leading letter: a base64url password may start with '-', which parseArgs reads as an option (use --password=… then).
const PASSWORDS = { 'der-1': `p${randomBytes(9).toString('base64url')}`, 'control-center': `p${randomBytes(9).toString('base64url')}` };
let broker: SecureMosquitto | undefined;
const started: CliPeer[] = [];
const dirs: string[] = [];

before(async () => {
  if (tools) broker = await startSecureMosquitto(binary!, passwd!, PASSWORDS);
});
after(async () => {
  for (const p of started) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill();
  await broker?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** The environment without any HOPSAFE_BROKER_* of the caller's, plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e = { ...process.env };
  delete e.HOPSAFE_BROKER_USERNAME;
  delete e.HOPSAFE_BROKER_PASSWORD;
  return { ...e, ...extra };
}

function noSecrets(p: CliPeer): void {
  for (const secret of Object.values(PASSWORDS)) {
    assert.ok(!p.stdout().includes(secret), 'no password on stdout');
    assert.ok(!p.stderr().includes(secret), 'no password on stderr');
  }
}

test('[SPEC 8.2] hopsafe peer over mqtts with --broker-ca/--broker-cert/--broker-key and a broker password (flag or env; flag wins)', async (t) => {
  if (!requireOrSkip(t, 'mosquitto, mosquitto_passwd and openssl', tools && broker !== undefined)) return;
  const b = broker!;
  const fx = await cliPeerFixture(['der-1', 'control-center']);
  dirs.push(fx.dir);
  const tls = ['--broker-ca', b.tls.ca, '--broker-cert', b.tls.clientCert, '--broker-key', b.tls.clientKey];
  // der-1: user by flag, password by environment
  const der = startCliPeer(
    [...fx.args('der-1', b.tlsAuthUrl), ...tls, '--username', 'der-1'],
    env({ HOPSAFE_BROKER_PASSWORD: PASSWORDS['der-1'] }),
  );
  // control-center: user by environment; the environment's password is wrong, the flag's right (the flag wins)
  const cc = startCliPeer(
    [...fx.args('control-center', b.tlsAuthUrl), ...tls, '--password', PASSWORDS['control-center']],
    env({
      HOPSAFE_BROKER_USERNAME: 'control-center',
      HOPSAFE_BROKER_PASSWORD: 'wrong',
    }),
  );
  started.push(der, cc);
  await oneMessageThenExit(der, 'der-1', cc, 'control-center');
  noSecrets(der);
  noSecrets(cc);
});

test('[SPEC 8.2] hopsafe peer: a wrong broker password, no client certificate, a missing file or TLS flags on mqtt:// → exit 1 with a one-line reason, no stack, no password', async (t) => {
  if (!requireOrSkip(t, 'mosquitto, mosquitto_passwd and openssl', tools && broker !== undefined)) return;
  const b = broker!;
  const fx = await cliPeerFixture(['der-1']);
  dirs.push(fx.dir);
  const tls = ['--broker-ca', b.tls.ca, '--broker-cert', b.tls.clientCert, '--broker-key', b.tls.clientKey];
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    [
      'missing CA file',
      [...fx.args('der-1', b.tlsAuthUrl), '--broker-ca', 'nope.pem'],
      env(),
      /^hopsafe: ERR_CONFIG: --broker-ca nope\.pem: no such file$/m,
    ],
    [
      'missing key file',
      [...fx.args('der-1', b.tlsAuthUrl), '--broker-cert', b.tls.clientCert, '--broker-key', 'nope.key'],
      env(),
      /--broker-key nope\.key: no such file/,
    ],
    [
      'cert without key',
      [...fx.args('der-1', b.tlsAuthUrl), '--broker-cert', b.tls.clientCert],
      env(),
      /--broker-cert and --broker-key go together/,
    ],
    ['TLS flags on mqtt://', [...fx.args('der-1', b.authUrl), '--broker-ca', b.tls.ca], env(), /need a TLS URL/],
    [
      'wrong password',
      [...fx.args('der-1', b.tlsAuthUrl), ...tls, '--username', 'der-1'],
      env({ HOPSAFE_BROKER_PASSWORD: `${PASSWORDS['der-1']}x` }),
      /ERR_TRANSPORT: .*not authorized/i,
    ],
    [
      'no client certificate',
      [...fx.args('der-1', b.tlsAuthUrl), '--broker-ca', b.tls.ca, '--username', 'der-1', '--password', PASSWORDS['der-1']],
      env(),
      /ERR_TRANSPORT: .*(certificate|alert|handshake)/i,
    ],
  ];
  for (const [what, args, e, reason] of cases) {
    const p = startCliPeer(args, e);
    started.push(p);
    p.proc.stdin.end();
    assert.equal(await p.exit, 1, `${what}: ${p.stderr()}`);
    assert.match(p.stderr(), reason, what);
    assert.doesNotMatch(p.stderr(), /^\s+at /m, `${what}: no stack trace`);
    noSecrets(p);
  }
});
