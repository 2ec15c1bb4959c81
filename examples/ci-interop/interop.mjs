#!/usr/bin/env node
/**
 * Interoperability check of a hopsafe implementation under test (IUT) against the reference `hopsafe peer`.
 *
 * The IUT runs as endpoint `--iut-id` (default `iut`) on the same broker, with the certificate `<pki>/<iut-id>.pem` and
 * trust anchor `<pki>/ca.pem` (as `hopsafe pki init` writes them), and sends every message it receives back to its
 * sender, unchanged. This script starts the reference peer as `--ref-id` (default `hopsafe-ref`), optionally starts
 * the IUT itself (`--iut 'command'`, run by sh), waits until a first message to the IUT is confirmed (retried every
 * second while the IUT starts), and checks, driving `hopsafe peer` through its JSON lines:
 *   1. `--count` messages to the IUT with "confirm": true: each must be acknowledged end to end (the IUT opened the
 *      session, decrypted, verified, delivered and acknowledged — SPEC 7.6);
 *   2. a key update ({"rekey": …}) and `--count` more messages, confirmed under the new keys;
 *   3. every message comes back from the IUT with the same bytes (the IUT's own sending: handshake or session reuse,
 *      records, acknowledgements of ours);
 *   4. no reject, error or unconfirmed event on the reference side.
 * Prints JSON lines (the reference peer's events with "ref": true, then a summary) and exits 0 when all passed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const USAGE = `usage: node interop.mjs --pki DIR --url URL [--iut "COMMAND"] [--ref-id ID] [--iut-id ID] [--count N]
                       [--protection confidentiality|integrity] [--timeout SECONDS]
  --pki DIR      ca.pem (+ crl.pem), <ref-id>.pem/.key and the IUT's certificate, as \`hopsafe pki init\` writes them
  --url URL      the broker both sides use (mqtt://, mqtts://, amqp://, ...)
  --iut CMD      start the implementation under test with sh -c CMD (else it must be running already)
  --ref-id ID    endpoint id of the reference peer (default hopsafe-ref)
  --iut-id ID    endpoint id of the implementation under test (default iut)
  --count N      messages per phase (default 20)
  --timeout S    seconds for the whole check (default 60)
env HOPSAFE_BIN: the hopsafe CLI (default: the installed package's bin, run with this node)`;

const { values } = parseArgs({
  options: {
    pki: { type: 'string' },
    url: { type: 'string' },
    iut: { type: 'string' },
    'ref-id': { type: 'string', default: 'hopsafe-ref' },
    'iut-id': { type: 'string', default: 'iut' },
    count: { type: 'string', default: '20' },
    protection: { type: 'string', default: 'confidentiality' },
    timeout: { type: 'string', default: '60' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const count = Number(values.count);
const timeoutMs = Number(values.timeout) * 1000;
if (!values.pki || !values.url || !Number.isInteger(count) || count < 1 || !(timeoutMs > 0)) {
  console.error(USAGE);
  process.exit(2);
}
const ref = values['ref-id'];
const iut = values['iut-id'];
const pki = (name) => join(values.pki, name);

/** The hopsafe CLI: $HOPSAFE_BIN, or the bin of the package this script ships in / is installed next to. */
function hopsafeCommand() {
  if (process.env.HOPSAFE_BIN) return [process.env.HOPSAFE_BIN];
  const pkgJson = createRequire(import.meta.url).resolve('hopsafe/package.json');
  const { bin } = JSON.parse(readFileSync(pkgJson, 'utf8'));
  return [process.execPath, join(dirname(pkgJson), bin.hopsafe)];
}

const out = (o) => console.log(JSON.stringify(o));
const failures = [];
const fail = (why) => {
  failures.push(why);
  out({ check: why, pass: false });
};

// The reference peer: `hopsafe peer` with its documented flags only (checked against `hopsafe peer --help` by the tests).
const [cmd, ...pre] = hopsafeCommand();
const peerArgs = [
  'peer',
  '--id',
  ref,
  '--cert',
  pki(`${ref}.pem`),
  '--key',
  pki(`${ref}.key`),
  '--trust',
  pki('ca.pem'),
  '--url',
  values.url,
  '--protection',
  values.protection,
];
if (existsSync(pki('crl.pem'))) peerArgs.push('--crl', pki('crl.pem'));
const peer = spawn(cmd, [...pre, ...peerArgs], { stdio: ['pipe', 'pipe', 'inherit'] });
const iutProc = values.iut ? spawn('sh', ['-c', values.iut], { stdio: ['ignore', 'pipe', 'inherit'], detached: true }) : undefined;
// The IUT's output goes to ours; its end (every process of the IUT's command closed it) tells that the IUT is done.
const iutOutputEnded = iutProc ? new Promise((r) => iutProc.stdout.once('end', r)) : Promise.resolve();
iutProc?.stdout.pipe(process.stdout, { end: false });

