/**
 * The conformance kit (SPEC Annex C) against hopsafe's own echo peer and the broken variants: a representative
 * subset of every group for the echo peer (the whole suite is `hopsafe conformance --self-test`, about a minute),
 * every variant against the cases meant to catch it; the three report formats; `--cases` selection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfTest } from '../../src/conformance/self-test.js';
import { selectCases } from '../../src/conformance/runner.js';
import { ALL_CASES } from '../../src/conformance/cases/index.js';
import { GROUPS } from '../../src/conformance/case.js';
import { CAUGHT_BY, STILL_PASSES, VARIANTS } from '../../src/conformance/broken/echo-variant.js';
import { decodeControl, encodeControl } from '../../src/conformance/contract.js';

const CLI = existsSync('dist/cli/main.js') ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
const SUBSET =
  '1.1.1,1.1.2,1.2.1,2.1.1,2.1.2,2.2.1,2.2.6,3.1.7,4.1.*,4.2.1,5.1.1,5.1.5,5.2.1,6.1.*,6.2.1,6.4.2,6.6.*,7.1.3,7.2.1,7.3.1,8.1.1,8.1.5,8.2.1,9.1.1,9.2.2,10.1.1,11.1.1,12.1.3,12.1.7,12.2.3,13.1.3';

/** Minimal XML well-formedness: one root, every start tag closed in order, attributes quoted, entities known. */
function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos);)/g)) {
    assert.ok(m[2] !== undefined, `stray '<' or '&' at ${m.index}`);
    if (m[1]) assert.equal(stack.pop(), m[2], `</${m[2]}> closes another element`);
    else {
      if (stack.length === 0) roots++;
      if (!m[4]) stack.push(m[2]);
    }
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'one root element');
}

test('self-test: the echo peer passes the cases, every broken variant is caught; reports are written and parse', {
  timeout: 120_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hopsafe-conf-test-'));
  try {
    const r = await selfTest({ reportDir: dir, cases: SUBSET, timeoutMs: 2000 });
    const notPassed = r.echo.cases.filter((c) => c.outcome !== 'pass').map((c) => `${c.id}: ${c.outcome} ${c.reason}`);
    assert.deepEqual(notPassed, [], 'every case passes against the echo peer');
    assert.equal(r.echo.cases.length, selectCases(SUBSET).length);
    for (const v of r.variants) {
      assert.deepEqual(v.missed, [], `variant ${v.variant} caught by all of ${CAUGHT_BY[v.variant].join(', ')}`);
      assert.deepEqual([...v.caught].sort(), [...CAUGHT_BY[v.variant]].sort());
      assert.deepEqual(v.spurious, [], `variant ${v.variant} passes its control cases 1.1.1, ${STILL_PASSES[v.variant].join(', ')}`);
      const outcomes = new Map(v.report.cases.map((c) => [c.id, c.outcome]));
      for (const id of ['1.1.1', ...STILL_PASSES[v.variant]]) assert.equal(outcomes.get(id), 'pass', `${v.variant}: control case ${id}`);
    }
    assert.deepEqual(
      r.variants.map((v) => v.variant),
      [...VARIANTS],
    );
    assert.deepEqual(CAUGHT_BY['ignores-limits'], ['12.1.3', '12.1.4', '12.1.5'], 'the limit variant is caught by the limit cases');
    assert.deepEqual(CAUGHT_BY['replaces-at-once'], ['1.2.1', '1.2.2'], 'the replacement variant is caught by the replacement cases');
    assert.equal(r.ok, true);

    const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as {
      iut: string;
      summary: { pass: number; fail: number };
      cases: { id: string; clause: string; transcript: unknown[] }[];
    };
    assert.equal(json.iut, 'hopsafe-echo');
    assert.equal(json.summary.fail, 0);
    assert.equal(json.summary.pass, json.cases.length);
    for (const c of json.cases) {
      assert.match(c.clause, /SPEC \d/, `${c.id} cites a clause`);
      assert.ok(c.transcript.length > 0, `${c.id} has a transcript`);
    }
    const xml = await readFile(join(dir, 'junit.xml'), 'utf8');
    assertWellFormedXml(xml);
    assert.match(xml, /<testsuites [^>]*failures="0"/);
    const variantXml = await readFile(join(dir, 'variant-skips-mac', 'junit.xml'), 'utf8');
    assertWellFormedXml(variantXml);
    assert.match(variantXml, /<failure /, 'the variant report records its failures');
    const page = await readFile(join(dir, 'report.html'), 'utf8');
    assert.match(page, /^<!doctype html>/);
    assert.ok(page.includes('6.6.1') && !/<script|<link /.test(page), 'one self-contained page with the case tree');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--cases selects by id glob; every case cites a SPEC clause and belongs to a group', () => {
  assert.deepEqual(
    selectCases('6.6.*').map((c) => c.id),
    ['6.6.1', '6.6.2', '6.6.3'],
  );
  assert.deepEqual(
    selectCases('9.1.1, 12.2.3').map((c) => c.id),
    ['9.1.1', '12.2.3'],
  );
  assert.equal(selectCases('1.1.*').length, 18, 'one case per suite (9, SPEC 4.1: 7 classical + 2 hybrid) and mode');
  assert.equal(selectCases('nothing-*').length, 0);
  assert.equal(selectCases(undefined).length, ALL_CASES.length);
  assert.equal(new Set(ALL_CASES.map((c) => c.id)).size, ALL_CASES.length, 'ids are unique');
  for (const c of ALL_CASES) {
    assert.match(c.id, /^\d+\.\d+\.\d+$/);
    assert.ok(GROUPS[c.id.split('.')[0] as string], `${c.id} is in a group`);
    assert.match(c.clause, /SPEC \d/);
  }
  for (const g of Object.keys(GROUPS))
    assert.ok(
      ALL_CASES.some((c) => c.id.startsWith(`${g}.`)),
      `group ${g} has cases`,
    );
});

test('control messages round-trip; other payloads are not control messages', () => {
  assert.deepEqual(decodeControl(encodeControl({ op: 'rekey' })), { op: 'rekey' });
  assert.deepEqual(decodeControl(encodeControl({ op: 'open', peer: 'conf-x', data: 'aGk=' })), {
    op: 'open',
    peer: 'conf-x',
    data: 'aGk=',
  });
  assert.equal(decodeControl(new TextEncoder().encode('hopsafe-conformance/1:{"op":"dance"}')), undefined);
  assert.equal(decodeControl(new TextEncoder().encode('hopsafe-conformance/1:not json')), undefined);
  assert.equal(decodeControl(new TextEncoder().encode('hello')), undefined);
});

test('CLI: --list honours --cases; a selection of nothing and a missing --iut are usage errors (exit 2)', () => {
  const list = spawnSync(process.execPath, [...CLI, 'conformance', '--list', '--cases', '9.2.*'], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.deepEqual(
    list.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]),
    selectCases('9.2.*').map((c) => c.id),
  );
  assert.equal(spawnSync(process.execPath, [...CLI, 'conformance', '--iut', 'x', '--cases', 'zzz'], { encoding: 'utf8' }).status, 2);
  assert.equal(spawnSync(process.execPath, [...CLI, 'conformance'], { encoding: 'utf8' }).status, 2);
});
