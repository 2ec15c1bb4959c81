/**
 * The conformance kit (SPEC Annex C) against hopsafe's own echo peer and the broken variants: a representative
 * subset of every group for the echo peer (the whole suite is `hopsafe conformance --self-test`, about a minute),
 * every variant against the cases meant to catch it; the three report formats; `--cases` selection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfTest, selfTestSuites } from '../../src/conformance/self-test.js';
import { runConformance, selectCases } from '../../src/conformance/runner.js';
import { suiteByName } from '../../src/crypto/suites.js';
import { ALL_CASES } from '../../src/conformance/cases/index.js';
import { GROUPS } from '../../src/conformance/case.js';
import { CAUGHT_BY, STILL_PASSES, VARIANTS } from '../../src/conformance/broken/echo-variant.js';
import { decodeControl, encodeControl, PKI_FILES } from '../../src/conformance/contract.js';

const CLI = existsSync('dist/cli/main.js') ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
const SUBSET =
  '1.1.1,1.1.2,1.1.15,1.1.18,1.2.1,2.1.1,2.1.2,2.2.1,2.2.6,2.2.8,2.2.9,3.1.7,4.1.*,4.2.1,5.1.1,5.1.5,5.2.1,6.1.*,6.2.1,6.4.2,6.6.*,7.1.3,7.2.1,7.3.1,8.1.1,8.1.5,8.2.1,9.1.1,9.2.2,10.1.1,11.1.1,12.1.3,12.1.7,12.2.3,13.1.3';

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

test('self-test: the hybrid X25519MLKEM768 cases pass against the echo peer, as responder and as initiator [SPEC 4.2, Annex C.3]', {
  timeout: 120_000,
}, async () => {
  const r = await selfTest({ cases: '1.1.15,1.1.16,1.1.17,1.1.18,2.2.7,2.2.8,2.2.9', timeoutMs: 2000, variants: [] });
  const got = Object.fromEntries(r.echo.cases.map((c) => [c.id, `${c.outcome}: ${c.reason}`]));
  for (const [id, name, mode] of [
    ['1.1.15', 'X25519MLKEM768_CHACHA20POLY1305_SHA256', 'confidentiality'],
    ['1.1.16', 'X25519MLKEM768_CHACHA20POLY1305_SHA256', 'integrity'],
    ['1.1.17', 'X25519MLKEM768_AES256GCM_SHA384', 'confidentiality'],
    ['1.1.18', 'X25519MLKEM768_AES256GCM_SHA384', 'integrity'],
  ] as const)
    assert.equal(got[id], `pass: session ${name}/${mode}, echo received`, id);
  assert.match(got['2.2.8'] ?? '', /^pass: session in X25519MLKEM768_CHACHA20POLY1305_SHA256\//);
  assert.match(got['2.2.9'] ?? '', /^pass: session in X25519MLKEM768_AES256GCM_SHA384\//);
  // [SPEC 4.1, 5.4] 5 groups enabled, 4 key shares at most: brainpoolP256r1 (last in the echo peer's list) is not offered
  assert.match(got['2.2.7'] ?? '', /^informational: BP256_AES128GCM_SHA256 is enabled \(--suite\) but not offerable: .*4 groups at most/);
  assert.deepEqual(
    r.echo.iutSuites,
    selfTestSuites().map((x) => x.name),
    'the report names the declared suites',
  );
  assert.equal(selfTestSuites().at(-1)?.group, 'brainpoolP256r1');
  assert.equal(r.ok, true);
});

/** Runs `cases` against `hopsafe peer --echo --suite …` (its suites `peerSuites`), the kit told `declared`. */
async function runDeclared(
  peerSuites: readonly string[],
  declared: readonly string[] | undefined,
  cases: string,
): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'hopsafe-conf-decl-'));
  let child: ChildProcess | undefined;
  try {
    const iut = 'decl-echo';
    const report = await runConformance({
      iut,
      brokerPort: 0,
      pkiDir: dir,
      cases,
      ...(declared ? { iutSuites: declared.map((n) => suiteByName(n)) } : {}),
      timeoutMs: 2000,
      connectTimeoutMs: 30_000,
      onReady: ({ brokerUrl }) => {
        const at = (f: string): string => join(dir, f);
        const files = [
          '--cert',
          at(PKI_FILES.chain(iut)),
          '--key',
          at(PKI_FILES.key(iut)),
          '--trust',
          at(PKI_FILES.root),
          '--crl',
          at(PKI_FILES.crl),
        ];
        child = spawn(
          process.execPath,
          [
            ...CLI,
            'peer',
            '--echo',
            '--id',
            iut,
            ...files,
            '--url',
            brokerUrl,
            '--accept-protection',
            'integrity,confidentiality',
            ...peerSuites.flatMap((n) => ['--suite', n]),
          ],
          { stdio: ['pipe', 'ignore', 'ignore'] },
        );
      },
    });
    return Object.fromEntries(report.cases.map((c) => [c.id, `${c.outcome}: ${c.reason}`]));
  } finally {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM'); // the peer this test spawned, by its handle
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

test('--suite declares what the IUT enables: an optional suite it refuses is informational unless declared, then it fails [SPEC 4.1, Annex C.1]', {
  timeout: 120_000,
}, async () => {
  // an IUT with the default-like classical list (hybrid not enabled, SPEC 4.1: opt-in)
  const peer = ['X25519_AES128GCM_SHA256', 'X25519_AES256GCM_SHA384'];
  const cases = '1.1.1,1.1.17,2.2.9';
  const [notDeclared, declaredRight, declaredWrong] = await Promise.all([
    runDeclared(peer, undefined, cases),
    runDeclared(peer, peer, cases),
    runDeclared(peer, [...peer, 'X25519MLKEM768_AES256GCM_SHA384'], cases),
  ]);
  for (const r of [notDeclared, declaredRight, declaredWrong]) assert.match(r['1.1.1'] ?? '', /^pass/);
  assert.match(
    notDeclared['1.1.17'] ?? '',
    /^informational: X25519MLKEM768_AES256GCM_SHA384 not accepted: an optional suite \(SPEC 4\.1\); the IUT's suites were not declared \(--suite/,
  );
  assert.match(
    notDeclared['2.2.9'] ?? '',
    /^informational: X25519MLKEM768_AES256GCM_SHA384 not offered by the IUT: an optional suite .*not declared/,
  );
  assert.match(declaredRight['1.1.17'] ?? '', /^informational: .* the IUT does not enable \(not in --suite\)$/);
  assert.match(declaredRight['2.2.9'] ?? '', /^informational: .* the IUT does not enable \(not in --suite\)$/);
  assert.match(
    declaredWrong['1.1.17'] ?? '',
    /^fail: no session with X25519MLKEM768_AES256GCM_SHA384 in confidentiality mode, which the IUT enables \(--suite\)/,
  );
  assert.match(declaredWrong['2.2.9'] ?? '', /^fail: the IUT's offer lacks X25519MLKEM768_AES256GCM_SHA384, which it enables \(--suite\)/);
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
  const bogus = spawnSync(process.execPath, [...CLI, 'conformance', '--iut', 'x', '--suite', 'X25519_NOPE'], { encoding: 'utf8' });
  assert.equal(bogus.status, 2);
  assert.match(bogus.stderr, /--suite "X25519_NOPE": unknown suite/);
  const noMandatory = spawnSync(process.execPath, [...CLI, 'conformance', '--iut', 'x', '--suite', 'X25519MLKEM768_AES256GCM_SHA384'], {
    encoding: 'utf8',
  });
  assert.equal(noMandatory.status, 2);
  assert.match(noMandatory.stderr, /must enable X25519_AES128GCM_SHA256/);
  const help = spawnSync(process.execPath, [...CLI, 'conformance', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /--suite NAME {6}a suite the IUT enables/);
  for (const line of help.stdout.split('\n')) assert.ok(line.length <= 80, `help line over 80 columns: ${line}`);
});
