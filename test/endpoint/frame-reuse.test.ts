/**
 * [SPEC 8, 3.7] Large frames sealed into reused memory (issue 19): over a transport that copies frames in `send`
 * (`copiesFrames`, every shipped binding) the endpoint reuses the memory of its large DATA frames, alone or coalesced
 * into BATCH frames, and every message still arrives intact, in order, once; over a transport that keeps the array it
 * was given, the endpoint never reuses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { MessageEvent } from '../../src/endpoint/events.js';
import type { Transport } from '../../src/transport/transport.js';
import { createTestPki } from '../../src/testing/index.js';
import { FRAME_POOL_MIN } from '../../src/bytes/frame-pool.js';
import { until } from '../support/endpoints.js';

const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** Message i: `size` bytes that differ from every other message's. */
const message = (i: number, size: number): Uint8Array => {
  const m = new Uint8Array(size);
  for (let j = 0; j < size; j++) m[j] = (i * 31 + j * 7) & 0xff;
  return m;
};

interface Watch {
  /** Distinct ArrayBuffers of the large frames handed to send, and how many such frames. */
  readonly buffers: Set<ArrayBufferLike>;
  frames: number;
}

/**
 * Alice's transport: the hub's, watched. `copies`: it says it copies (the hub does) and settles late, so the outbox
 * coalesces; otherwise it keeps the arrays it was given and hands them to the hub only later (what a transport
 * without copiesFrames may do).
 */
function watched(inner: Transport, copies: boolean, watch: Watch): Transport {
  const kept: [string, Uint8Array][] = [];
  return {
    name: 'watched',
    maxFrameSize: inner.maxFrameSize,
    ...(copies ? { copiesFrames: true } : {}),
    open: (id, onFrame) => inner.open(id, onFrame),
    close: () => inner.close(),
    send(peer, bytes) {
      if (bytes.length >= FRAME_POOL_MIN) {
        watch.buffers.add(bytes.buffer);
        watch.frames++;
      }
      if (copies) {
        const sent = inner.send(peer, bytes); // copies now
        return new Promise((r) => setTimeout(r, 2)).then(() => sent);
      }
      kept.push([peer, bytes]);
      return new Promise<void>((resolve, reject) =>
        setTimeout(() => {
          const [p, b] = kept.shift()!;
          inner.send(p, b).then(resolve, reject);
        }, 2),
      );
    },
  };
}

async function pair(
  copies: boolean,
  coalesce: object,
): Promise<{ alice: Endpoint; got: MessageEvent[]; watch: Watch; close(): Promise<void> }> {
  const hub = createMemoryHub();
  const pki = await createTestPki({ endpoints: [{ id: 'alice' }, { id: 'bob' }] });
  const watch: Watch = { buffers: new Set(), frames: 0 };
  const opts = (id: 'alice' | 'bob') => ({
    id,
    identity: pki.identities[id]!,
    trust: { roots: pki.roots },
    coalesce,
    protection: 'integrity' as const,
  });
  const alice = await createEndpoint({ ...opts('alice'), transport: watched(hub.transport(), copies, watch) });
  const bob = await createEndpoint({ ...opts('bob'), transport: hub.transport() });
  const got: MessageEvent[] = [];
  bob.on('message', (m) => got.push(m));
  return {
    alice,
    got,
    watch,
    async close() {
      await alice.close();
      await bob.close();
    },
  };
}

for (const [name, coalesce, size] of [
  ['alone (coalescing off), 16 KiB', { maxRecords: 1 }, 16_384],
  ['coalesced into BATCH frames, 5 KB', { maxDelayUs: 1_000_000, minInFlight: 1 }, 5000],
] as const) {
  test(`[SPEC 8, 3.7] a transport that copies: large frames reuse memory, ${name}; every message intact, in order, once`, async () => {
    const p = await pair(true, coalesce);
    try {
      // the session first: messages sent before it exists are all sealed at once when it comes up
      await p.alice.send('bob', new Uint8Array(1));
      await until(() => p.got.length === 1 && p.alice.sessions().length === 1, 5000, 'session');
      const n = 60;
      const sent = Array.from({ length: n }, (_, i) => message(i, size));
      await Promise.all(sent.map((m) => p.alice.send('bob', m)));
      await until(() => p.got.length === n + 1, 10_000, 'all messages');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        p.got.slice(1).map((m) => digest(m.data)),
        sent.map(digest),
      );
      assert.ok(p.watch.frames >= n / 4, `large frames handed over: ${p.watch.frames}`);
      assert.ok(p.watch.buffers.size < p.watch.frames, `memory reused: ${p.watch.buffers.size} buffers for ${p.watch.frames} frames`);
    } finally {
      await p.close();
    }
  });
}

test('[SPEC 8] a transport that keeps the arrays it is given (no copiesFrames): the endpoint never reuses them', async () => {
  const p = await pair(false, { maxRecords: 1 });
  try {
    await p.alice.send('bob', new Uint8Array(1));
    await until(() => p.got.length === 1 && p.alice.sessions().length === 1, 5000, 'session');
    const n = 40;
    const sent = Array.from({ length: n }, (_, i) => message(i, 16_384));
    await Promise.all(sent.map((m) => p.alice.send('bob', m)));
    await until(() => p.got.length === n + 1, 10_000, 'all messages');
    assert.deepEqual(
      p.got.slice(1).map((m) => digest(m.data)),
      sent.map(digest),
    );
    assert.equal(p.watch.buffers.size, p.watch.frames, 'one buffer per frame: nothing reused');
  } finally {
    await p.close();
  }
});
