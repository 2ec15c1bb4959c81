/**
 * [SPEC 3.7] Coalescing at the endpoint: records sealed in one event-loop turn share a transport message
 * (BATCH frame); a lone record goes at once; every record keeps its protection, order and acknowledgement; a
 * hostile intermediary gains nothing from the container.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { frameTypeName } from '../../src/adversary/index.js';
import { decodeBatch, encodeBatch } from '../../src/codec/batch.js';
import { utf8, fromUtf8 } from '../../src/bytes/index.js';
import type { UnconfirmedEvent } from '../../src/endpoint/events.js';
import type { Transport } from '../../src/transport/transport.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { cast, text, until } from '../support/endpoints.js';
import { createBridge } from '../../src/bindings/bridge.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { createTestPki } from '../../src/testing/index.js';
import { toHex } from '../../src/bytes/index.js';

const dec = (b: Uint8Array): string => fromUtf8(b);
/**
 * Batch shapes asserted exactly: coalescing from the first unsettled send on, and no delay bound (real time) that
 * could split a burst on a loaded machine.
 */
const EXACT = { maxDelayUs: 1_000_000, minInFlight: 1 };
const msgs = (n: number, tag = 'm'): Uint8Array[] => Array.from({ length: n }, (_, i) => utf8(`${tag}${i}`));

/** Frames the hub carried from `from`, by type name (BATCH frames also listed with their record count). */
function frameLog(
  c: { hub: { tap(fn: (f: { from: string; bytes: Uint8Array }) => undefined): unknown } },
  from: string,
): { types: string[]; sizes: number[] } {
  const log = { types: [] as string[], sizes: [] as number[] };
  c.hub.tap((f) => {
    if (f.from !== from) return undefined;
    const t = frameTypeName(f.bytes) ?? '?';
    log.types.push(t === 'BATCH' ? `BATCH×${decodeBatch(f.bytes).length}` : t);
    log.sizes.push(f.bytes.length);
    return undefined;
  });
  return log;
}

