/**
 * examples/ci-interop (issues 16, 18): the flags its workflow and scripts pass to `hopsafe peer` and `hopsafe
 * conformance` are flags their --help lists (and the workflow's `interop.mjs`, `conformance.mjs` and `hopsafe pki
 * init` flags exist too); interop.mjs passes against the stand-in IUT echo-peer.mjs on an embedded broker, with a PKI
 * from `hopsafe pki init` as the workflow makes it, and fails against an IUT that does not echo; conformance.mjs runs
 * the kit against the workflow's KIT_IUT_CMD (`hopsafe peer --echo`) on a subset of cases, writes the reports the
 * workflow uploads and exits 0, and exits 1 against a broken IUT (the self-test's replay-accepting variant).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { ensureBuilt, ROOT } from './run-example.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';
import { randomBytes } from 'node:crypto';

const DIR = join(ROOT, 'examples', 'ci-interop');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'hopsafe-interop-'));
const brokers: RunningBroker[] = [];
/** A fresh embedded broker per run (as a CI job gets a fresh Mosquitto: no sessions left by an earlier run). */
async function freshBroker(): Promise<RunningBroker> {
  const b = await startBroker();
  brokers.push(b);
  return b;
}

before(() => ensureBuilt(), { timeout: 200_000 });
after(async () => {
  for (const b of brokers) await b.close();
  rmSync(tmp, { recursive: true, force: true });
});