// Until the IUT answered once, failures are expected (it may still be starting: a handshake it receives before it
// started is refused as stale, SPEC 5.6) and retried.
let warmingUp = true;
const waiters = [];
const events = [];
createInterface({ input: peer.stdout }).on('line', (line) => {
  let e;
  try {
    e = JSON.parse(line);
  } catch {
    return fail(`hopsafe peer printed a line that is not JSON: ${line}`);
  }
  events.push(e);
  out({ ref: true, ...e, ...(typeof e.data === 'string' ? { data: `${e.data.length} base64 chars` } : {}) });
  if (!warmingUp && (e.event === 'reject' || e.event === 'error' || e.event === 'unconfirmed'))
    fail(`reference peer reported ${e.event} ${e.code ?? ''}`);
  for (const w of [...waiters])
    if (w.pred(e)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
});
const peerExit = new Promise((r) => peer.on('exit', (code) => r(code)));
const next = (pred, what) =>
  new Promise((resolve, reject) => {
    const hit = events.find(pred);
    if (hit) return resolve(hit);
    waiters.push({ pred, resolve });
    void peerExit.then((code) => reject(new Error(`hopsafe peer exited (${code}) while waiting for ${what}`)));
  });

let line = 0;
const send = (o) => {
  peer.stdin.write(`${JSON.stringify(o)}\n`);
  return ++line;
};
const sent = [];
async function phase(name) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    const data = Buffer.from(`interop ${name} ${i} ${randomBytes(8).toString('hex')}`).toString('base64');
    sent.push(data);
    lines.push(send({ to: iut, data, confirm: true }));
  }
  const settled = await Promise.all(
    lines.map((n) => next((e) => e.line === n && (e.event === 'confirmed' || e.event === 'error'), `the outcome of line ${n}`)),
  );
  const confirmed = settled.filter((e) => e.event === 'confirmed').length;
  out({ check: `${name}: ${count} messages confirmed end to end by ${iut}`, pass: confirmed === count, confirmed });
  if (confirmed !== count) failures.push(name);
}

const deadline = setTimeout(() => {
  fail(`not done within ${values.timeout} s`);
  void finish();
}, timeoutMs);

let finished = false;
async function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(deadline);
  peer.stdin.end();
  const code = await Promise.race([peerExit, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
  if (code === 'timeout') peer.kill();
  if (iutProc) {
    try {
      process.kill(-iutProc.pid, 'SIGTERM'); // the IUT's process group, which this script started
    } catch {
      /* already gone */
    }
    // its last output (a hopsafe peer prints {"event":"closed"} on SIGTERM) comes before the summary: wait for the
    // IUT's output to end, not for the shell to exit (the peer in a pipeline may still be writing when sh is gone)
    await Promise.race([iutOutputEnded, new Promise((r) => setTimeout(r, 5000))]);
  }
  // echoed: how many of the sent test messages came back (the IUT also echoes the warm-up hellos: counted apart)
  const mine = new Set(sent);
  const back = echoed();
  out({
    summary: failures.length === 0 ? 'ok' : 'FAILED',
    failures,
    sent: sent.length,
    echoed: back.filter((d) => mine.has(d)).length,
    hellosEchoed: back.filter((d) => !mine.has(d)).length,
  });
  process.exit(failures.length === 0 ? 0 : 1);
}
const echoed = () => events.filter((e) => e.event === 'message' && e.from === iut).map((e) => e.data);

try {
  await next((e) => e.event === 'ready', 'ready');
  // 0. Wait for the IUT: a confirmed hello, retried every second.
  for (let attempt = 1; ; attempt++) {
    const n = send({ to: iut, data: Buffer.from(`hello ${attempt}`).toString('base64'), confirm: true });
    const r = await next((e) => e.line === n && (e.event === 'confirmed' || e.event === 'error'), 'the hello');
    if (r.event === 'confirmed') break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  warmingUp = false;
  out({ check: `${iut} is up`, pass: true });
  await phase('before key update');
  const n = send({ rekey: iut });
  const r = await next((e) => e.line === n && (e.event === 'rekeyed' || e.event === 'error'), 'the key update');
  out({ check: 'key update', pass: r.event === 'rekeyed' });
  if (r.event !== 'rekeyed') failures.push('key update');
  await phase('after key update');
  // every payload comes back from the IUT, unchanged
  const want = new Set(sent);
  await next(() => echoed().filter((d) => want.has(d)).length >= want.size, 'the echoes').catch(() => undefined);
  const back = new Set(echoed());
  const missing = sent.filter((d) => !back.has(d)).length;
  out({ check: `${iut} sent every message back unchanged`, pass: missing === 0, missing });
  if (missing > 0) failures.push('echo');
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
}
await finish();
