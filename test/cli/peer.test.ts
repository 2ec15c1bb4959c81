import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startBroker } from '../../src/broker/index.js';
import { sample, samples } from '../support/prometheus.js';
import { cliPeerFixture, startCliPeer, type CliPeer } from '../support/cli-peer.js';

type Peer = CliPeer;

// `npm test` builds first; the compiled CLI runs as a user would (tsx only when there is no build): test/support/cli-peer.ts.
const startPeer = (args: string[], env: Record<string, string> = {}): Peer => startCliPeer(args, { ...process.env, ...env });

test('hopsafe peer: JSON lines in, events out, bad input reported, clean exit on EOF', async () => {
  const broker = await startBroker();
  const fx = await cliPeerFixture([
    { id: 'control-center', roles: ['OPERATOR'] },
    { id: 'der-17', roles: ['VIEWER'] },
  ]);
  try {
    const args = (id: string) => fx.args(id, broker.url);
    // [SPEC 5.5] the control center accepts the DER's integrity mode explicitly (the default is its own mode only)
    const cc = startPeer([...args('control-center'), '--accept-protection', 'integrity,confidentiality']);
    const der = startPeer([...args('der-17'), '--protection', 'integrity']);
    started.push(cc, der); // killed in `finally` if an assertion fails first
    await cc.next((e) => e.event === 'ready');
    await der.next((e) => e.event === 'ready');
    der.write({ to: 'control-center', data: Buffer.from('P=4.2MW').toString('base64') });
    const m = await cc.next((e) => e.event === 'message');
    assert.equal(m.from, 'der-17');
    assert.equal(Buffer.from(String(m.data), 'base64').toString(), 'P=4.2MW');
    assert.deepEqual(m.roles, ['VIEWER']);
    await der.next((e) => e.event === 'session');
    cc.write({ rekey: 'der-17' });
    await cc.next((e) => e.event === 'rekeyed');
    cc.write({ to: 'der-17', data: Buffer.from('setpoint').toString('base64') });
    const back = await der.next((e) => e.event === 'message');
    assert.equal(Buffer.from(String(back.data), 'base64').toString(), 'setpoint');
    // [SPEC 7.6] "confirm": the event comes once the peer acknowledged it end to end
    cc.write({ to: 'der-17', data: Buffer.from('confirmed setpoint').toString('base64'), confirm: true });
    await der.next((e) => e.event === 'message' && Buffer.from(String(e.data), 'base64').toString() === 'confirmed setpoint');
    await cc.next((e) => e.event === 'confirmed' && e.to === 'der-17');
    // bad input never crashes the peer
    der.write('this is not json');
    der.write({ to: 'bad/id', data: 'AAAA' });
    der.write({ to: 'control-center', data: '***' });
    der.write({ rekey: 'nobody' });
    const errors = await Promise.all([
      der.next((e) => e.event === 'error' && e.line === 2),
      der.next((e) => e.event === 'error' && e.line === 3),
      der.next((e) => e.event === 'error' && e.line === 4),
      der.next((e) => e.event === 'error' && e.line === 5),
    ]);
    assert.deepEqual(
      errors.map((e) => e.code),
      ['ERR_INPUT', 'ERR_INPUT', 'ERR_INPUT', 'ERR_UNKNOWN_SESSION'],
    );
    der.proc.stdin.end();
    cc.proc.stdin.end();
    assert.equal(await der.exit, 0);
    assert.equal(await cc.exit, 0);
    assert.ok(der.events.some((e) => e.event === 'closed'));
  } finally {
    stopStarted();
    await broker.close();
    await rm(fx.dir, { recursive: true, force: true });
  }
});

/** Peers started by the tests below; killed in `finally` so a failing assertion never leaves one running. */
const started: Peer[] = [];
const WAIT = 20_000;
function stopStarted(): void {
  for (const p of started.splice(0)) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill();
}

test('hopsafe peer: an invalid input line is an ERR_INPUT event naming the path and what is wrong (issue 14)', async () => {
  const broker = await startBroker();
  const fx = await cliPeerFixture(['p1']);
  try {
    const p = startPeer(fx.args('p1', broker.url));
    started.push(p);
    await p.next((e) => e.event === 'ready', WAIT);
    p.write({ to: 'der-17', data: 'AAAA', extra: 1 }); // line 1: unknown key (before: the union's bare "Invalid input"/zod text, no path)
    p.write({ rekey: 'der-17', force: true }); // 2
    p.write({ to: 'der-17' }); // 3: missing data
    p.write({ to: 'der-17', data: 'AAAA', confirm: 'yes' }); // 4: wrong type
    p.write({ launch: 'now' }); // 5: no known command
    p.write('[1,2]'); // 6: not an object
    const e = await Promise.all([1, 2, 3, 4, 5, 6].map((line) => p.next((x) => x.event === 'error' && x.line === line, WAIT)));
    for (const x of e) assert.equal(x.code, 'ERR_INPUT');
    assert.deepEqual(
      e.map((x) => x.path),
      ['extra', 'force', 'data', 'confirm', 'launch', ''],
    );
    assert.match(String(e[0]?.message), /^extra: unknown key \(a send line takes to, data and confirm\)$/);
    assert.match(String(e[1]?.message), /^force: unknown key/);
    assert.match(String(e[2]?.message), /^data: required: "to" requires "data"$/);
    assert.match(String(e[3]?.message), /^confirm: expected boolean$/);
    assert.match(String(e[4]?.message), /^launch: unknown key: expected /);
    assert.match(String(e[5]?.message), /^expected a JSON object/);
    for (const x of e) assert.doesNotMatch(String(x.message), /ZodError|"code":|invalid_union|Invalid input/);
    p.proc.stdin.end();
    assert.equal(await p.exit, 0);
  } finally {
    stopStarted();
    await broker.close();
    await rm(fx.dir, { recursive: true, force: true });
  }
});

