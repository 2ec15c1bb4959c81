/** A member whose group keys are late: its GROUP_CTRL records are withheld while asked, then released. [SPEC 13.6] */
import { frameType, FrameType } from '../../src/codec/frame.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import type { FrameHandler, Transport } from '../../src/transport/transport.js';

/** Transports of a fresh memory hub (`hub`, for raw outsiders too); `a`'s withholds the GROUP_CTRL records it receives while `holding` (its key is late). */
export function lateKeys() {
  const hub = createMemoryHub();
  const withheld: (() => unknown)[] = [];
  const ctl = { holding: false };
  const transport = (id: string): Transport => {
    const t = hub.transport();
    if (id !== 'a') return t;
    return {
      ...t,
      open: (self: string, onFrame: FrameHandler) =>
        t.open(self, (f) => {
          if (ctl.holding && f.bytes.length > 0 && frameType(f.bytes) === FrameType.GROUP_CTRL) {
            withheld.push(() => onFrame(f));
            return;
          }
          return onFrame(f);
        }),
    };
  };
  return {
    hub,
    transport,
    ctl,
    withheld: () => withheld.length,
    async release(): Promise<void> {
      ctl.holding = false;
      for (const f of withheld.splice(0)) await f();
    },
  };
}
