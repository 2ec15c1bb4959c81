/**
 * `hopsafe demo` (what `npm start` runs): exits 0, the broker's tampered and replayed frames are refused by
 * the control center, and the tampered message is the one its sender does not see confirmed. [SPEC 7.1, 7.4, 7.6]
 * Issue 16: every line fits 80 columns; integrity-mode payloads are shown readable next to the hex (and only
 * those); the session lines name the protection mode; the temporary PKI directory is gone after every exit
 * path (normal end, error, SIGINT/SIGTERM, EPIPE); `| head -n 3` ends quietly with exit 0; and the broker column
 * works against an external broker (Mosquitto 127.0.0.1:1883, skipped when unreachable).
 * Issue 20: each DER publishes telemetry samples to its group `telemetry`; each publish is one broker frame (shown
 * once, on `…/~g/der-N/…`), read exactly once by each member, the control center and the historian. [SPEC 13]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort, requireOrSkip, serviceAvailable } from '../support/services.js';

const ARGS = ['--import', 'tsx', 'src/cli/main.ts', 'demo'];
const scratch: string[] = [];
after(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** A private TMPDIR, so that the test sees exactly the demo's own temporary directories. */
function privateTmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'hopsafe-demo-test-'));
  scratch.push(d);
  return d;
}
const demoDirs = (tmp: string): string[] => readdirSync(tmp).filter((n) => n.startsWith('hopsafe-demo-'));
const pkiDir = (out: string): string | undefined => /^PKI \(private keys, removed on exit\):\n {2}(\S+)$/m.exec(out)?.[1];

function demo(tmp: string, ...args: string[]): { status: number | null; out: string; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...ARGS, '--duration', '3', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, TMPDIR: tmp },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
}

