#!/usr/bin/env node
/** `hopsafe` command line: dispatches to one module per sub-command (loaded lazily). */
import { HopsafeError } from '../errors/index.js';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  demo: { summary: 'run the end-to-end demo (embedded broker by default)', load: async () => (await import('./demo.js')).run },
  peer: { summary: 'JSON-lines peer on stdin/stdout for scripts and interop', load: async () => (await import('./peer.js')).run },
  bridge: { summary: 'forward opaque frames between transports', load: async () => (await import('./bridge.js')).run },
  bench: { summary: 'benchmarks: hopsafe vs TLS 1.3, JOSE and plain; writes bench/results and BENCHMARKS.md', load: async () => (await import('./bench.js')).run },
  vectors: { summary: 'generate or verify test-vector files', load: async () => (await import('./vectors.js')).run },
  pki: { summary: 'create and manage a test/utility PKI (init, issue, revoke, show)', load: async () => (await import('./pki.js')).run },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(8)} ${v.summary}`);
  return `usage: hopsafe <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'hopsafe <command> --help' for the options of one command.`;
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === '-h') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    console.error(`hopsafe: unknown command '${cmd}'\n\n${usage()}`);
    return 2;
  }
  const run = await entry.load();
  return run(rest);
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
