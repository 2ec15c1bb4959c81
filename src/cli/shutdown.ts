/**
 * SIGINT/SIGTERM for the commands that run until they are told to stop (`hopsafe bridge`, SPEC 8.5: "runs until
 * SIGINT/SIGTERM, exits 0"). From the first `catchShutdown()` on, both signals are caught for the rest of the
 * process, so neither ends it with the default action (exit 130 / 143) — not while the command module is still
 * loading (src/cli/main.ts calls it before the lazy import), not while it connects, not while it closes. The
 * first signal resolves `requested`; a second one ends the process at once, without waiting for the close.
 */

export interface Shutdown {
  /** Resolves with the first SIGINT/SIGTERM. */
  readonly requested: Promise<NodeJS.Signals>;
  /** The first signal, once one arrived. */
  readonly signal: NodeJS.Signals | undefined;
}

let current: Shutdown | undefined;

/** The process's one Shutdown (created, and the signals caught, on the first call). */
export function catchShutdown(): Shutdown {
  if (current) return current;
  let first: NodeJS.Signals | undefined;
  let resolve!: (s: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const onSignal = (s: NodeJS.Signals): void => {
    if (first === undefined) {
      first = s;
      resolve(s);
      return;
    }
    console.error(`hopsafe: ${s} again: exiting without waiting for connections to close`);
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  current = {
    requested,
    get signal() {
      return first;
    },
  };
  return current;
}