const flags = (s: string): string[] => [...new Set([...s.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]))];
function help(args: string[], script = CLI): Set<string> {
  const r = spawnSync(process.execPath, [script, ...args, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${args.join(' ')} --help: ${r.stderr}`);
  return new Set(flags(r.stdout));
}
const assertSubset = (used: string[], known: Set<string>, where: string): void => {
  assert.ok(used.length > 0, `${where}: no flags found (the extraction broke)`);
  const unknown = used.filter((f) => !known.has(f));
  assert.deepEqual(unknown, [], `${where} uses flags that are not in the help: ${unknown.join(', ')} (known: ${[...known].join(' ')})`);
};

test('the workflow and scripts pass hopsafe peer only flags that `hopsafe peer --help` lists', () => {
  const peer = help(['peer']);
  for (const f of ['--id', '--cert', '--key', '--trust', '--url', '--crl', '--protection'])
    assert.ok(peer.has(f), `peer --help lists ${f}`);

  // interop.mjs: the reference peer's arguments are the single-quoted '--flag' literals
  const interop = readFileSync(join(DIR, 'interop.mjs'), 'utf8');
  const peerArgs = [...interop.matchAll(/'(--[a-z-]+)'/g)].map((m) => m[1]!);
  assertSubset(peerArgs, peer, 'interop.mjs');
  assert.ok(
    ['--id', '--cert', '--key', '--trust', '--url'].every((f) => peerArgs.includes(f)),
    `interop.mjs passes the required flags: ${peerArgs.join(' ')}`,
  );

  // echo-peer.mjs hands its arguments to hopsafe peer: its documented command line
  const echo = readFileSync(join(DIR, 'echo-peer.mjs'), 'utf8');
  const echoUsage = echo.split('\n').filter((l) => l.includes('node echo-peer.mjs'));
  assert.equal(echoUsage.length, 1);
  assertSubset(flags(echoUsage[0]!.split('echo-peer.mjs')[1]!), peer, 'echo-peer.mjs usage');

  // workflow.yml: the IUT command (folded scalar) runs echo-peer.mjs with hopsafe peer flags
  const yml = readFileSync(join(DIR, 'workflow.yml'), 'utf8');
  const iutCmd = / IUT_CMD: >-\n((?: {12}.*\n)+)/.exec(yml)?.[1]?.replace(/\s+/g, ' ');
  assert.ok(iutCmd !== undefined && iutCmd.includes('echo-peer.mjs'), 'workflow.yml has an IUT_CMD running echo-peer.mjs');
  assertSubset(flags(iutCmd.split('echo-peer.mjs')[1]!), peer, 'workflow.yml IUT_CMD');

  // …and interop.mjs / hopsafe pki init with flags they know
  const interopRun = /node "\$HOPSAFE_EXAMPLES\/ci-interop\/interop\.mjs"([^\n]*\\\n[^\n]*)/.exec(yml)?.[1];
  assert.ok(interopRun, 'workflow.yml runs interop.mjs');
  assertSubset(flags(interopRun), help([], join(DIR, 'interop.mjs')), 'workflow.yml interop.mjs');
  const pkiInit = /hopsafe pki init([^\n]*)/.exec(yml)?.[1];
  assert.ok(pkiInit, 'workflow.yml runs hopsafe pki init');
  assertSubset(flags(pkiInit), help(['pki']), 'workflow.yml pki init');
});

/** The conformance job of workflow.yml: the IUT command, the conformance.mjs command line, the uploaded path. */
function conformanceJob(): { iutCmd: string; run: string; uploaded: string } {
  const yml = readFileSync(join(DIR, 'workflow.yml'), 'utf8');
  const job = yml.split(/\n {2}conformance:\n/)[1];
  assert.ok(job !== undefined, 'workflow.yml has a conformance job');
  const iutCmd = /KIT_IUT_CMD: >-\n((?: {12}.*\n)+)/.exec(job)?.[1]?.replace(/\s+/g, ' ').trim();
  const run = /node "\$HOPSAFE_EXAMPLES\/ci-interop\/conformance\.mjs"([^\n]*\\\n[^\n]*)/.exec(job)?.[1];
  const uploaded = /uses: actions\/upload-artifact@v4\n(?: {8}.*\n)*? {10}path: (\S+)/.exec(job)?.[1];
  assert.ok(iutCmd && run && uploaded, `the conformance job has KIT_IUT_CMD, a conformance.mjs step and an upload-artifact step:\n${job}`);
  return { iutCmd, run, uploaded };
}

test('the conformance job passes hopsafe conformance / hopsafe peer only flags their --help lists, and uploads the report directory', () => {
  const { iutCmd, run, uploaded } = conformanceJob();
  // conformance.mjs: the kit's arguments are the single-quoted '--flag' literals
  const script = readFileSync(join(DIR, 'conformance.mjs'), 'utf8');
  const kitArgs = [...script.matchAll(/'(--[a-z-]+)'/g)].map((m) => m[1]!);
  assertSubset(kitArgs, help(['conformance']), 'conformance.mjs');
  assert.ok(
    ['--iut', '--pki', '--report'].every((f) => kitArgs.includes(f)),
    `conformance.mjs passes --iut, --pki and --report: ${kitArgs.join(' ')}`,
  );
  // the workflow's conformance.mjs flags, and the stand-in IUT: hopsafe peer --echo with hopsafe peer flags
  assertSubset(flags(run), help([], join(DIR, 'conformance.mjs')), 'workflow.yml conformance.mjs');
  assert.match(iutCmd, /^npx hopsafe peer --echo /);
  assertSubset(flags(iutCmd.split(' peer ')[1]!), help(['peer']), 'workflow.yml KIT_IUT_CMD');
  // the artifact is the directory the step writes its reports into
  assert.equal(uploaded.replace(/\/$/, ''), /--report (\S+)/.exec(run)?.[1], 'upload-artifact path is the --report directory');
});

/** Runs conformance.mjs as the workflow's step does (its flags), on a private port and directories, a case subset. */
function conformance(iutCmd: string, name: string, cases: string, timeoutMs: number): Promise<Run & { report: string }> {
  const { run } = conformanceJob();
  const report = join(tmp, `report-${name}`);
  const args = [...run.replace(/\\\n/g, ' ').matchAll(/"[^"]*"|\S+/g)].map((m) => m[0]);
  // the workflow's flags, with this test's IUT command, directories, a free port and a subset of the cases
  const own: Record<string, string> = { '--iut': iutCmd, '--pki': join(tmp, `kit-pki-${name}`), '--report': report };
  const argv = args
    .flatMap((a, i) => (a.startsWith('--') ? [a, own[a] ?? args[i + 1]!.replace(/^"|"$/g, '')] : []))
    .concat(['--broker-port', '0', '--cases', cases]);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(DIR, 'conformance.mjs'), ...argv], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, lines: [], report });
    });
  });
}
/** The workflow's KIT_IUT_CMD with this repository's CLI for `npx hopsafe`. */
const kitIutCmd = (): string => conformanceJob().iutCmd.replace(/^npx hopsafe /, `node ${CLI} `);

const CONFORMANCE_CASES = '1.1.1,1.2.1,4.1.1,6.1.1,6.6.1,7.1.1,8.1.1,9.1.1,12.1.3';

test("conformance.mjs runs the kit against the workflow's stand-in IUT (hopsafe peer --echo): every case passes, reports written, exit 0", {
  timeout: 60_000,
}, async () => {
  const r = await conformance(kitIutCmd(), 'ok', CONFORMANCE_CASES, 55_000);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /9 cases: 9 pass, 0 fail/, show(r));
  const json = JSON.parse(readFileSync(join(r.report, 'report.json'), 'utf8')) as {
    iut: string;
    summary: { pass: number; fail: number };
    cases: { id: string; outcome: string }[];
  };
  assert.equal(json.iut, 'iut');
  assert.deepEqual(
    json.cases.map((c) => [c.id, c.outcome]),
    CONFORMANCE_CASES.split(',').map((id) => [id, 'pass']),
  );
  const xml = readFileSync(join(r.report, 'junit.xml'), 'utf8');
  assert.match(xml, /<testsuites [^>]*tests="9"[^>]*failures="0"|<testsuites [^>]*failures="0"[^>]*tests="9"/, xml.slice(0, 300));
  assert.match(readFileSync(join(r.report, 'report.html'), 'utf8'), /^<!doctype html>/);
  // the IUT the script started is stopped with it
  assert.doesNotMatch(
    spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout,
    new RegExp(`peer --echo --id iut --cert ${join(tmp, 'kit-pki-ok')}/`),
  );
});

test('conformance.mjs exits 1 (the job fails) against an IUT that accepts replays; junit.xml records the failure', {
  timeout: 40_000,
}, async () => {
  const variant = join(ROOT, 'dist', 'conformance', 'broken', 'echo-variant.js');
  const iut = `node ${variant} accepts-replays --id iut --cert $KIT_PKI/iut.pem --key $KIT_PKI/iut.key --trust $KIT_PKI/ca.pem --crl $KIT_PKI/crl.pem --url $KIT_BROKER_URL`;
  const r = await conformance(iut, 'replays', '1.1.1,6.6.1', 35_000);
  assert.equal(r.code, 1, show(r));
  assert.match(r.stdout, /FAIL 6\.6\.1/, show(r));
  assert.match(r.stdout, /PASS 1\.1\.1/, show(r));
  const xml = readFileSync(join(r.report, 'junit.xml'), 'utf8');
  assert.match(xml, /<testcase [^>]*6\.6\.1[^>]*>\s*<failure /, xml);
});

test('conformance.mjs --broker nats://… --prefix P --suite …: the kit runs over NATS, the IUT gets KIT_PREFIX, declared hybrid cases pass', {
  timeout: 60_000,
}, async (t) => {
  if (!requireOrSkip(t, 'NATS 127.0.0.1:4222', await serviceAvailable('127.0.0.1', 4222))) return;
  const pki = join(tmp, 'kit-pki-nats');
  const report = join(tmp, 'report-nats');
  const prefix = `hopsafe-ci-${randomBytes(4).toString('hex')}`;
  const suites = ['X25519_AES128GCM_SHA256', 'X25519MLKEM768_AES256GCM_SHA384'];
  const iut = `node ${CLI} peer --echo --id "$KIT_IUT" --cert "$KIT_PKI/$KIT_IUT.pem" --key "$KIT_PKI/$KIT_IUT.key" --trust "$KIT_PKI/ca.pem" --crl "$KIT_PKI/crl.pem" --url "$KIT_BROKER_URL" --prefix "$KIT_PREFIX" --accept-protection integrity,confidentiality ${suites.map((x) => `--suite ${x}`).join(' ')}`;
  const argv = [join(DIR, 'conformance.mjs'), '--iut', iut, '--pki', pki, '--report', report, '--broker', 'nats://127.0.0.1:4222'];
  argv.push('--prefix', prefix, ...suites.flatMap((x) => ['--suite', x]), '--cases', '1.1.1,1.1.17,2.2.9');
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8', timeout: 55_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /3 cases: 3 pass, 0 fail/);
  const json = JSON.parse(readFileSync(join(report, 'report.json'), 'utf8')) as { brokerUrl: string; prefix: string; iutSuites: string[] };
  assert.equal(json.brokerUrl, 'nats://127.0.0.1:4222');
  assert.equal(json.prefix, prefix);
  assert.deepEqual(json.iutSuites, suites);
});

test('conformance.mjs without --iut is a usage error (exit 2); an IUT that never answers is exit 3', { timeout: 30_000 }, async () => {
  const usage = spawnSync(process.execPath, [join(DIR, 'conformance.mjs')], { encoding: 'utf8' });
  assert.equal(usage.status, 2, usage.stderr);
  assert.match(usage.stderr, /usage: node conformance\.mjs/);
  const pki = join(tmp, 'kit-pki-silent');
  const silent = spawnSync(
    process.execPath,
    [
      join(DIR, 'conformance.mjs'),
      '--iut',
      'sleep 30',
      '--pki',
      pki,
      '--report',
      join(tmp, 'report-silent'),
      '--broker-port',
      '0',
      '--wait',
      '3',
      '--cases',
      '1.1.1',
    ],
    { encoding: 'utf8', timeout: 25_000 },
  );
  assert.equal(silent.status, 3, `${silent.stdout}\n${silent.stderr}`);
  assert.match(silent.stderr, /did not answer/);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}
function interop(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(DIR, 'interop.mjs'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        lines: stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      });
    });
  });
}
const show = (r: Run): string => `exit ${String(r.code)}\n${r.stdout}\n${r.stderr}`;

function pkiInit(dir: string, ref: string, iut: string): void {
  const r = spawnSync(
    process.execPath,
    [CLI, 'pki', 'init', '--dir', dir, '--endpoint', `${ref}:OPERATOR`, '--endpoint', `${iut}:VIEWER`],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
}

test('interop.mjs passes against the stand-in IUT (echo-peer.mjs) on an embedded broker, as the workflow runs it', {
  timeout: 90_000,
}, async () => {
  const broker = await freshBroker();
  const pki = join(tmp, 'pki-ok');
  pkiInit(pki, 'hopsafe-ref', 'iut');
  const iut = `node ${join(DIR, 'echo-peer.mjs')} --id iut --cert ${pki}/iut.pem --key ${pki}/iut.key --trust ${pki}/ca.pem --crl ${pki}/crl.pem --url ${broker.url}`;
  const r = await interop(['--pki', pki, '--url', broker.url, '--iut', iut, '--count', '10', '--timeout', '60'], 80_000);
  assert.equal(r.code, 0, show(r));
  const checks = r.lines.filter((l) => 'check' in l);
  assert.deepEqual(
    checks.map((c) => [c.check, c.pass]),
    [
      ['iut is up', true],
      ['before key update: 10 messages confirmed end to end by iut', true],
      ['key update', true],
      ['after key update: 10 messages confirmed end to end by iut', true],
      ['iut sent every message back unchanged', true],
    ],
    show(r),
  );
  const summary = r.lines.at(-1)!;
  assert.equal(summary.summary, 'ok');
  assert.equal(summary.sent, 20);
  assert.equal(summary.echoed, 20, 'echoed counts the test messages that came back, never more than were sent');
  assert.ok(typeof summary.hellosEchoed === 'number' && summary.hellosEchoed >= 1, 'the warm-up hellos are counted apart');
  // the reference peer really held a session with the IUT and saw a key update
  assert.ok(
    r.lines.some((l) => l.ref === true && l.event === 'session' && l.peer === 'iut'),
    show(r),
  );
  assert.ok(
    r.lines.some((l) => l.ref === true && l.event === 'rekeyed' && l.peer === 'iut'),
    show(r),
  );
});

test('interop.mjs fails (exit 1) against an IUT that accepts but does not send the messages back', { timeout: 60_000 }, async () => {
  const broker = await freshBroker();
  const pki = join(tmp, 'pki-mute');
  pkiInit(pki, 'hopsafe-ref', 'iut');
  // a plain hopsafe peer (its stdin held open so it keeps running): confirms everything, echoes nothing
  const iut = `sleep 60 | node ${CLI} peer --id iut --cert ${pki}/iut.pem --key ${pki}/iut.key --trust ${pki}/ca.pem --url ${broker.url}`;
  const r = await interop(['--pki', pki, '--url', broker.url, '--iut', iut, '--count', '3', '--timeout', '15'], 45_000);
  assert.equal(r.code, 1, show(r));
  assert.equal(r.lines.at(-1)?.summary, 'FAILED');
  assert.ok(
    r.lines.some((l) => l.check === 'before key update: 3 messages confirmed end to end by iut' && l.pass === true),
    `the confirmations still passed\n${show(r)}`,
  );
  assert.ok(
    r.lines.some((l) => l.check === 'not done within 15 s' && l.pass === false),
    show(r),
  );
});

test('interop.mjs without --pki/--url is a usage error (exit 2)', async () => {
  const r = await interop([], 20_000);
  assert.equal(r.code, 2, show(r));
  assert.match(r.stderr, /usage: node interop\.mjs/);
});
