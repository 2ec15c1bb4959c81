/**
 * Usage errors of the CLI (exit 2): one line naming what is wrong, then a hint where the options are described —
 * never the whole help text (`--help` prints that, on stdout, exit 0).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** A bad command line (an unknown flag, a missing or malformed value): exit 2. */
export class UsageError extends Error {}

/** Prints `hopsafe CMD: MESSAGE` and the `--help` hint on stderr; returns the usage-error exit code 2. */
export function usageFailure(cmd: string, message: string): number {
  const where = cmd === '' ? 'hopsafe' : `hopsafe ${cmd}`;
  console.error(`${where}: ${message}\nsee '${where} --help' for usage`);
  return 2;
}

/**
 * `parseArgs` for a command (strict: an unknown flag or a bad value is a UsageError, exit 2): every command parses
 * its flags through here.
 */
export function parseFlags<const O extends Options, const P extends boolean = false>(
  argv: string[],
  options: O,
  allowPositionals?: P,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: P }>> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: (allowPositionals ?? false) as P });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
