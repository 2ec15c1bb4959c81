/**
 * Usage errors of the CLI (exit 2): one line naming what is wrong, then a hint where the options are described —
 * never the whole help text (`--help` prints that, on stdout, exit 0).
 */

/** A bad command line (an unknown flag, a missing or malformed value): exit 2. */
export class UsageError extends Error {}

/** Prints `hopsafe CMD: MESSAGE` and the `--help` hint on stderr; returns the usage-error exit code 2. */
export function usageFailure(cmd: string, message: string): number {
  const where = cmd === '' ? 'hopsafe' : `hopsafe ${cmd}`;
  console.error(`${where}: ${message}\nsee '${where} --help' for usage`);
  return 2;
}
