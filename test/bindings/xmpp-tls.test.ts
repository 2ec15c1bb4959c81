/**
 * Hop-by-hop TLS for the XMPP binding against a private Prosody with openssl-made certificates for localhost
 * (test/support/prosody.ts `tls`: STARTTLS offered and required on c2s, direct TLS on a second port):
 * - direct TLS (xmpps://) with `tls: { ca, servername }`, in this process;
 * - STARTTLS (xmpp://), where @xmpp/client 0.14 takes no TLS options and the private CA comes from
 *   NODE_EXTRA_CA_CERTS: in a child process (test/support/xmpp-starttls-pair.ts).
 * Records are delivered over TLS; a server certificate from a CA the client does not trust is refused.
 * Skipped when Prosody or openssl is missing (fails under HOPSAFE_REQUIRE_SERVICES=1). [SPEC 8.4]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { xmppTransport, type XmppClientHandle, type XmppTransportOptions } from '../../src/bindings/xmpp.js';
import type { TransportStatus } from '../../src/transport/transport.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { refusedOpen } from '../support/transport-checks.js';
import { prosodyInstalled, startProsody, type RunningProsody } from '../support/prosody.js';
import { makeTlsFiles, opensslAvailable, type TlsFiles } from '../support/tls-certs.js';
import { requireOrSkip } from '../support/services.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IDS = ['der-1', 'control-center', 'der-9'];
let dir: string | undefined;
let files: TlsFiles | undefined;
let prosody: RunningProsody | undefined;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  if (!prosodyInstalled() || !opensslAvailable()) return;
  dir = mkdtempSync(join(tmpdir(), 'hopsafe-xmpps-'));
  files = makeTlsFiles(dir);
  prosody = await startProsody({
    users: IDS.map((id) => ({ username: id, password: `pw-${id}` })),
    tls: { cert: files.serverCert, key: files.serverKey },
  });
});
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  await prosody?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ready = (t: { skip(m?: string): void }): boolean =>
  requireOrSkip(t, 'Prosody (scripts/ci/install-prosody.sh) and openssl', prosody !== undefined && files !== undefined);

/** Prosody's log lines for streams it encrypted (one per client connection that completed TLS). */
const encryptedStreams = (p: RunningProsody): number =>
  p
    .log()
    .split('\n')
    .filter((l) => /Stream encrypted/.test(l)).length;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function openError(o: Omit<XmppTransportOptions, 'domain' | 'password'>): Promise<Error> {
  return refusedOpen(xmppTransport({ domain: 'localhost', password: 'pw-der-9', reconnectDelayMs: 100, ...o }), 'der-9', cleanup);
}

test('[SPEC 8.4] xmpps:// with tls { ca }: two endpoints handshake and exchange records over direct TLS, also after a reconnect', async (t) => {
  if (!ready(t)) return;
  const p = prosody!;
  const f = files!;
  const service = p.tlsService!;
  const handles: Record<string, XmppClientHandle> = {};
  const statuses: TransportStatus[] = [];
  const encryptedBefore = encryptedStreams(p);
  // ca as bytes for one endpoint, as a PEM string (with servername = the XMPP domain) for the other
  const c = await cast(['der-1', 'control-center'], {
    transport: (id) => {
      const tr = xmppTransport({
        service,
        domain: p.domain,
        password: `pw-${id}`,
        reconnectDelayMs: 50,
        tls: id === 'der-1' ? { ca: new Uint8Array(readFileSync(f.ca)) } : { ca: readFileSync(f.ca, 'utf8'), servername: 'localhost' },
        onClient: (h) => (handles[id] = h),
      });
      if (id === 'der-1') tr.onStatus?.((s) => statuses.push(s));
      return tr;
    },
  });
  cleanup.push(() => c.close());
  await c.eps['der-1']!.send('control-center', enc('P=4.2MW'));
  await c.eps['control-center']!.send('der-1', enc('setpoint'));
  await until(() => c.inbox['control-center']!.length === 1 && c.inbox['der-1']!.length === 1, 10_000, 'records over xmpps');
  assert.equal(text(c.inbox['control-center']![0]!), 'P=4.2MW');
  assert.equal(text(c.inbox['der-1']![0]!), 'setpoint');
  assert.ok(encryptedStreams(p) >= encryptedBefore + 2, `Prosody encrypted both streams:\n${p.log()}`);

  // A reconnect dials again with the same TLS options (the private CA still verifies the server).
  const socket = handles['der-1']?.socket as unknown as { socket?: { destroy(): void } } | null;
  assert.ok(socket?.socket !== undefined, 'direct TLS: @xmpp/tls socket wrapper around a TLSSocket');
  socket.socket.destroy();
  await until(() => statuses.includes('reconnecting'), 5000, 'der-1 noticed the broken connection');
  await until(() => statuses.at(-1) === 'connected', 10_000, 'der-1 reconnected over TLS');
  assert.ok(encryptedStreams(p) >= encryptedBefore + 3, 'the new connection is encrypted too');
  await c.eps['der-1']!.send('control-center', enc('after reconnect'));
  await until(() => c.inbox['control-center']!.length === 2, 10_000, 'a record after the reconnect');
  assert.equal(text(c.inbox['control-center']![1]!), 'after reconnect');
});