/** What every complete run shows, whatever the intermediary. */
function checkRun(out: string, tmp: string): void {
  const lines = out.split('\n');
  const wide = lines.filter((l) => [...l].length > 80);
  assert.deepEqual(wide, [], 'every line fits 80 columns');
  // [SPEC 5.5] the session lines name the protection mode
  assert.match(out, /^session der-1↔control-center: integrity, \w+$/m);
  for (const id of ['der-2', 'der-3']) assert.match(out, new RegExp(`^session ${id}↔control-center: confidentiality, \\w+$`, 'm'));
  // integrity-mode frames are shown readable next to the hex; confidentiality-mode ones never
  const readable = lines.flatMap((l, i) => (l.trimStart().startsWith('readable:') ? [{ text: l, broker: lines[i - 1] ?? '' }] : []));
  assert.ok(readable.length >= 3, `readable lines: ${readable.length}`);
  for (const r of readable) {
    assert.match(
      r.broker,
      /^broker {2}(der-1→control-center|control-center→der-1|der-1→group) \d+ B [0-9a-f]+…$/,
      `readable text only under an integrity-mode frame: ${r.broker}`,
    );
    assert.match(r.text, /readable: \{"(n|setpoint|k)":/);
  }
  const conf = lines.filter((l) => /^broker {2}(der-[23]→control-center|control-center→der-[23]) /.test(l));
  assert.ok(conf.length >= 6, 'confidentiality-mode frames are shown (hex)');
  assert.ok(
    !lines.some((l, i) => conf.includes(lines[i - 1] ?? '') && l.includes('readable:')),
    'no readable text under a confidentiality-mode frame',
  );
  // [SPEC 13] each DER's group `telemetry`: one broker frame per publish (hex; readable only for der-1, whose group
  // is in integrity mode), and each sample read exactly once by each of the two members
  for (const id of ['der-1', 'der-2', 'der-3']) {
    assert.match(out, new RegExp(`^session ${id}↔historian: confidentiality, \\w+$`, 'm'), `${id}: a session with the historian`);
    assert.match(out, new RegExp(`^group ${id}/telemetry: control-center, historian joined \\(key over each session\\)$`, 'm'));
    const frames = lines.flatMap((l, i) => (l.startsWith(`broker  ${id}→group `) ? [i] : []));
    for (const i of frames) {
      assert.match(lines[i]!, new RegExp(`^broker {2}${id}→group \\d+ B [0-9a-f]+…$`));
      const next = id === 'der-1' ? 2 : 1;
      if (id === 'der-1') assert.match(lines[i + 1]!, /^ {8}readable: \{"k":\d+,"n":\d+,"P_MW":[\d.]+\}$/);
      assert.match(
        lines[i + next]!,
        new RegExp(`^ {8}one message for control-center and historian on …/~g/${id}/[0-9a-f]{8}…$`),
        `${id}: the group topic under the frame`,
      );
    }
    const summary = new RegExp(
      `^${id} \\(.*\n.*\n.*\n {2}group telemetry: (\\d+) published, (\\d+) broker messages? \\(1 per publish\\)\n` +
        ' {2}read by control-center (\\d+) of (\\d+), historian (\\d+) of (\\d+)$',
      'm',
    ).exec(out);
    assert.ok(summary, `${id}: the group summary`);
    const [published, carried, ccRead, ccOf, hRead, hOf] = summary.slice(1).map(Number) as [number, number, number, number, number, number];
    assert.ok(published >= 1, `${id}: at least one group message published`);
    assert.deepEqual([carried, ccRead, ccOf, hRead, hOf], [published, published, published, published, published], `${id}: ${summary[0]}`);
    assert.equal(frames.length, published, `${id}: one broker frame shown per group publish`);
    for (const reader of ['control-center', 'historian']) {
      const read = lines.flatMap((l) => {
        const m = new RegExp(`^app {5}${reader} ← group telemetry, ${id}: \\{"k":(\\d+),"n":\\d+,"P_MW":[\\d.]+\\}$`).exec(l);
        return m ? [Number(m[1])] : [];
      });
      assert.deepEqual(
        read.sort((a, b) => a - b),
        Array.from({ length: published }, (_, k) => k + 1),
        `${reader} read each of ${id}'s group messages exactly once`,
      );
    }
  }
  assert.ok(
    !lines.some((l, i) => /^broker {2}der-[23]→group /.test(lines[i - 1] ?? '') && l.includes('readable:')),
    'no readable text under a confidentiality-mode group frame',
  );
  const dir = pkiDir(out);
  assert.ok(dir && dir.startsWith(tmp), `the PKI directory is printed: ${dir}`);
  assert.equal(existsSync(dir), false, 'the PKI directory is removed');
  assert.deepEqual(demoDirs(tmp), []);
}

const line = (out: string, id: string): string => out.split('\n').find((l) => l.startsWith(`${id} (`)) ?? '';

for (const [name, args] of [
  ['embedded MQTT broker', []],
  ['memory hub', ['--transport', 'memory']],
] as const) {
  test(`[SPEC 7.1, 7.4, 7.6] demo on the ${name}: exit 0; tampered and replayed frames refused; only the tampered message unconfirmed; 80 columns; PKI removed`, () => {
    const tmp = privateTmp();
    const { status, out } = demo(tmp, ...args);
    assert.equal(status, 0, out);
    assert.match(out, /rejected by the control center: ERR_BAD_MAC from der-3, ERR_REPLAY from der-1/);
    for (const id of ['der-1', 'der-2']) {
      const m = /sent (\d+), confirmed end to end (\d+)$/.exec(line(out, id));
      assert.ok(m && m[1] === m[2] && Number(m[1]) > 0, `${id}: everything confirmed (${line(out, id)})`);
    }
    const m3 = /sent (\d+), confirmed end to end (\d+), 1 not confirmed$/.exec(line(out, 'der-3'));
    assert.ok(m3 && Number(m3[2]) === Number(m3[1]) - 1, `der-3: the tampered message is the one not confirmed (${line(out, 'der-3')})`);
    assert.doesNotMatch(out, /send failed/);
    checkRun(out, tmp);
  });
}

test('[SPEC 4.1, 4.2, 5.5] demo --suite: every endpoint offers the hybrid suite first, it is negotiated and shown with the handshake sizes; attacks still refused', () => {
  const tmp = privateTmp();
  const hybrid = 'X25519MLKEM768_CHACHA20POLY1305_SHA256';
  const { status, out } = demo(tmp, '--suite', hybrid, '--suite', 'X25519_AES128GCM_SHA256');
  assert.equal(status, 0, out);
  assert.match(
    out,
    new RegExp(`^suites offered and accepted by every endpoint, in order \\(--suite\\):\n {2}${hybrid}\n {2}X25519_AES128GCM_SHA256$`, 'm'),
  );
  // a session line too long for 80 columns puts the suite on the next line
  const lines = out.split('\n');
  for (const [id, mode] of [
    ['der-1', 'integrity'],
    ['der-2', 'confidentiality'],
    ['der-3', 'confidentiality'],
  ]) {
    const i = lines.findIndex((l) => l.startsWith(`session ${id}↔control-center: ${mode},`));
    assert.ok(i >= 0, `${id}: a session line`);
    const suite = lines[i]!.endsWith(',') ? lines[i + 1]!.trim() : lines[i]!.split(', ').at(-1);
    assert.equal(suite, hybrid, `${id} negotiated the first suite of the list`);
    const summary = new RegExp(`^${id} \\(${mode}\\):.*\n.*\n {2}suite ${hybrid}, HS_INIT (\\d+) B, HS_RESP (\\d+) B$`, 'm').exec(out);
    assert.ok(summary, `${id}: the summary names the suite and the handshake sizes`);
    // [SPEC 5.2] a hybrid HS_INIT carries a 1216-byte share (and the X25519 fallback's), HS_RESP a 1120-byte one
    assert.ok(Number(summary[1]) > 1900 && Number(summary[2]) > 1800, `hybrid handshake sizes: ${summary[1]} / ${summary[2]}`);
  }
  assert.match(out, /rejected by the control center: ERR_BAD_MAC from der-3, ERR_REPLAY from der-1/);
  assert.deepEqual(
    lines.filter((l) => [...l].length > 80),
    [],
    'every line fits 80 columns',
  );
  assert.deepEqual(demoDirs(tmp), []);
});

test('[SPEC 7.1, 7.4] demo --broker mqtt://127.0.0.1:1883 (Mosquitto): a spy shows what the broker carries; its forged and replayed copies are refused', async (t) => {
  if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;
  const tmp = privateTmp();
  // a prefix of its own: other tests on the same Mosquitto use the default one
  const prefix = `hopsafe-demo-${randomBytes(4).toString('hex')}`;
  const { status, out } = demo(tmp, '--broker', 'mqtt://127.0.0.1:1883', '--prefix', prefix);
  assert.equal(status, 0, out);
  assert.match(
    out,
    new RegExp(`^hopsafe demo — MQTT broker mqtt://127.0.0.1:1883\nwatched by a spy client subscribed to ${prefix}/#$`, 'm'),
  );
  assert.match(out, /rejected by the control center: ERR_BAD_MAC from der-3, ERR_REPLAY from der-1/);
  // the spy only adds copies: every genuine message is confirmed
  for (const id of ['der-1', 'der-2', 'der-3']) {
    const m = /sent (\d+), confirmed end to end (\d+)$/.exec(line(out, id));
    assert.ok(m && m[1] === m[2] && Number(m[1]) > 0, `${id}: everything confirmed (${line(out, id)})`);
  }
  assert.doesNotMatch(out, /send failed/);
  checkRun(out, tmp);
});

test('demo | head -n 3: EPIPE ends it quietly (exit 0, nothing on stderr, long before --duration) and the PKI directory is removed', () => {
  const tmp = privateTmp();
  const started = Date.now();
  const r = spawnSync(
    'bash',
    ['-c', `"${process.execPath}" ${ARGS.join(' ')} --duration 60 2>"$ERR" | head -n 3; echo "exit \${PIPESTATUS[0]}"`],
    {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, TMPDIR: tmp, ERR: join(tmp, 'stderr.txt') },
    },
  );
  const elapsed = Date.now() - started;
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 4, r.stdout);
  assert.match(lines[0]!, /^hopsafe demo — embedded MQTT broker/);
  assert.equal(lines[3], 'exit 0', `the demo's own exit status: ${r.stdout}`);
  assert.equal(spawnSync('cat', [join(tmp, 'stderr.txt')], { encoding: 'utf8' }).stdout, '', 'nothing on stderr');
  assert.ok(elapsed < 40_000, `ended by EPIPE, not by --duration 60 (${elapsed} ms)`);
  assert.deepEqual(demoDirs(tmp), []);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`demo ends early on ${signal}: summary, exit 0, PKI directory removed`, async () => {
    const tmp = privateTmp();
    const child = spawn(process.execPath, [...ARGS, '--duration', '60'], { env: { ...process.env, TMPDIR: tmp } });
    let out = '';
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^app {5}control-center ← /m.test(out)) resolve();
      });
      void exited.then(() => reject(new Error(`exited before the first message: ${out}`)));
    });
    const dir = pkiDir(out);
    assert.ok(dir && existsSync(dir), 'the PKI directory exists while the demo runs');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`^\\(${signal}: stopped early\\)$`, 'm'));
    assert.match(out, /^rejected by the control center: /m);
    assert.equal(existsSync(dir), false);
    assert.deepEqual(demoDirs(tmp), []);
  });
}

