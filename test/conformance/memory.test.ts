import { createMemoryHub } from '../../src/bindings/memory.js';
import { toHex } from '../../src/bytes/index.js';
import { conformance } from './suite.js';

const hub = createMemoryHub({ maxFrameSize: 1024 * 1024 });
conformance({
  name: 'memory hub',
  transport: () => hub.transport(),
  maxPayload: 1024 * 1024 - 100,
  maxFrameSize: 1024 * 1024,
  async spy() {
    const seen: string[] = [];
    const off = hub.tap((f) => void seen.push(toHex(f.bytes)));
    return { seen: () => seen, close: async () => off() };
  },
});