test('hopsafe peer: --suite (repeatable) sets the suites offered and accepted; --accept-protection (repeatable, comma list) the modes accepted', async () => {
  const broker = await startBroker();
  const fx = await cliPeerFixture(['cc', 'der-1', 'der-2', 'der-3']);
  try {
    // Both offer/accept P-256 ChaCha20 only: the session runs on it (not on the default X25519 suites).
    const cc = startPeer([
      ...fx.args('cc', broker.url),
      '--suite',
      'P256_CHACHA20POLY1305_SHA256',
      '--suite',
      'X25519_AES128GCM_SHA256',
      '--accept-protection',
      'integrity,confidentiality',
    ]);
    const d1 = startPeer([...fx.args('der-1', broker.url), '--suite', 'P256_CHACHA20POLY1305_SHA256']);
    // der-2 offers only P-384: cc does not accept it.
    const d2 = startPeer([...fx.args('der-2', broker.url), '--suite', 'P384_AES256GCM_SHA384']);
    // der-3 accepts only integrity; cc initiates in confidentiality mode (the default).
    const d3 = startPeer([...fx.args('der-3', broker.url), '--accept-protection', 'integrity']);
    started.push(cc, d1, d2, d3);
    await Promise.all([cc, d1, d2, d3].map((p) => p.next((e) => e.event === 'ready', WAIT)));

    d1.write({ to: 'cc', data: Buffer.from('hello').toString('base64') });
    const s1 = await d1.next((e) => e.event === 'session', WAIT);
    assert.equal(s1.suite, 'P256_CHACHA20POLY1305_SHA256');
    assert.equal((await cc.next((e) => e.event === 'message' && e.from === 'der-1', WAIT)).data, Buffer.from('hello').toString('base64'));

    d2.write({ to: 'cc', data: 'AAAA' });
    const refused = await d2.next((e) => e.event === 'error' && e.line === 1, WAIT);
    // [SPEC 3.6] the sender learns it from an unauthenticated hint: ERR_PEER_REFUSED; cc reports the real reason
    assert.equal(refused.code, 'ERR_PEER_REFUSED', 'cc accepts only the suites given with --suite');
    await cc.next((e) => e.event === 'reject' && e.code === 'ERR_NEGOTIATION' && e.from === 'der-2', WAIT);

    cc.write({ to: 'der-3', data: 'AAAA' });
    const mode = await cc.next((e) => e.event === 'error' && e.line === 1, WAIT);
    assert.equal(mode.code, 'ERR_PEER_REFUSED', 'der-3 accepts integrity only');
    await d3.next((e) => e.event === 'reject' && e.code === 'ERR_NEGOTIATION' && e.from === 'cc', WAIT);
    assert.ok(!d3.events.some((e) => e.event === 'message'));
    for (const p of [cc, d1, d2, d3]) p.proc.stdin.end();
    for (const p of [cc, d1, d2, d3]) assert.equal(await p.exit, 0);
  } finally {
    stopStarted();
    await broker.close();
    await rm(fx.dir, { recursive: true, force: true });
  }
});

test('hopsafe peer: an unknown --suite, --accept-protection or --offline-start-ms value is a usage error (exit 2)', async () => {
  const fx = await cliPeerFixture(['p1']);
  try {
    for (const extra of [
      ['--suite', 'ROT13_SHA1'],
      ['--suite', 'X25519_AES128GCM_SHA256', '--suite', 'X25519_AES128GCM_SHA256'],
      ['--accept-protection', 'integrity,none'],
      ['--accept-protection', ''],
      ['--offline-start-ms', '-1'],
      ['--offline-start-ms', '1.5'],
      ['--offline-start-ms', 'soon'],
      ['--offline-start-ms', '604800001'],
    ]) {
      const p = startPeer([...fx.args('p1', 'mqtt://127.0.0.1:1'), ...extra]);
      started.push(p);
      let stderr = '';
      p.proc.stderr.on('data', (d) => (stderr += String(d)));
      assert.equal(await p.exit, 2, extra.join(' '));
      assert.match(stderr, /--suite|--accept-protection|--offline-start-ms/);
      assert.equal(p.events.length, 0, 'no endpoint was created');
    }
  } finally {
    stopStarted();
    await rm(fx.dir, { recursive: true, force: true });
  }
});

