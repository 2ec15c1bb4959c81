#!/usr/bin/env node
/** `hopsafe` command line: dispatches to one module per sub-command (loaded lazily). */
import { readFileSync } from 'node:fs';
import { HopsafeError } from '../errors/index.js';
import { catchShutdown } from './shutdown.js';
import { UsageError, usageFailure } from './usage.js';

type Command = (argv: string[]) => Promise<number>;

/** `runsUntilSignal`: SIGINT/SIGTERM are caught before the module loads and end the command with its own code (src/cli/shutdown.ts). */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command>; runsUntilSignal?: true }> = {
  demo: { summary: 'the end-to-end demo (embedded broker by default)', load: async () => (await import('./demo.js')).run },
  peer: {
    summary: 'JSON-lines peer on stdin/stdout for scripts and interop',
    load: async () => (await import('./peer.js')).run,
    runsUntilSignal: true,
  },
  bridge: {
    summary: 'forward opaque frames between transports',
    load: async () => (await import('./bridge.js')).run,
    runsUntilSignal: true,
  },
  vectors: { summary: 'generate or verify test-vector files', load: async () => (await import('./vectors.js')).run },
  conformance: {
    summary: 'test an implementation against SPEC.md Annex C (reports)',
    load: async () => (await import('./conformance.js')).run,
  },
  pki: { summary: 'create and manage a small PKI (init, issue, revoke, show)', load: async () => (await import('./pki.js')).run },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`);
  return `usage: hopsafe <command> [options]\n       hopsafe --version\n\ncommands:\n${lines.join('\n')}\n\nRun 'hopsafe <command> --help' for the options of one command.`;
}

/** The version in the package's package.json (two levels up from both src/cli and dist/cli). */
function version(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const v = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
  if (typeof v !== 'string') throw new HopsafeError('ERR_CONFIG', 'package.json has no version');
  return v;
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === '-h') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  if (cmd === '--version' || cmd === '-v') {
    console.log(version());
    return 0;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    return usageFailure('', `unknown command '${cmd}' (one of ${Object.keys(COMMANDS).join(', ')})`);
  }
  const shutdown = entry.runsUntilSignal ? catchShutdown() : undefined;
  const run = await entry.load();
  let code: number;
  try {
    code = await run(rest);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    code = usageFailure(cmd, e.message);
  }
  // stopped by a signal: end now, with the command's code, even if a connection it was still opening holds the loop
  if (shutdown?.signal !== undefined) process.exit(code);
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof HopsafeError) console.error(`hopsafe: ${e.code}: ${e.message}`);
    else console.error(e);
    process.exitCode = 1;
  },
);
