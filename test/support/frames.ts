import type { InboundFrame, Transport } from '../../src/transport/transport.js';

export interface Receiver {
  readonly t: Transport;
  readonly got: InboundFrame[];
  /** Resolves once `n` frames arrived; rejects after 8 s. */
  wait(n: number): Promise<InboundFrame[]>;
}

/** Opens `t` as `id`, collecting frames; registers its close in `cleanup`. */
export async function receiver(t: Transport, id: string, cleanup: Array<() => Promise<unknown>>): Promise<Receiver> {
  const got: InboundFrame[] = [];
  await t.open(id, (f) => void got.push(f));
  cleanup.push(() => t.close());
  return {
    t,
    got,
    async wait(n) {
      const deadline = Date.now() + 8000;
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`${id}: timeout with ${got.length}/${n} frames`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return got;
    },
  };
}
