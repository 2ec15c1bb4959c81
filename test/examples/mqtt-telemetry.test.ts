/**
 * examples/mqtt-telemetry runs as written (issue 16): on the embedded broker (its default) and on a private Mosquitto
 * with the example ACL (examples/mosquitto/hopsafe.acl: each client its own inbox and sender slot), where every check
 * it prints must pass and exit 0. The system Mosquitto is not used (the example's ids are fixed: they would collide
 * with other tests' clients); the private one skips without the mosquitto binary (fails under HOPSAFE_REQUIRE_SERVICES=1).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireOrSkip } from '../support/services.js';
import { mosquittoBinary, startPrivateMosquitto, type PrivateMosquitto } from '../support/mosquitto.js';
import { describeRun, ensureBuilt, runExample, type ExampleRun } from './run-example.js';

const MAIN = 'examples/mqtt-telemetry/main.ts';
let mosquitto: PrivateMosquitto | undefined;

before(() => ensureBuilt(), { timeout: 200_000 });
after(async () => {
  await mosquitto?.stop();
});

function assertAllPassed(r: ExampleRun, ders: number, rounds: number): void {
  assert.equal(r.code, 0, describeRun(r));
  const checks = r.lines.filter((l) => 'check' in l);
  assert.equal(checks.length, 5, `five checks printed\n${describeRun(r)}`);
  for (const c of checks) assert.equal(c.pass, true, `${String(c.check)}\n${describeRun(r)}`);
  assert.deepEqual(r.lines.find((l) => l.step === 'telemetry')?.received, ders * rounds);
  assert.equal(r.lines.at(-1)?.summary, 'ok');
  // the refusal came from der-1's policy, reported as such (not a transport failure)
  assert.ok(
    r.lines.some((l) => l.event === 'reject' && l.at === 'der-1' && l.code === 'ERR_FORBIDDEN' && l.from === 'historian'),
    describeRun(r),
  );
  // commands arrive with the sender's verified role
  const commands = r.lines.filter((l) => l.event === 'command');
  assert.equal(commands.length, ders);
  for (const c of commands) assert.deepEqual([c.from, c.roles], ['control-center', ['OPERATOR']]);
}

test('examples/mqtt-telemetry on the embedded broker: telemetry and setpoints confirmed end to end, a VIEWER command refused', {
  timeout: 60_000,
}, async () => {
  const r = await runExample(MAIN, ['--ders', '3', '--rounds', '4']);
  assert.equal(r.lines[0]?.embedded, true, describeRun(r));
  assertAllPassed(r, 3, 4);
});

test('examples/mqtt-telemetry --url against a private Mosquitto with the example ACL', { timeout: 60_000 }, async (t) => {
  const bin = mosquittoBinary();
  if (!requireOrSkip(t, 'mosquitto binary', bin !== undefined)) return;
  mosquitto = await startPrivateMosquitto(bin!);
  const r = await runExample(MAIN, ['--url', mosquitto.url, '--ders', '2', '--rounds', '3']);
  assert.deepEqual([r.lines[0]?.url, r.lines[0]?.embedded], [mosquitto.url, false], describeRun(r));
  assertAllPassed(r, 2, 3);
});

test('examples/mqtt-telemetry refuses bad arguments (exit 2)', { timeout: 30_000 }, async () => {
  const r = await runExample(MAIN, ['--ders', '0']);
  assert.equal(r.code, 2, describeRun(r));
});
