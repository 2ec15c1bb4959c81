/** Bridge logic on two in-memory hubs (two "systems"). [SPEC 8.5] */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { createBridge } from '../../src/bindings/bridge.js';
import { parseRouteRule, routeFromRules } from '../../src/bindings/bridge-routes.js';
import type { FrameHandler, InboundFrame, Transport } from '../../src/transport/transport.js';

async function setup() {
  const east = createMemoryHub();
  const west = createMemoryHub();
  const bridge = await createBridge({
    sides: { east: () => east.transport(), west: () => west.transport() },
    route: routeFromRules([parseRouteRule('der-*=east'), parseRouteRule('cc=west')]),
    ids: ['der-1', 'der-2', 'cc', 'stranger'],
  });
  const inbox = (t: Transport, id: string) => {
    const got: InboundFrame[] = [];
    return { t, got, ready: t.open(id, (f) => void got.push(f)) };
  };
  const d1 = inbox(east.transport(), 'der-1');
  const d2 = inbox(east.transport(), 'der-2');
  const cc = inbox(west.transport(), 'cc');
  await Promise.all([d1.ready, d2.ready, cc.ready]);
  const drain = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) {
      await east.drain();
      await west.drain();
    }
  };
  const close = async (): Promise<void> => {
    await Promise.all([d1.t.close(), d2.t.close(), cc.t.close()]);
    await bridge.close();
  };
  return { east, west, bridge, d1, d2, cc, drain, close };
}

test('[SPEC 8.5] frames cross the bridge both ways with the original sender id, in order', async () => {
  const s = await setup();
  try {
    assert.deepEqual(s.bridge.stats().endpoints, { 'der-1': 'east', 'der-2': 'east', cc: 'west' });
    assert.equal(s.bridge.stats().proxies, 3); // cc on east; der-1, der-2 on west
    for (let i = 0; i < 20; i++) await s.d1.t.send('cc', Uint8Array.of(1, i));
    await s.d2.t.send('cc', Uint8Array.of(2));
    await s.cc.t.send('der-2', Uint8Array.of(3));
    await s.drain();
    assert.deepEqual(
      s.cc.got.filter((f) => f.from === 'der-1').map((f) => f.bytes[1]),
      [...Array(20).keys()],
    );
    assert.deepEqual(s.cc.got.find((f) => f.from === 'der-2')?.bytes, Uint8Array.of(2));
    assert.deepEqual(s.d2.got, [{ from: 'cc', bytes: Uint8Array.of(3) }]);
    assert.equal(s.d1.got.length, 0);
    const st = s.bridge.stats();
    assert.equal(st.forwarded, 22);
    assert.equal(st.perSide.east?.forwarded, 21);
    assert.equal(st.perSide.west?.forwarded, 1);
  } finally {
    await s.close();
  }
});

test('[SPEC 8.5] a frame claiming a sender from another side is not forwarded (no spoofing, no loops)', async () => {
  const east = createMemoryHub();
  const west = createMemoryHub();
  // The east factory records the bridge's handlers so the test can deliver what a hostile east broker could:
  // a frame to the `cc` proxy whose sender is `cc` itself (lives on west) or an id the bridge does not know.
  const handlers = new Map<string, FrameHandler>();
  const bridge = await createBridge({
    sides: {
      east: (id) => {
        const t = east.transport();
        return {
          ...t,
          name: t.name,
          maxFrameSize: t.maxFrameSize,
          send: t.send,
          close: t.close,
          open: (localId, h) => (handlers.set(id, h), t.open(localId, h)),
        };
      },
      west: () => west.transport(),
    },
    endpoints: { 'der-1': 'east', cc: 'west' },
  });
  const cc = west.transport();
  const got: InboundFrame[] = [];
  await cc.open('cc', (f) => void got.push(f));
  const toCc = handlers.get('cc');
  assert.ok(toCc);
  await toCc({ from: 'cc', bytes: Uint8Array.of(66) });
  await toCc({ from: 'nobody', bytes: Uint8Array.of(67) });
  await toCc({ from: 'der-1', bytes: Uint8Array.of(68) });
  for (let i = 0; i < 3; i++) await Promise.all([east.drain(), west.drain()]);
  assert.deepEqual(got, [{ from: 'der-1', bytes: Uint8Array.of(68) }]);
  assert.equal(bridge.stats().unroutable, 2);
  await Promise.all([cc.close(), bridge.close()]);
});

test('[SPEC 8.5] tap makes the bridge hostile: drop, alter, replay', async () => {
  const s = await setup();
  try {
    let mode: 'drop' | 'alter' | 'replay' = 'drop';
    const remove = s.bridge.tap((f) => {
      if (mode === 'drop') return null;
      if (mode === 'alter') return Uint8Array.from(f.bytes, (b) => b ^ 0xff);
      return [f.bytes, f.bytes];
    });
    await s.d1.t.send('cc', Uint8Array.of(1));
    await s.drain();
    assert.equal(s.cc.got.length, 0);
    mode = 'alter';
    await s.d1.t.send('cc', Uint8Array.of(2));
    await s.drain();
    mode = 'replay';
    await s.d1.t.send('cc', Uint8Array.of(3));
    await s.drain();
    assert.deepEqual(
      s.cc.got.map((f) => [...f.bytes]),
      [[0xfd], [3], [3]],
    );
    remove();
    await s.d1.t.send('cc', Uint8Array.of(4));
    await s.drain();
    assert.deepEqual(s.cc.got.at(-1)?.bytes, Uint8Array.of(4));
    assert.equal(s.bridge.stats().dropped, 1);
  } finally {
    await s.close();
  }
});

