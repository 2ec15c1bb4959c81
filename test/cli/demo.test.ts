/**
 * `hopsafe demo` (what `npm start` runs): exits 0, the broker's tampered and replayed frames are refused by
 * the control center, and the tampered message is the one its sender does not see confirmed. [SPEC 7.1, 7.4, 7.6]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

function demo(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo', '--duration', '3', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

for (const [name, args] of [
  ['embedded MQTT broker', []],
  ['memory hub', ['--transport', 'memory']],
] as const) {
  test(`[SPEC 7.1, 7.4, 7.6] demo on the ${name}: exit 0; tampered and replayed frames refused; only the tampered message unconfirmed`, () => {
    const { status, out } = demo(...args);
    assert.equal(status, 0, out);
    assert.match(out, /rejected by the control center: ERR_BAD_MAC from der-3, ERR_REPLAY from der-1/);
    const line = (id: string): string => out.split('\n').find((l) => l.trimStart().startsWith(`${id} (`)) ?? '';
    for (const id of ['der-1', 'der-2']) {
      const m = /sent (\d+), confirmed end to end (\d+), received/.exec(line(id));
      assert.ok(m && m[1] === m[2] && Number(m[1]) > 0, `${id}: everything confirmed (${line(id)})`);
    }
    const m3 = /sent (\d+), confirmed end to end (\d+), 1 not confirmed/.exec(line('der-3'));
    assert.ok(m3 && Number(m3[2]) === Number(m3[1]) - 1, `der-3: the tampered message is the one not confirmed (${line('der-3')})`);
    assert.doesNotMatch(out, /send failed/);
  });
}

test('demo: bad arguments exit 2 with usage', () => {
  assert.equal(demo('--duration', 'x').status, 2);
  assert.equal(demo('--transport', 'carrier-pigeon').status, 2);
});