test("hopsafe peer --metrics-port 0: GET /metrics serves the endpoint's counters (they move with the traffic) and process metrics; --log-level logs JSON lines on stderr, never the payload", async () => {
  const broker = await startBroker();
  const fx = await cliPeerFixture(['cc', 'der-1']);
  const secret = 'METRICS-TEST-PAYLOAD-93b1';
  try {
    // the flag wins over HOPSAFE_LOG_LEVEL
    const cc = startPeer([...fx.args('cc', broker.url), '--metrics-port', '0', '--log-level', 'debug'], { HOPSAFE_LOG_LEVEL: 'silent' });
    const der = startPeer(fx.args('der-1', broker.url), { HOPSAFE_LOG_LEVEL: 'info' });
    started.push(cc, der);
    const { url } = (await cc.next((e) => e.event === 'metrics', WAIT)) as { url: string };
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'loopback by default');
    await cc.next((e) => e.event === 'ready', WAIT);
    await der.next((e) => e.event === 'ready', WAIT);
    const scrape = async (): Promise<string> => {
      const r = await fetch(url);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return r.text();
    };
    const before = await scrape();
    assert.equal(sample(before, 'hopsafe_records_received_total', { endpoint: 'cc' }), 0);
    assert.equal(sample(before, 'hopsafe_sessions', { endpoint: 'cc' }), 0);
    assert.ok(samples(before, 'process_cpu_user_seconds_total').length === 1, 'process metrics too');
    for (const n of [1, 2]) der.write({ to: 'cc', data: Buffer.from(`${secret}-${n}`).toString('base64') });
    await cc.next((e) => e.event === 'message' && Buffer.from(String(e.data), 'base64').toString() === `${secret}-2`, WAIT);
    // a forged frame "from der-1" injected by the broker is refused, and counted by its code
    await broker.inject({ from: 'der-1', to: 'cc', bytes: new Uint8Array([3, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) });
    const refused = await cc.next((e) => e.event === 'reject' && e.from === 'der-1', WAIT);
    const after = await scrape();
    assert.equal(sample(after, 'hopsafe_records_received_total', { endpoint: 'cc' }), 2);
    assert.equal(sample(after, 'hopsafe_sessions', { endpoint: 'cc' }), 1);
    assert.equal(sample(after, 'hopsafe_handshakes_total', { endpoint: 'cc', outcome: 'ok' }), 1);
    assert.equal(sample(after, 'hopsafe_rejects_total', { endpoint: 'cc', code: String(refused.code) }), 1);
    assert.equal(sample(after, 'hopsafe_record_duration_seconds_count', { endpoint: 'cc', direction: 'receive' }), 2);
    assert.equal((await fetch(url.replace(/\/metrics$/, '/'))).status, 404);
    assert.equal((await fetch(url, { method: 'POST' })).status, 405);
    cc.proc.stdin.end();
    der.proc.stdin.end();
    assert.equal(await cc.exit, 0, cc.stderr());
    assert.equal(await der.exit, 0, der.stderr());
    await assert.rejects(fetch(url), 'the metrics server closed with the peer');
    // logs: JSON lines on stderr (stdout held only JSON events: startPeer parses every line), at the levels asked
    const lines = cc
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== '');
    assert.ok(lines.length > 0, 'cc logged');
    const logs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(logs.some((l) => l.msg === 'session established' && l.endpoint === 'cc'));
    assert.ok(
      logs.some((l) => l.level === 20 && l.transport === 'mqtt'),
      'debug level reached the transport logger',
    );
    const derLogs = der
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      derLogs.some((l) => l.msg === 'session established') && derLogs.every((l) => (l.level as number) >= 30),
      'HOPSAFE_LOG_LEVEL=info',
    );
    for (const text of [cc.stderr(), der.stderr()]) {
      assert.ok(!text.includes(secret) && !text.includes(Buffer.from(secret).toString('base64').slice(0, 16)), 'payload in the logs');
      assert.ok(!/PRIVATE KEY/.test(text), 'key material in the logs');
    }
  } finally {
    stopStarted();
    await broker.close();
    await rm(fx.dir, { recursive: true, force: true });
  }
});

test('hopsafe peer: a bad --log-level, HOPSAFE_LOG_LEVEL or --metrics-port is a usage error (exit 2)', async () => {
  const fx = await cliPeerFixture(['p1']);
  try {
    for (const [extra, env] of [
      [['--log-level', 'loud'], {}],
      [[], { HOPSAFE_LOG_LEVEL: 'chatty' }],
      [['--metrics-port', '70000'], {}],
      [['--metrics-port', 'x'], {}],
      [['--metrics-host', '0.0.0.0'], {}],
    ] as const) {
      const p = startPeer([...fx.args('p1', 'mqtt://127.0.0.1:1'), ...extra], env);
      started.push(p);
      assert.equal(await p.exit, 2, extra.join(' '));
      assert.match(p.stderr(), /--log-level|HOPSAFE_LOG_LEVEL|--metrics-port|--metrics-host/);
      assert.equal(p.events.length, 0, 'no endpoint was created');
    }
  } finally {
    stopStarted();
    await rm(fx.dir, { recursive: true, force: true });
  }
});