test('[SPEC 8.5] a frame too large for the target side is counted as failed, not silently lost', async () => {
  const east = createMemoryHub({ maxFrameSize: 1000 });
  const west = createMemoryHub({ maxFrameSize: 10 });
  const bridge = await createBridge({
    sides: { east: () => east.transport(), west: () => west.transport() },
    endpoints: { a: 'east', b: 'west' },
  });
  const a = east.transport();
  const b = west.transport();
  const got: InboundFrame[] = [];
  await a.open('a', () => undefined);
  await b.open('b', (f) => void got.push(f));
  await a.send('b', new Uint8Array(11));
  await a.send('b', new Uint8Array(10));
  for (let i = 0; i < 3; i++) await Promise.all([east.drain(), west.drain()]);
  assert.equal(got.length, 1);
  assert.equal(bridge.stats().failed, 1);
  await Promise.all([a.close(), b.close(), bridge.close()]);
  await bridge.close();
});

test('[SPEC 8.5] configuration errors', async () => {
  const hub = createMemoryHub();
  await assert.rejects(createBridge({ sides: { a: () => hub.transport() } }), { code: 'ERR_CONFIG' });
  const sides = { a: () => hub.transport(), b: () => hub.transport() };
  await assert.rejects(createBridge({ sides, endpoints: { x: 'c' } }), { code: 'ERR_CONFIG' });
  await assert.rejects(createBridge({ sides, endpoints: { 'bad/id': 'a' } }), { code: 'ERR_INVALID_ID' });
  await assert.rejects(createBridge({ sides, ids: ['x'] }), { code: 'ERR_CONFIG' });
  await assert.rejects(createBridge({ sides, endpoints: { x: 'a' }, route: () => 'b', ids: ['x'] }), { code: 'ERR_CONFIG' });
  assert.throws(() => parseRouteRule('der-*'), { code: 'ERR_CONFIG' });
  assert.throws(() => parseRouteRule('der/*=mqtt'), { code: 'ERR_CONFIG' });
  const r = routeFromRules([parseRouteRule('der-?=a'), parseRouteRule('*.x=b'), parseRouteRule('*=c')]);
  assert.equal(r('der-1'), 'a');
  assert.equal(r('der-10'), 'c');
  assert.equal(r('q.x'), 'b');
  assert.equal(r('qax'), 'c');
  assert.equal(routeFromRules([parseRouteRule('a.b=s')])('aab'), undefined);
});

test('[SPEC 8.5] createBridge refuses `route` without `ids`, a side that is no factory, and a bridge of nothing (ERR_CONFIG)', async () => {
  const hub = createMemoryHub();
  const sides = { a: () => hub.transport(), b: () => hub.transport() };
  // Before issue 14 these resolved to a bridge that bridged nothing: the endpoints behind it timed out.
  await assert.rejects(createBridge({ sides, route: () => 'a' }), { code: 'ERR_CONFIG', message: /`route` needs `ids`/ });
  await assert.rejects(createBridge({ sides, route: () => undefined, ids: ['x', 'y'] }), {
    code: 'ERR_CONFIG',
    message: /no endpoint to bridge/,
  });
  await assert.rejects(createBridge({ sides }), { code: 'ERR_CONFIG', message: /no endpoint to bridge/ });
  await assert.rejects(createBridge({ sides, endpoints: {} }), { code: 'ERR_CONFIG' });
  const notFactory = hub.transport() as unknown as () => Transport; // a transport instead of a factory of transports
  await assert.rejects(createBridge({ sides: { a: sides.a, b: notFactory }, endpoints: { x: 'a', y: 'b' } }), {
    code: 'ERR_CONFIG',
    message: /side "b" must be a factory function/,
  });
  for (const bad of ['mqtt://127.0.0.1:1883', null, 42, [() => hub.transport()]])
    await assert.rejects(createBridge({ sides: { a: sides.a, b: bad as unknown as () => Transport }, endpoints: { x: 'a', y: 'b' } }), {
      code: 'ERR_CONFIG',
    });
  await assert.rejects(createBridge({ sides: { a: sides.a, b: () => ({}) as Transport }, endpoints: { x: 'a', y: 'b' } }), {
    code: 'ERR_CONFIG',
    message: /not a Transport/,
  });
  await assert.rejects(createBridge(null as unknown as Parameters<typeof createBridge>[0]), { code: 'ERR_CONFIG' });
  await assert.rejects(createBridge({ sides: [sides.a, sides.b] as unknown as Record<string, () => Transport>, endpoints: { x: '0' } }), {
    code: 'ERR_CONFIG',
  });
  await assert.rejects(createBridge({ sides, route: 'a' as unknown as () => string, ids: ['x'] }), { code: 'ERR_CONFIG' });
  await assert.rejects(createBridge({ sides, route: () => 'a', ids: 'x' as unknown as string[] }), { code: 'ERR_CONFIG' });
  await assert.rejects(createBridge({ sides, endpoints: { x: 'a', y: 'b' }, tap: 1 as unknown as () => null }), { code: 'ERR_CONFIG' });
  // Nothing was left open by the refused bridges.
  assert.deepEqual(hub.endpoints, []);
  // A valid bridge still opens.
  const ok = await createBridge({ sides, route: (id) => (id === 'x' ? 'a' : 'b'), ids: ['x', 'y'] });
  assert.deepEqual(ok.stats().endpoints, { x: 'a', y: 'b' });
  await ok.close();
});
