#!/usr/bin/env node
/**
 * Runs the conformance kit (`hopsafe conformance`, SPEC Annex C) against an implementation under test (IUT), for CI.
 *
 * The kit creates a PKI in `--pki` and runs its own MQTT broker; only then can the IUT start, with the files the kit
 * wrote. This script does that in order: it starts `hopsafe conformance --iut ID --pki DIR --report DIR …`, waits
 * for the kit's `kit.json` (written last, once the broker listens), starts the IUT with `sh -c COMMAND` — the command
 * sees KIT_PKI (the PKI directory), KIT_BROKER_URL (the kit's broker), KIT_PREFIX (the topic prefix / AMQP exchange /
 * NATS subject prefix) and KIT_IUT (the IUT's id) in its environment
 * —, lets the kit run the cases, then stops the IUT and exits with the kit's status:
 *   0 no case failed, 1 a case failed, 2 usage error, 3 the IUT never answered (within --wait S).
 * The reports (report.json, report.html, junit.xml) are in `--report DIR`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `usage: node conformance.mjs --iut "COMMAND" [--iut-id ID] [--pki DIR] [--report DIR]
                           [--broker-port N | --broker URL [--prefix P]] [--suite NAME]...
                           [--cases GLOB[,GLOB]] [--timeout S] [--wait S]
  --iut CMD        start the implementation under test with sh -c CMD once the kit's PKI and broker are ready;
                   CMD sees KIT_PKI, KIT_BROKER_URL, KIT_PREFIX and KIT_IUT in its environment
  --iut-id ID      endpoint id of the implementation under test (default iut)
  --pki DIR        where the kit writes ca.pem, crl.pem, ID.pem, ID.key, kit.json (default ./conformance-pki)
  --report DIR     report.json, report.html, junit.xml (default ./conformance-report)
  --broker-port N  port of the kit's broker on 127.0.0.1 (default 18830; 0 = any free port)
  --broker URL     an AMQP (amqp://) or NATS (nats://) server instead, with --prefix P (default hopsafe)
  --suite NAME     a suite the IUT enables (repeatable, in its order; e.g. X25519MLKEM768_AES256GCM_SHA384)
  --cases GLOB     case ids to run, e.g. '1.*,6.1.*' (default all)
  --timeout S      seconds the kit waits for what must come (default 2)
  --wait S         seconds the kit waits for the IUT's first answer (default 120)
exit status: the kit's (0 no case failed, 1 a case failed, 2 usage error, 3 the IUT never answered)
env HOPSAFE_BIN: the hopsafe CLI (default: the installed package's bin, run with this node)`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      iut: { type: 'string' },
      'iut-id': { type: 'string', default: 'iut' },
      pki: { type: 'string', default: 'conformance-pki' },
      report: { type: 'string', default: 'conformance-report' },
      'broker-port': { type: 'string' },
      broker: { type: 'string' },
      prefix: { type: 'string' },
      suite: { type: 'string', multiple: true },
      cases: { type: 'string' },
      timeout: { type: 'string' },
      wait: { type: 'string', default: '120' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  console.error(`${e.message}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.iut) {
  console.error(USAGE);
  process.exit(2);
}

/** The hopsafe CLI: $HOPSAFE_BIN, or the bin of the package this script ships in / is installed next to. */
function hopsafeCommand() {
  if (process.env.HOPSAFE_BIN) return [process.env.HOPSAFE_BIN];
  const pkgJson = createRequire(import.meta.url).resolve('hopsafe/package.json');
  const { bin } = JSON.parse(readFileSync(pkgJson, 'utf8'));
  return [process.execPath, join(dirname(pkgJson), bin.hopsafe)];
}

const iutId = values['iut-id'];
const pki = resolve(values.pki);
const info = join(pki, 'kit.json');
rmSync(info, { force: true }); // the kit writes it anew once its PKI and broker are ready

// The kit: `hopsafe conformance` with its documented flags only (checked against its --help by the tests).
const [cmd, ...pre] = hopsafeCommand();
const kitArgs = ['conformance', '--iut', iutId, '--pki', pki, '--report', values.report, '--wait', values.wait];
// --broker and --broker-port exclude each other: both are passed on and the kit refuses them (exit 2)
if (values.broker) kitArgs.push('--broker', values.broker);
if (values['broker-port'] || !values.broker) kitArgs.push('--broker-port', values['broker-port'] ?? '18830');
if (values.prefix) kitArgs.push('--prefix', values.prefix);
for (const s of values.suite ?? []) kitArgs.push('--suite', s);
if (values.cases) kitArgs.push('--cases', values.cases);
if (values.timeout) kitArgs.push('--timeout', values.timeout);
const kit = spawn(cmd, [...pre, ...kitArgs], { stdio: ['ignore', 'inherit', 'inherit'] });
const kitExit = new Promise((r) => kit.on('exit', (code, signal) => r(code ?? (signal ? 1 : 0))));

/** True while a process of group `pgid` is alive. */
function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the IUT's process group (started by this script): SIGTERM, up to 5 s for every process to end, then SIGKILL. */
async function stopGroup(pgid) {
  if (!groupAlive(pgid)) return;
  process.kill(-pgid, 'SIGTERM');
  for (let i = 0; i < 50 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
}

let iut;
let ended = false;
void kitExit.then(() => (ended = true));
// Wait for kit.json (the kit exits early on a usage error: then there is nothing to start).
while (!ended && !existsSync(info)) await new Promise((r) => setTimeout(r, 100));
if (!ended) {
  let broker;
  let prefix;
  for (let i = 0; i < 50 && broker === undefined; i++) {
    try {
      ({ broker, prefix } = JSON.parse(readFileSync(info, 'utf8')));
    } catch {
      await new Promise((r) => setTimeout(r, 100)); // being written
    }
  }
  console.log(`conformance.mjs: starting the IUT (${iutId}) against ${broker}`);
  iut = spawn('sh', ['-c', values.iut], {
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true, // its own process group, so that everything it started is stopped with it
    env: { ...process.env, KIT_PKI: pki, KIT_BROKER_URL: broker, KIT_PREFIX: prefix, KIT_IUT: iutId },
  });
  iut.on('exit', (code, signal) => {
    if (!ended) console.error(`conformance.mjs: the IUT exited (${code ?? signal}) before the kit finished`);
  });
}

const code = await kitExit;
if (iut) await stopGroup(iut.pid);
console.log(`conformance.mjs: kit exit status ${code}; reports in ${values.report}`);
process.exit(code);
