/**
 * examples/xmpp-mqtt-bridge runs as written (issue 16): control center on XMPP (Prosody), DERs on MQTT (embedded
 * broker), createBridge between them; telemetry and setpoints confirmed end to end through the bridge. Once with the
 * example's own private Prosody (its default), once against a Prosody this test starts with the accounts registered
 * beforehand (`--xmpp … --domain … --passwords FILE`, as with your own server). Skips when Prosody is not installed
 * (fails under HOPSAFE_REQUIRE_SERVICES=1).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireOrSkip } from '../support/services.js';
import { prosodyInstalled, startProsody, type RunningProsody } from '../support/prosody.js';
import { describeRun, ensureBuilt, runExample, type ExampleRun } from './run-example.js';

const MAIN = 'examples/xmpp-mqtt-bridge/main.ts';
let prosody: RunningProsody | undefined;
const dir = mkdtempSync(join(tmpdir(), 'hopsafe-example-bridge-'));

before(() => ensureBuilt(), { timeout: 200_000 });
after(async () => {
  await prosody?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function assertAllPassed(r: ExampleRun, ders: number): void {
  assert.equal(r.code, 0, describeRun(r));
  const checks = r.lines.filter((l) => 'check' in l);
  assert.equal(checks.length, 3, `three checks printed\n${describeRun(r)}`);
  for (const c of checks) assert.equal(c.pass, true, `${String(c.check)}\n${describeRun(r)}`);
  const bridge = r.lines.find((l) => l.step === 'bridge');
  assert.equal(bridge?.proxies, ders + 1, describeRun(r));
  assert.deepEqual([bridge?.unroutable, bridge?.failed], [0, 0]);
  assert.ok(r.lines.filter((l) => l.event === 'telemetry').every((l) => JSON.stringify(l.roles) === '["VIEWER"]'));
  assert.equal(r.lines.at(-1)?.summary, 'ok');
}

test('examples/xmpp-mqtt-bridge with its private Prosody and the embedded MQTT broker', { timeout: 90_000 }, async (t) => {
  if (!requireOrSkip(t, 'Prosody (scripts/ci/install-prosody.sh)', prosodyInstalled())) return;
  const r = await runExample(MAIN, ['--ders', '2', '--rounds', '3'], 80_000);
  assert.equal(r.lines[0]?.privateProsody, true, describeRun(r));
  assertAllPassed(r, 2);
});

test('examples/xmpp-mqtt-bridge --xmpp/--domain/--passwords against a server whose accounts exist already', {
  timeout: 90_000,
}, async (t) => {
  if (!requireOrSkip(t, 'Prosody (scripts/ci/install-prosody.sh)', prosodyInstalled())) return;
  const ids = ['control-center', 'der-1', 'der-2', 'der-3'];
  const passwords = Object.fromEntries(ids.map((id, i) => [id, `pw-${i}-${id}`]));
  prosody = await startProsody({ users: ids.map((id) => ({ username: id, password: passwords[id]! })) });
  const file = join(dir, 'xmpp-passwords.json');
  writeFileSync(file, JSON.stringify(passwords));
  const r = await runExample(
    MAIN,
    ['--xmpp', prosody.service, '--domain', prosody.domain, '--passwords', file, '--ders', '3', '--rounds', '2'],
    80_000,
  );
  assert.deepEqual([r.lines[0]?.xmpp, r.lines[0]?.privateProsody], [prosody.service, false], describeRun(r));
  assertAllPassed(r, 3);

  // a missing account password is reported, not a hang: exit 1 with the ids named
  writeFileSync(file, JSON.stringify({ 'control-center': 'x' }));
  const bad = await runExample(MAIN, ['--xmpp', prosody.service, '--domain', prosody.domain, '--passwords', file], 30_000);
  assert.equal(bad.code, 1, describeRun(bad));
  assert.match(bad.stdout, /no password for der-1, der-2/);
});

test('examples/xmpp-mqtt-bridge: --xmpp without --domain/--passwords is a usage error (exit 2)', { timeout: 30_000 }, async () => {
  const r = await runExample(MAIN, ['--xmpp', 'xmpp://127.0.0.1:5222']);
  assert.equal(r.code, 2, describeRun(r));
});