test('demo --broker on a port nobody listens on: exit 1 with the transport error, PKI directory removed', async () => {
  const tmp = privateTmp();
  const port = await freePort();
  const r = demo(tmp, '--broker', `mqtt://127.0.0.1:${port}`);
  assert.equal(r.status, 1, r.out);
  assert.match(r.stderr, /ERR_TRANSPORT/);
  assert.deepEqual(demoDirs(tmp), []);
});

test('demo: bad arguments exit 2 with one line and a pointer to --help', () => {
  const tmp = privateTmp();
  for (const args of [
    ['--duration', 'x'],
    ['--transport', 'carrier-pigeon'],
    ['--broker', 'mqtt://127.0.0.1:1883', '--transport', 'memory'],
    ['--broker', 'mqtt://a:1', '--url', 'mqtt://b:1'],
    ['--prefix', 'a/#'],
    ['--broker', 'mqtt://127.0.0.1:99999'],
    ['--broker', 'mqtt://'],
    ['--suite', 'X25519_NOPE'],
    ['--suite', 'X25519_AES128GCM_SHA256', '--suite', 'X25519_AES128GCM_SHA256'],
    ['--web', '--suite', 'X25519_AES128GCM_SHA256'],
  ]) {
    const r = demo(tmp, ...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.stderr, /^hopsafe demo: [^\n]+\nsee 'hopsafe demo --help' for usage\n$/, args.join(' '));
  }
  assert.deepEqual(demoDirs(tmp), [], 'a usage error creates no PKI directory');
});
