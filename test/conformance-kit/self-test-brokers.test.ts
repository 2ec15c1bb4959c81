/**
 * The conformance kit over an external server (`hopsafe conformance --broker amqp://…|nats://…`, SPEC Annex C.1):
 * the self-test on RabbitMQ (127.0.0.1:5672, §8.3) and on core NATS (127.0.0.1:4222, §8.11) — the echo peer passes a
 * case of every group (the hybrid suites included), every broken variant is caught by its cases, and on RabbitMQ
 * nothing of the runs is left behind. Skipped when the server is unreachable, unless HOPSAFE_REQUIRE_SERVICES=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { selfTest } from '../../src/conformance/self-test.js';
import { selectCases } from '../../src/conformance/runner.js';
import { CAUGHT_BY } from '../../src/conformance/broken/echo-variant.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

const CLI = existsSync('dist/cli/main.js') ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
/** One case or more of every group; the hybrid suite as responder and as initiator. */
const SUBSET = '1.1.1,1.1.17,1.2.1,2.1.1,2.2.9,3.1.7,4.1.1,5.1.1,6.1.1,6.6.1,7.1.1,8.1.1,9.1.1,10.1.1,11.1.1,12.1.7,13.1.1';

for (const [name, url, port] of [
  ['RabbitMQ (AMQP 0-9-1)', 'amqp://127.0.0.1:5672', 5672],
  ['NATS (core)', 'nats://127.0.0.1:4222', 4222],
] as const) {
  test(`[Annex C.1, SPEC ${url.startsWith('amqp') ? '8.3' : '8.11'}] self-test over ${name}: the echo peer passes, every variant is caught`, {
    timeout: 180_000,
  }, async (t) => {
    if (!requireOrSkip(t, `${name} 127.0.0.1:${port}`, await serviceAvailable('127.0.0.1', port))) return;
    const r = await selfTest({ broker: url, cases: SUBSET, timeoutMs: 2000 });
    const notPassed = r.echo.cases.filter((c) => c.outcome !== 'pass').map((c) => `${c.id}: ${c.outcome} ${c.reason}`);
    assert.deepEqual(notPassed, [], 'every case passes against the echo peer');
    assert.equal(r.echo.cases.length, selectCases(SUBSET).length);
    assert.equal(r.echo.brokerUrl, url);
    assert.match(r.echo.prefix, /^hopsafe-conf-[0-9a-f]{12}$/, 'a prefix of its own');
    for (const v of r.variants) {
      assert.deepEqual(v.missed, [], `variant ${v.variant} caught by all of ${CAUGHT_BY[v.variant].join(', ')} over ${name}`);
      assert.deepEqual(v.spurious, [], `variant ${v.variant} passes its control cases over ${name}`);
      assert.equal(v.report.brokerUrl, url);
    }
    const prefixes = new Set([r.echo.prefix, ...r.variants.map((v) => v.report.prefix)]);
    assert.equal(prefixes.size, 1 + r.variants.length, 'each run has its own prefix');
    assert.equal(r.ok, true);
    if (url.startsWith('amqp')) {
      // the runs' exchanges and the IUTs' queues were deleted (checkExchange/checkQueue: 404 on a fresh channel each)
      const amqp = await import('amqplib');
      const conn = await amqp.connect(url);
      try {
        for (const p of prefixes) {
          for (const check of [
            (ch: import('amqplib').Channel) => ch.checkExchange(p),
            (ch: import('amqplib').Channel) => ch.checkQueue(`${p}.hopsafe-echo`),
          ]) {
            const ch = await conn.createChannel();
            ch.on('error', () => undefined);
            await assert.rejects(check(ch), /404/, `${p}: removed`);
          }
        }
      } finally {
        await conn.close();
      }
    }
  });
}

test('CLI: --broker takes amqp://, amqps:// or nats:// only, not with --broker-port; --prefix only with --broker', () => {
  for (const args of [
    ['--iut', 'x', '--broker', 'mqtt://127.0.0.1:1883'],
    ['--iut', 'x', '--broker', 'nats://127.0.0.1:4222', '--broker-port', '0'],
    ['--iut', 'x', '--prefix', 'p'],
    ['--iut', 'x', '--broker', 'amqp://127.0.0.1:5672', '--prefix', 'a.*'],
    ['--self-test', '--broker', 'nats://127.0.0.1:4222', '--prefix', 'p'],
  ]) {
    const r = spawnSync(process.execPath, [...CLI, 'conformance', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^hopsafe conformance: [^\n]+\nsee 'hopsafe conformance --help' for usage\n$/, args.join(' '));
  }
});
