/**
 * `hopsafe peer` from start to end (issue 16, second trial): a bad --url is one usage line naming --url (exit 2)
 * before anything connects; SIGINT/SIGTERM close the endpoint, print {"event":"closed"} and exit 0 with and without
 * --echo; --until-signal keeps a listener up after stdin ends; a {"rekey":…} while the handshake is still under way
 * is answered "rekeyed" only once the key update was made (it used to be printed for an update that never happened).
 * [SPEC 7.2, 8.5]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { cliPeerFixture, startCliPeer, type CliPeer } from '../support/cli-peer.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const started: CliPeer[] = [];
const brokers: RunningBroker[] = [];
const dirs: string[] = [];
after(async () => {
  for (const p of started) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  for (const b of brokers) await b.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function fixture(ids: string[]) {
  const fx = await cliPeerFixture(ids);
  dirs.push(fx.dir);
  return fx;
}

test('hopsafe peer --url: a bad URL is one line naming --url and a pointer to --help, exit 2, nothing connects', async () => {
  const fx = await fixture(['url-a']);
  const cases: [string, RegExp][] = [
    ['mqtt://127.0.0.1:99999', /port must be 1-65535 \(got 99999\)/],
    ['mqtt://127.0.0.1:0', /port must be 1-65535 \(got 0\)/],
    ['amqp://127.0.0.1:70000', /port must be 1-65535 \(got 70000\)/],
    ['mqtt://', /no host/],
    ['amqp://', /no host/],
    ['mqtt://host:', /port must be 1-65535/],
    ['http://127.0.0.1:1883', /unsupported scheme http:\/\//],
    ['127.0.0.1:1883', /not a URL/],
  ];
  for (const [url, why] of cases) {
    const r = spawnSync(process.execPath, [MAIN, 'peer', ...fx.args('url-a', url)], { encoding: 'utf8', input: '', timeout: 30_000 });
    assert.equal(r.status, 2, `${url}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout, '', `${url}: nothing on stdout (no ready, no transport event)`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, `${url}: one error line and the hint:\n${r.stderr}`);
    assert.ok(lines[0]!.startsWith(`hopsafe peer: --url ${JSON.stringify(url)}: `), `${url}: ${lines[0]}`);
    assert.match(lines[0]!, why, url);
    assert.equal(lines[1], "see 'hopsafe peer --help' for usage");
  }
});

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  for (const echo of [false, true])
    test(`[SPEC 8.5] hopsafe peer${echo ? ' --echo' : ''} ends on ${signal}: endpoint closed, {"event":"closed"} last, exit 0`, async () => {
      const broker = await startBroker();
      brokers.push(broker);
      const fx = await fixture(['sig-a']);
      const p = startCliPeer([...fx.args('sig-a', broker.url), ...(echo ? ['--echo'] : [])]);
      started.push(p);
      await p.next((e) => e.event === 'ready');
      p.proc.kill(signal); // stdin stays open: only the signal ends it
      const code = await p.exit;
      assert.equal(code, 0, p.stderr());
      assert.equal(p.proc.signalCode, null);
      assert.deepEqual(p.events.at(-1), { event: 'closed' }, p.stdout());
      assert.equal(p.stderr(), '');
    });

test('hopsafe peer --until-signal keeps a listener running after stdin ends; SIGTERM ends it with 0', async () => {
  const broker = await startBroker();
  brokers.push(broker);
  const fx = await fixture(['keep-a', 'keep-b']);
  const listener = startCliPeer(fx.args('keep-a', broker.url).concat('--until-signal'));
  started.push(listener);
  await listener.next((e) => e.event === 'ready');
  listener.proc.stdin.end();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(listener.proc.exitCode, null, 'still running after stdin ended');
  const sender = startCliPeer(fx.args('keep-b', broker.url));
  started.push(sender);
  await sender.next((e) => e.event === 'ready');
  sender.write({ to: 'keep-a', data: Buffer.from('after EOF').toString('base64'), confirm: true });
  const m = await listener.next((e) => e.event === 'message');
  assert.equal(Buffer.from(String(m.data), 'base64').toString(), 'after EOF');
  await sender.next((e) => e.event === 'confirmed');
  sender.proc.stdin.end();
  assert.equal(await sender.exit, 0, sender.stderr());
  listener.proc.kill('SIGTERM');
  assert.equal(await listener.exit, 0, listener.stderr());
  assert.deepEqual(listener.events.at(-1), { event: 'closed' });
});

test('[SPEC 7.2] hopsafe peer: {"rekey":…} while the handshake is pending is answered "rekeyed" only once the key update was made; with no peer at all it is an error event', async () => {
  const broker = await startBroker();
  brokers.push(broker);
  const fx = await fixture(['rk-a', 'rk-b']);
  const a = startCliPeer(fx.args('rk-a', broker.url));
  const b = startCliPeer(fx.args('rk-b', broker.url));
  started.push(a, b);
  await a.next((e) => e.event === 'ready');
  await b.next((e) => e.event === 'ready');
  // one write, two lines: the send starts the handshake, the rekey is read before any answer can come back
  a.proc.stdin.write(
    `${JSON.stringify({ to: 'rk-b', data: Buffer.from('hello').toString('base64') })}\n${JSON.stringify({ rekey: 'rk-b' })}\n`,
  );
  const rekeyed = await a.next((e) => e.event === 'rekeyed' && e.line === 2);
  const at = (pred: (e: Record<string, unknown>) => boolean): number => a.events.findIndex(pred);
  const session = at((e) => e.event === 'session' && e.peer === 'rk-b');
  const update = at((e) => e.event === 'key-update' && e.peer === 'rk-b' && e.direction === 'send' && e.epoch === 1);
  assert.ok(
    session >= 0 && update > session && a.events.indexOf(rekeyed) > update,
    `session, then the key update, then rekeyed: ${JSON.stringify(a.events)}`,
  );
  await b.next((e) => e.event === 'key-update' && e.direction === 'receive' && e.epoch === 1);
  // a peer nobody talks to: no session, no handshake
  a.write({ rekey: 'nobody' });
  const err = await a.next((e) => e.event === 'error' && e.line === 3);
  assert.equal(err.code, 'ERR_UNKNOWN_SESSION', JSON.stringify(err));
  a.proc.stdin.end();
  b.proc.stdin.end();
  assert.equal(await a.exit, 0, a.stderr());
  assert.equal(await b.exit, 0, b.stderr());
});
