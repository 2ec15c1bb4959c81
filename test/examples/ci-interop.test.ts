/**
 * examples/ci-interop (issue 16): the flags its workflow and scripts pass to `hopsafe peer` are flags `hopsafe peer
 * --help` lists (and the workflow's `interop.mjs` and `hopsafe pki init` flags exist too); interop.mjs passes against the
 * stand-in IUT echo-peer.mjs on an embedded broker, with a PKI from `hopsafe pki init` as the workflow makes it; and it
 * fails against an IUT that does not echo.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { ensureBuilt, ROOT } from './run-example.js';

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
  for (const f of ['--id', '--cert', '--key', '--trust', '--url', '--crl', '--protection']) assert.ok(peer.has(f), `peer --help lists ${f}`);

  // interop.mjs: the reference peer's arguments are the single-quoted '--flag' literals
  const interop = readFileSync(join(DIR, 'interop.mjs'), 'utf8');
  const peerArgs = [...interop.matchAll(/'(--[a-z-]+)'/g)].map((m) => m[1]!);
  assertSubset(peerArgs, peer, 'interop.mjs');
  assert.ok(['--id', '--cert', '--key', '--trust', '--url'].every((f) => peerArgs.includes(f)), `interop.mjs passes the required flags: ${peerArgs.join(' ')}`);

  // echo-peer.mjs hands its arguments to hopsafe peer: its documented command line
  const echo = readFileSync(join(DIR, 'echo-peer.mjs'), 'utf8');
  const echoUsage = echo.split('\n').filter((l) => l.includes('node echo-peer.mjs'));
  assert.equal(echoUsage.length, 1);
  assertSubset(flags(echoUsage[0]!.split('echo-peer.mjs')[1]!), peer, 'echo-peer.mjs usage');

  // workflow.yml: the IUT command (folded scalar) runs echo-peer.mjs with hopsafe peer flags
  const yml = readFileSync(join(DIR, 'workflow.yml'), 'utf8');
  const iutCmd = /IUT_CMD: >-\n((?: {12}.*\n)+)/.exec(yml)?.[1]?.replace(/\s+/g, ' ');
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
      resolve({ code, stdout, stderr, lines: stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) });
    });
  });
}
const show = (r: Run): string => `exit ${String(r.code)}\n${r.stdout}\n${r.stderr}`;

function pkiInit(dir: string, ref: string, iut: string): void {
  const r = spawnSync(process.execPath, [CLI, 'pki', 'init', '--dir', dir, '--endpoint', `${ref}:OPERATOR`, '--endpoint', `${iut}:VIEWER`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('interop.mjs passes against the stand-in IUT (echo-peer.mjs) on an embedded broker, as the workflow runs it', { timeout: 90_000 }, async () => {
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
  // the reference peer really held a session with the IUT and saw a key update
  assert.ok(r.lines.some((l) => l.ref === true && l.event === 'session' && l.peer === 'iut'), show(r));
  assert.ok(r.lines.some((l) => l.ref === true && l.event === 'rekeyed' && l.peer === 'iut'), show(r));
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
  assert.ok(r.lines.some((l) => l.check === 'before key update: 3 messages confirmed end to end by iut' && l.pass === true), `the confirmations still passed\n${show(r)}`);
  assert.ok(r.lines.some((l) => l.check === 'not done within 15 s' && l.pass === false), show(r));
});

test('interop.mjs without --pki/--url is a usage error (exit 2)', async () => {
  const r = await interop([], 20_000);
  assert.equal(r.code, 2, show(r));
  assert.match(r.stderr, /usage: node interop\.mjs/);
});