test('[SPEC 8.4] xmpps://: a server certificate from a CA the client does not trust is refused', async (t) => {
  if (!ready(t)) return;
  const p = prosody!;
  const f = files!;
  for (const [what, tls] of [
    ["Node's CA store only", undefined],
    ['another CA', { ca: readFileSync(f.strangerCa) }],
  ] as const) {
    const e = await openError({ service: p.tlsService!, ...(tls !== undefined ? { tls } : {}) });
    assert.ok(isHopsafeError(e) && e.code === 'ERR_TRANSPORT', `${what}: ${String(e)}`);
    assert.match(e.message, /certificate|altnames|verify/i, `${what}: says why`);
  }
});

test('[SPEC 8.4] tls options need xmpps:// (STARTTLS takes none) and cert goes with key → ERR_CONFIG', () => {
  const o = { domain: 'localhost', password: 'x' };
  assert.throws(
    () => xmppTransport({ ...o, service: 'xmpp://127.0.0.1:5222', tls: { ca: 'x' } }),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG' && /xmpps:\/\//.test(e.message) && /NODE_EXTRA_CA_CERTS/.test(e.message),
  );
  assert.throws(
    () => xmppTransport({ ...o, tls: { ca: 'x' } }),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG',
    'the default service is xmpp://',
  );
  assert.throws(
    () => xmppTransport({ ...o, service: 'xmpps://127.0.0.1:5223', tls: { cert: 'x' } }),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG' && /cert and tls.key/.test(e.message),
  );
});

/** Runs the STARTTLS pair in a child node with NODE_EXTRA_CA_CERTS=`ca` (or none); its one JSON line. */
function starttlsPair(
  service: string,
  ca: string | undefined,
): Promise<{ ok: boolean; code?: string; message?: string; received?: Record<string, string> }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  if (ca !== undefined) env.NODE_EXTRA_CA_CERTS = ca;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'test/support/xmpp-starttls-pair.ts', service, 'localhost'],
      { cwd: ROOT, env, timeout: 60_000 },
      (err, stdout, stderr) => {
        const line = stdout.trim().split('\n').at(-1) ?? '';
        try {
          resolve(JSON.parse(line) as { ok: boolean });
        } catch {
          reject(new Error(`child printed no result (${err?.message ?? 'exit 0'}): ${stdout}\n${stderr}`));
        }
      },
    );
  });
}

test('[SPEC 8.4] xmpp:// on a server requiring encryption: STARTTLS with the CA from NODE_EXTRA_CA_CERTS delivers records; with another CA the login is refused', async (t) => {
  if (!ready(t)) return;
  const p = prosody!;
  const f = files!;
  const encryptedBefore = encryptedStreams(p);
  const ok = await starttlsPair(p.service, f.ca);
  assert.deepEqual(ok, { ok: true, received: { 'der-1': 'setpoint', 'control-center': 'P=4.2MW' } }, JSON.stringify(ok));
  // c2s_require_encryption: Prosody lets no client log in on that port without TLS, and it logged the upgrades
  assert.ok(encryptedStreams(p) >= encryptedBefore + 2, `Prosody encrypted both streams:\n${p.log()}`);
  for (const [what, ca] of [
    ['another CA', f.strangerCa],
    ["Node's CA store only", undefined],
  ] as const) {
    const refused = await starttlsPair(p.service, ca);
    assert.equal(refused.ok, false, `${what}: ${JSON.stringify(refused)}`);
    assert.equal(refused.code, 'ERR_TRANSPORT', `${what}: ${JSON.stringify(refused)}`);
    assert.match(refused.message ?? '', /certificate|verify/i, `${what}: says why`);
  }
});
