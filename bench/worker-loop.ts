/**
 * The worker side of e2e-worker-client.ts's Worker, shared by the forked benchmark workers (e2e-worker.ts,
 * groups-worker.ts): every command from the parent gets exactly one reply, `handle`'s, or `{ ok: false, error }` when
 * it fails; the worker exits when the parent disconnects. Kept apart from the client so that a worker imports nothing
 * of the parent's side (measure.ts sets a V8 flag when loaded).
 */

/** Serves the parent's commands with `handle` until the parent disconnects. */
export function serve<C>(handle: (cmd: C) => Promise<{ readonly ok: boolean }>): void {
  process.on('message', (m: C) => {
    handle(m).then(
      (r) => process.send?.(r),
      (e: unknown) => process.send?.({ ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