describe('coalescing (BATCH frames)', () => {
  for (const protection of ['integrity', 'confidentiality'] as const) {
    test(`[SPEC 3.7] ${protection}: a burst of sends in one turn leaves as the first record alone, then batches; all delivered in order`, async () => {
      const c = await cast(['a', 'b'], { protection, coalesce: EXACT });
      try {
        await c.eps.a!.send('b', utf8('hello'));
        await until(() => c.inbox.b!.length === 1);
        const log = frameLog(c, 'a');
        await Promise.all(msgs(100).map((m) => c.eps.a!.send('b', m)));
        await until(() => c.inbox.b!.length === 101);
        assert.deepEqual(c.inbox.b!.slice(1).map(text), msgs(100).map(dec));
        // default maxRecords 32: 1 alone, then 32 + 32 + 32 + 3
        assert.deepEqual(log.types, ['DATA', 'BATCH×32', 'BATCH×32', 'BATCH×32', 'BATCH×3']);
        assert.deepEqual(c.rejects.b, []);
      } finally {
        await c.close();
      }
    });
  }

  test('[SPEC 3.7] coalescing starts only past coalesce.minInFlight unsettled transport sends (default 16); stats count it', async () => {
    const c = await cast(['a', 'b'], { coalesce: { maxDelayUs: 1_000_000 } }); // default minInFlight; no real-time bound
    try {
      await c.eps.a!.send('b', utf8('hello'));
      await until(() => c.inbox.b!.length === 1);
      const log = frameLog(c, 'a');
      // One at a time (each send settled before the next): the transport keeps up, nothing waits.
      for (const m of msgs(20, 's')) await c.eps.a!.send('b', m);
      assert.deepEqual(log.types, Array(20).fill('DATA'));
      assert.equal(c.eps.a!.stats().batches, 0);
      log.types.length = 0;
      // A burst: 16 go at once, the rest share frames.
      await Promise.all(msgs(60, 'b').map((m) => c.eps.a!.send('b', m)));
      assert.deepEqual(log.types.slice(0, 16), Array(16).fill('DATA'));
      assert.deepEqual(log.types.slice(16), ['BATCH×32', 'BATCH×12']);
      assert.deepEqual({ batches: c.eps.a!.stats().batches, coalesced: c.eps.a!.stats().coalesced }, { batches: 2, coalesced: 44 });
      await until(() => c.inbox.b!.length === 81);
      assert.deepEqual(c.inbox.b!.slice(21).map(text), msgs(60, 'b').map(dec));
    } finally {
      await c.close();
    }
  });

  test('[SPEC 3.7] a lone record is handed to the transport within send(), not at the end of the turn', async () => {
    const hub = createMemoryHub();
    const handed: string[] = [];
    const spy = (t: Transport): Transport => ({
      ...t,
      open: t.open.bind(t),
      close: t.close.bind(t),
      send: (p, b) => (handed.push(frameTypeName(b) ?? '?'), t.send(p, b)),
    });
    const c = await cast(['a', 'b'], { transport: () => spy(hub.transport()) });
    try {
      await c.eps.a!.send('b', utf8('open'));
      await until(() => c.inbox.b!.length === 1);
      await new Promise((r) => setImmediate(r));
      handed.length = 0;
      const p = c.eps.a!.send('b', utf8('lone'));
      assert.deepEqual(handed, ['DATA'], 'handed over synchronously');
      await p;
      await until(() => c.inbox.b!.length === 2);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 3.7] coalesce.maxBytes bounds every BATCH frame; a record too large to share goes alone, in order', async () => {
    const c = await cast(['a', 'b'], { perEndpoint: { a: { coalesce: { maxBytes: 1000, ...EXACT } } } });
    try {
      await c.eps.a!.send('b', utf8('hello'));
      await until(() => c.inbox.b!.length === 1);
      const log = frameLog(c, 'a');
      const sizes = [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 2000, 100, 100];
      await Promise.all(sizes.map((n, i) => c.eps.a!.send('b', new Uint8Array(n).fill(i))));
      await until(() => c.inbox.b!.length === 1 + sizes.length);
      assert.deepEqual(
        c.inbox.b!.slice(1).map((m) => [m.data.length, m.data[0]]),
        sizes.map((n, i) => [n, i]),
      );
      assert.ok(
        log.sizes.every((s, i) => s <= 1000 || log.types[i] === 'DATA'),
        `${log.types} ${log.sizes}`,
      );
      assert.equal(log.types.filter((t) => t === 'DATA').length, 2, `${log.types}`); // the first of the turn + the 2000-byte one
      assert.ok(log.types.length >= 4, `${log.types}`);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 3.7] coalesce.maxDelayUs: a batch leaves as soon as a record joins it that long after its first one', async () => {
    const c = await cast(['a', 'b'], { perEndpoint: { a: { coalesce: { maxDelayUs: 2000, minInFlight: 1 } } } });
    try {
      await c.eps.a!.send('b', utf8('hello'));
      await until(() => c.inbox.b!.length === 1);
      await new Promise((r) => setImmediate(r));
      const log = frameLog(c, 'a');
      const busy = (ms: number): void => {
        const end = performance.now() + ms;
        while (performance.now() < end);
      };
      const sends = [c.eps.a!.send('b', utf8('t0')), c.eps.a!.send('b', utf8('t1'))]; // t0 alone, t1 waits
      busy(5);
      sends.push(c.eps.a!.send('b', utf8('t2'))); // 5 ms after t1 joined: [t1 t2] leaves now
      assert.deepEqual(log.types, ['DATA', 'BATCH×2'], 'handed over inside the third send() call');
      sends.push(c.eps.a!.send('b', utf8('t3')), c.eps.a!.send('b', utf8('t4'))); // a new batch, left at the end of the turn
      await Promise.all(sends);
      assert.deepEqual(log.types, ['DATA', 'BATCH×2', 'BATCH×2']);
      await until(() => c.inbox.b!.length === 6);
      assert.deepEqual(c.inbox.b!.slice(1).map(text), ['t0', 't1', 't2', 't3', 't4']);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 3.7, 8.5] a BATCH frame crosses a bridge byte for byte; its records arrive in order', async () => {
    const left = createMemoryHub();
    const right = createMemoryHub();
    const pki = await createTestPki({ endpoints: [{ id: 'der-1' }, { id: 'cc' }] });
    const bridge = await createBridge({
      sides: { l: () => left.transport(), r: () => right.transport() },
      endpoints: { 'der-1': 'l', cc: 'r' },
    });
    const der = await createEndpoint({
      id: 'der-1',
      identity: pki.identities['der-1']!,
      trust: { roots: pki.roots },
      transport: left.transport(),
      coalesce: EXACT,
    });
    const cc = await createEndpoint({ id: 'cc', identity: pki.identities.cc!, trust: { roots: pki.roots }, transport: right.transport() });
    const got: string[] = [];
    cc.on('message', (m) => got.push(text(m)));
    const sentBatches: string[] = [];
    const arrivedBatches: string[] = [];
    left.tap((f) => void (f.from === 'der-1' && frameTypeName(f.bytes) === 'BATCH' && sentBatches.push(toHex(f.bytes))));
    right.tap((f) => void (f.from === 'der-1' && frameTypeName(f.bytes) === 'BATCH' && arrivedBatches.push(toHex(f.bytes))));
    try {
      await der.send('cc', utf8('hello'));
      await until(() => got.length === 1);
      await Promise.all(msgs(40).map((m) => der.send('cc', m)));
      await until(() => got.length === 41);
      assert.deepEqual(got.slice(1), msgs(40).map(dec));
      assert.ok(sentBatches.length >= 1);
      assert.deepEqual(arrivedBatches, sentBatches);
    } finally {
      await Promise.all([der.close(), cc.close()]);
      await bridge.close();
    }
  });

  test('[SPEC 3.7] coalesce.maxRecords 1 turns it off: one transport message per record', async () => {
    const c = await cast(['a', 'b'], { perEndpoint: { a: { coalesce: { maxRecords: 1 } } } });
    try {
      await c.eps.a!.send('b', utf8('hello'));
      await until(() => c.inbox.b!.length === 1);
      const log = frameLog(c, 'a');
      await Promise.all(msgs(40).map((m) => c.eps.a!.send('b', m)));
      await until(() => c.inbox.b!.length === 41);
      assert.deepEqual(log.types, Array(40).fill('DATA'));
    } finally {
      await c.close();
    }
  });

  test('[SPEC 3.7, 7.6] acknowledgements are per record: every message of a batch is confirmed', async () => {
    const c = await cast(['a', 'b']);
    try {
      await c.eps.a!.send('b', utf8('hello'), { confirm: true });
      const log = frameLog(c, 'a');
      await Promise.all(msgs(70).map((m) => c.eps.a!.send('b', m, { confirm: true })));
      assert.equal(c.eps.a!.stats().confirmed, 71);
      assert.ok(
        log.types.some((t) => t.startsWith('BATCH')),
        `${log.types}`,
      );
    } finally {
      await c.close();
    }
  });

  test('[SPEC 3.7, 7.6] an intermediary that drops a BATCH frame loses exactly its records, and the sender is told which', async () => {
    const c = await cast(['a', 'b'], { coalesce: EXACT });
    try {
      await c.eps.a!.send('b', utf8('hello'), { confirm: true });
      const lost: string[] = [];
      let batches = 0;
      c.hub.tap((f) => {
        if (f.from !== 'a' || frameTypeName(f.bytes) !== 'BATCH' || ++batches !== 2) return undefined;
        lost.push(...decodeBatch(f.bytes).map(() => 'x'));
        return null;
      });
      const ev: UnconfirmedEvent[] = [];
      c.eps.a!.on('unconfirmed', (e) => ev.push(e));
      const sent = msgs(150);
      const outcomes = await Promise.allSettled(sent.map((m) => c.eps.a!.send('b', m, { confirm: true })));
      const refused = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
      assert.equal(lost.length, 32);
      // The second batch holds messages 33..64 (message 0 went alone, then 1..32).
      assert.deepEqual(
        refused,
        Array.from({ length: 32 }, (_, i) => 33 + i),
      );
      assert.deepEqual(
        ev.flatMap((e) => e.messages.map(dec)),
        refused.map((i) => `m${i}`),
      );
      assert.ok(ev.every((e) => e.code === 'ERR_NOT_CONFIRMED'));
      assert.equal(c.inbox.b!.length, 1 + 150 - 32);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 3.7] a record altered inside a batch is refused alone (ERR_BAD_MAC); the others of the batch are delivered', async () => {
    const c = await cast(['a', 'b'], { coalesce: EXACT });
    try {
      await c.eps.a!.send('b', utf8('hello'));
      await until(() => c.inbox.b!.length === 1);
      let done = false;
      c.hub.tap((f) => {
        if (done || f.from !== 'a' || frameTypeName(f.bytes) !== 'BATCH') return undefined;
        done = true;
        const records = decodeBatch(f.bytes).map((r) => r.slice());
        const third = records[2]!;
        third[third.length - 1] = (third[third.length - 1] as number) ^ 1;
        return encodeBatch(records);
      });
      await Promise.all(msgs(10).map((m) => c.eps.a!.send('b', m)));
      await until(() => c.inbox.b!.length === 10);
      // message 0 alone; the batch holds 1..9, its third record is message 3
      assert.deepEqual(c.inbox.b!.slice(1).map(text), ['m0', 'm1', 'm2', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
      await until(() => c.rejects.b!.length === 1);
      assert.deepEqual(
        c.rejects.b!.map((r) => r.code),
        ['ERR_BAD_MAC'],
      );
    } finally {
      await c.close();
    }
  });

  test('[SPEC 3.7] a malformed container is refused whole (ERR_MALFORMED), a replayed batch delivers nothing twice, reordered batches deliver all', async () => {
    const c = await cast(['a', 'b'], { coalesce: EXACT });
    try {
      await c.eps.a!.send('b', utf8('hello'));
      await until(() => c.inbox.b!.length === 1);
      const held: Uint8Array[] = [];
      let mode: 'hold' | 'garble' | 'pass' = 'hold';
      c.hub.tap((f) => {
        if (f.from !== 'a' || frameTypeName(f.bytes) !== 'BATCH') return undefined;
        if (mode === 'hold') {
          held.push(f.bytes);
          return held.length <= 2 ? null : undefined;
        }
        if (mode === 'garble') return Uint8Array.of(...f.bytes, 0); // trailing byte
        return undefined;
      });
      // Two batches held back, then delivered in reverse order after a later one.
      await Promise.all(msgs(65, 'r').map((m) => c.eps.a!.send('b', m)));
      assert.equal(held.length, 2);
      await until(() => c.inbox.b!.length === 2); // r0 (alone) only: the two batches are held
      mode = 'pass';
      await c.eps.b!.onFrame({ from: 'a', bytes: held[1]! });
      await c.eps.b!.onFrame({ from: 'a', bytes: held[0]! });
      assert.equal(c.inbox.b!.length, 66);
      assert.deepEqual(new Set(c.inbox.b!.slice(1).map(text)), new Set(msgs(65, 'r').map(dec)));
      // replayed: nothing delivered twice
      await c.eps.b!.onFrame({ from: 'a', bytes: held[0]! });
      assert.equal(c.inbox.b!.length, 66);
      assert.ok(c.rejects.b!.length >= 1 && c.rejects.b!.every((r) => r.code === 'ERR_REPLAY'), JSON.stringify(c.rejects.b));
      c.rejects.b!.length = 0;
      mode = 'garble';
      await Promise.all(msgs(5, 'g').map((m) => c.eps.a!.send('b', m)));
      await until(() => c.rejects.b!.length === 1);
      assert.deepEqual(
        c.rejects.b!.map((r) => r.code),
        ['ERR_MALFORMED'],
      );
      assert.deepEqual(c.inbox.b!.slice(66).map(text), ['g0'], 'only the record that went alone');
    } finally {
      await c.close();
    }
  });
});
