/**
 * `hopsafe peer --url tls://…` with --broker-ca, --username and --password (or HOPSAFE_BROKER_PASSWORD), and with a
 * client certificate (--broker-cert/--broker-key) where the server requires one, against private nats-servers this
 * file starts itself (test/support/nats.ts startSecureNats: own configs, free ports, temp dir; never the system
 * server). Two peer processes exchange a message; a wrong password or CA ends the command with one ERR_TRANSPORT line,
 * no stack trace and no password. Skipped when nats-server or openssl is missing (fails under
 * HOPSAFE_REQUIRE_SERVICES=1). [SPEC 8.11]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { opensslAvailable } from '../support/tls-certs.js';
import { natsServerBinary, startSecureNats, type SecureNats } from '../support/nats.js';
import { requireOrSkip } from '../support/services.js';
import { cliPeerFixture, startCliPeer, type CliPeer, oneMessageThenExit } from '../support/cli-peer.js';

const binary = natsServerBinary();
const tools = binary !== undefined && opensslAvailable();
// A leading letter: a base64url password may start with '-', which parseArgs reads as an option.
const PASSWORD = `p${randomBytes(9).toString('base64url')}`;
let servers: SecureNats | undefined;
const started: CliPeer[] = [];
const dirs: string[] = [];

before(async () => {
  if (tools)
    servers = await startSecureNats(binary!, { 'der-1': PASSWORD, 'control-center': PASSWORD }, `t${randomBytes(9).toString('base64url')}`);
});
after(async () => {
  for (const p of started) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill();
  await servers?.stop();
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
  for (const secret of [PASSWORD, servers!.token]) {
    assert.ok(!p.stdout().includes(secret), 'no secret on stdout');
    assert.ok(!p.stderr().includes(secret), 'no secret on stderr');
  }
}

const skip = (t: { skip(m?: string): void }): boolean => requireOrSkip(t, 'nats-server and openssl', tools && servers !== undefined);

test('[SPEC 8.11] hopsafe peer --url tls://… --broker-ca --username, the password by flag or environment: a message between two peers', async (t) => {
  if (!skip(t)) return;
  const s = servers!;
  const fx = await cliPeerFixture(['der-1', 'control-center']);
  dirs.push(fx.dir);
  const url = `tls://127.0.0.1:${s.tlsPass.port}?jetstream=true&storage=memory&prefix=hopsafe-clitls-${randomBytes(3).toString('hex')}`;
  const der = startCliPeer(
    [...fx.args('der-1', url), '--broker-ca', s.files.ca, '--username', 'der-1'],
    env({ HOPSAFE_BROKER_PASSWORD: PASSWORD }),
  );
  const cc = startCliPeer(
    [...fx.args('control-center', url), '--broker-ca', s.files.ca, '--username', 'control-center', '--password', PASSWORD],
    env(),
  );
  started.push(der, cc);
  await oneMessageThenExit(der, 'der-1', cc, 'control-center');
  noSecrets(der);
  noSecrets(cc);
});

test('[SPEC 8.11] hopsafe peer over NATS TLS: a wrong password, another CA, or no client certificate where one is required → exit 1, one ERR_TRANSPORT line naming why, no stack, no secret', async (t) => {
  if (!skip(t)) return;
  const s = servers!;
  const fx = await cliPeerFixture(['der-1']);
  dirs.push(fx.dir);
  const url = `tls://127.0.0.1:${s.tlsPass.port}`;
  const mtls = `tls://127.0.0.1:${s.mtlsToken.port}`;
  const cases: Array<[string, string[], RegExp]> = [
    [
      'wrong password',
      [...fx.args('der-1', url), '--broker-ca', s.files.ca, '--username', 'der-1', '--password', `${PASSWORD}x`],
      /^hopsafe: ERR_TRANSPORT: .*Authorization Violation/m,
    ],
    [
      'another CA',
      [...fx.args('der-1', url), '--broker-ca', s.files.strangerCa, '--username', 'der-1', '--password', PASSWORD],
      /^hopsafe: ERR_TRANSPORT: .*certificate/m,
    ],
    [
      'no client certificate',
      [...fx.args('der-1', mtls), '--broker-ca', s.files.ca],
      /^hopsafe: ERR_TRANSPORT: .*without retries: .*(certificate|ECONNRESET)/m,
    ],
  ];
  for (const [what, args, reason] of cases) {
    const p = startCliPeer(args, env());
    started.push(p);
    p.proc.stdin.end();
    assert.equal(await p.exit, 1, `${what}: ${p.stderr()}`);
    assert.match(p.stderr(), reason, what);
    assert.doesNotMatch(p.stderr(), /^\s+at /m, `${what}: no stack trace`);
    noSecrets(p);
  }
});
