/**
 * `hopsafe peer` as a CI tool (issue 16): file errors name the option, transport status is an event, and
 * --exit-on-error makes reported errors fail the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serviceAvailable, requireOrSkip } from '../support/services.js';
import { cliPeerFixture, startCliPeer } from '../support/cli-peer.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

async function files(t: { after(fn: () => void): void }): Promise<string[]> {
  const fx = await cliPeerFixture(['ci-peer-1']);
  t.after(() => rmSync(fx.dir, { recursive: true, force: true }));
  return [...fx.args('ci-peer-1', 'mqtt://127.0.0.1:1883'), '--prefix', 'hopsafe-ci-test'];
}

test('hopsafe peer: a file an option names that cannot be read is one line naming the option, exit 1, no stack', async (t) => {
  const base = await files(t);
  for (const [flag, extra] of [
    ['--crl', ['--crl', 'nope.pem']],
    ['--cert', base.map((a, i) => (base[i - 1] === '--cert' ? 'nope.pem' : a))],
  ] as const) {
    const args = flag === '--crl' ? [...base, ...extra] : [...extra];
    const r = spawnSync(process.execPath, [MAIN, 'peer', ...args], { encoding: 'utf8', input: '', timeout: 30_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim(), `hopsafe: ERR_CONFIG: ${flag} nope.pem: no such file`);
  }
});

test('hopsafe peer: transport status events; --exit-on-error exits 3 after an error event, 0 without the flag', async (t) => {
  if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;
  const base = await files(t);
  const bad = '{"to":"nobody"}\n'; // "to" without "data": an ERR_INPUT event
  const r = spawnSync(process.execPath, [MAIN, 'peer', ...base, '--exit-on-error'], { encoding: 'utf8', input: bad, timeout: 30_000 });
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; status?: string; code?: string; errors?: number });
  assert.ok(
    events.some((e) => e.event === 'transport' && e.status === 'connected'),
    r.stdout,
  );
  assert.ok(
    events.some((e) => e.event === 'error' && e.code === 'ERR_INPUT'),
    r.stdout,
  );
  assert.deepEqual(events.at(-1), { event: 'closed', errors: 1 });
  assert.equal(r.status, 3, r.stderr);
  const plain = spawnSync(process.execPath, [MAIN, 'peer', ...base], { encoding: 'utf8', input: bad, timeout: 30_000 });
  assert.equal(plain.status, 0, plain.stderr);
  const good = spawnSync(process.execPath, [MAIN, 'peer', ...base, '--exit-on-error'], {
    encoding: 'utf8',
    input: '{"stats":true}\n',
    timeout: 30_000,
  });
  assert.equal(good.status, 0, good.stdout + good.stderr);
});

test('every event two hopsafe peers print in a session validates against schemas/peer-output.schema.json', async (t) => {
  if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;
  const { default: Ajv } = await import('ajv/dist/2020.js');
  const schema = JSON.parse(
    readFileSync(fileURLToPath(new URL('../../schemas/peer-output.schema.json', import.meta.url)), 'utf8'),
  ) as object;
  const validate = new (Ajv as unknown as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } })({
    strict: false,
  }).compile(schema);
  const fx = await cliPeerFixture(['ci-out-a', 'ci-out-b']);
  t.after(() => rmSync(fx.dir, { recursive: true, force: true }));
  const url = 'mqtt://127.0.0.1:1883';
  const a = startCliPeer([...fx.args('ci-out-a', url), '--prefix', 'hopsafe-out-test']);
  const b = startCliPeer([...fx.args('ci-out-b', url), '--prefix', 'hopsafe-out-test']);
  try {
    await Promise.all([a.next((e) => e.event === 'ready'), b.next((e) => e.event === 'ready')]);
    a.write({ to: 'ci-out-b', data: Buffer.from('hello').toString('base64'), confirm: true });
    await a.next((e) => e.event === 'confirmed');
    await b.next((e) => e.event === 'message');
    a.write({ rekey: 'ci-out-b' });
    await a.next((e) => e.event === 'rekeyed');
    a.write({ to: 'ci-out-b' });
    await a.next((e) => e.event === 'error');
    a.write({ stats: true });
    await a.next((e) => e.event === 'stats');
  } finally {
    a.proc.stdin.end();
    b.proc.stdin.end();
    await Promise.all([a.exit, b.exit]);
  }
  const all = [...a.events, ...b.events];
  const kinds = new Set(all.map((e) => e.event));
  for (const k of [
    'ready',
    'transport',
    'handshake',
    'session',
    'confirmed',
    'message',
    'rekeyed',
    'key-update',
    'error',
    'stats',
    'closed',
  ])
    assert.ok(kinds.has(k), `saw ${k}: ${[...kinds].join(',')}`);
  for (const e of all) assert.ok(validate(e), `${JSON.stringify(e)}: ${JSON.stringify(validate.errors)}`);
  assert.equal(validate({ event: 'message', from: 'x' }), false, 'the schema refuses an incomplete event');
});
