#!/usr/bin/env node
/**
 * A stand-in implementation under test: `hopsafe peer` (given all its flags as they are) plus the interop contract —
 * every message received is sent back to its sender, unchanged. Use it to try the workflow before your own
 * implementation is ready, or as the template of a thin adapter between interop.mjs and your code.
 *
 *   node echo-peer.mjs --id iut --cert pki/iut.pem --key pki/iut.key --trust pki/ca.pem --url mqtt://127.0.0.1:1883
 *
 * Ends (closing the peer cleanly) on SIGTERM or SIGINT.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

function hopsafeCommand() {
  if (process.env.HOPSAFE_BIN) return [process.env.HOPSAFE_BIN];
  const pkgJson = createRequire(import.meta.url).resolve('hopsafe/package.json');
  const { bin } = JSON.parse(readFileSync(pkgJson, 'utf8'));
  return [process.execPath, join(dirname(pkgJson), bin.hopsafe)];
}

const [cmd, ...pre] = hopsafeCommand();
const peer = spawn(cmd, [...pre, 'peer', ...process.argv.slice(2)], { stdio: ['pipe', 'pipe', 'inherit'] });
createInterface({ input: peer.stdout }).on('line', (line) => {
  const e = JSON.parse(line);
  if (e.event === 'message') peer.stdin.write(`${JSON.stringify({ to: e.from, data: e.data })}\n`);
  else if (e.event === 'reject' || e.event === 'error' || e.event === 'unconfirmed') console.error(`echo-peer: ${line}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => peer.stdin.end()); // the peer sends its ACKs, closes
peer.on('exit', (code) => process.exit(code ?? 1));
