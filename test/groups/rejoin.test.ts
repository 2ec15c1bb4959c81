/**
 * [SPEC 13.7] Rejoin after a member restarts (all state lost, no goodbye): it re-establishes its pairwise session,
 * joins again, gets a fresh epoch and receives what follows; no frame sealed before its re-join — among them those it
 * delivered before the restart — is accepted again. On the memory hub and on the embedded aedes broker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { startBroker } from '../../src/broker/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { MessageEvent, RejectEvent } from '../../src/endpoint/events.js';
import { createTestPki } from '../../src/testing/index.js';
import type { Transport } from '../../src/transport/transport.js';
import { text, until } from '../support/endpoints.js';

const epochOf = (b: Uint8Array): number => (b[17]! << 8) | b[18]!;

interface Node {
  readonly ep: Endpoint;
  readonly transport: Transport;
  readonly inbox: MessageEvent[];
  readonly rejects: RejectEvent[];
}

/**
 * der publishes to a and b; a crashes after m0–m2 (its transport goes away, no goodbye), m3 is published while it is
 * down, a comes back with nothing but its identity and joins again; then m4. An outsider replays every frame of
 * m0–m3 on the group address. `transport(id, incarnation)` makes each endpoint's transport; `frames()` what the
 * intermediary carried on the group address.
 */
async function restartScenario(transport: (id: string, incarnation: number) => Transport, frames: () => Uint8Array[]): Promise<void> {
  const pki = await createTestPki({ endpoints: ['der', 'a', 'b'].map((id) => ({ id })) });
  const closers: (() => Promise<unknown>)[] = [];
  const start = async (id: string, incarnation = 0): Promise<Node> => {
    const t = transport(id, incarnation);
    const ep = await createEndpoint({ id, identity: pki.identities[id]!, trust: { roots: pki.roots }, transport: t });
    const n: Node = { ep, transport: t, inbox: [], rejects: [] };
    ep.on('message', (m) => n.inbox.push(m));
    ep.on('reject', (r) => n.rejects.push(r));
    closers.push(() => ep.close());
    return n;
  };
  try {
    const der = await start('der');
    const a = await start('a');
    const b = await start('b');
    const g = await der.ep.group('t', { members: ['a', 'b'] });
    await a.ep.join('der', 't');
    await b.ep.join('der', 't');
    for (let i = 0; i < 3; i++) await g.publish(utf8(`m${i}`));
    await until(() => a.inbox.length === 3 && b.inbox.length === 3, 10_000, 'm0–m2');
    // a crashes: everything it held is gone, der is not told.
    await a.transport.close();
    await g.publish(utf8('m3'));
    await until(() => b.inbox.length === 4, 10_000, 'm3 at b');
    assert.deepEqual(g.members(), ['a', 'b'], 'der still counts a as a member');
    const before = frames().slice();
    assert.equal(before.length, 4);
    // a restarts with nothing but its identity: a new handshake, a new join.
    const a2 = await start('a', 1);
    await a2.ep.join('der', 't');
    await g.publish(utf8('m4'));
    await until(() => a2.inbox.length === 1 && b.inbox.length === 5, 10_000, 'm4');
    assert.ok(epochOf(frames().at(-1)!) > epochOf(before[3]!), 'the re-join moved the group to a fresh epoch');
    // Every frame sealed before the re-join, replayed: a2 never held their epoch, b saw them.
    const outsider = transport('outsider', 0);
    await outsider.open('outsider', () => undefined);
    closers.push(() => outsider.close());
    for (const f of before) await outsider.publishGroup!(g.address, f);
    // (Records der still sealed for a's previous incarnation reach a2 as ERR_UNKNOWN_SESSION, SPEC 8.8: not group frames.)
    const groupRejects = (n: Node) => n.rejects.filter((r) => r.code !== 'ERR_UNKNOWN_SESSION');
    await until(() => groupRejects(a2).length === 4 && groupRejects(b).length === 4, 10_000, 'replays refused');
    assert.deepEqual(
      groupRejects(a2).map((r) => r.code),
      ['ERR_UNKNOWN_EPOCH', 'ERR_UNKNOWN_EPOCH', 'ERR_UNKNOWN_EPOCH', 'ERR_UNKNOWN_EPOCH'],
    );
    assert.deepEqual(
      groupRejects(b).map((r) => r.code),
      ['ERR_REPLAY', 'ERR_REPLAY', 'ERR_REPLAY', 'ERR_REPLAY'],
    );
    await g.publish(utf8('m5'));
    await until(() => a2.inbox.length === 2 && b.inbox.length === 6, 10_000, 'm5');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(a2.inbox.map(text), ['m4', 'm5'], 'the restarted member: what followed its re-join, once');
    assert.deepEqual(b.inbox.map(text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'], 'the other member: everything once');
    assert.ok(a2.inbox.every((m) => m.from === 'der' && m.group === 't'));
  } finally {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  }
}

test('[SPEC 13.7, 13.6] memory hub: a restarted member re-joins, gets a fresh epoch, receives what follows and accepts no frame sealed before', async () => {
  const hub = createMemoryHub();
  const frames: Uint8Array[] = [];
  hub.tap((f) => {
    if (f.topic.startsWith('memory/~g/')) frames.push(f.bytes.slice());
  });
  await restartScenario(
    () => hub.transport(),
    () => frames,
  );
});

test('[SPEC 13.7, 13.6, 8.2] aedes: a restarted member (same client id, persistent session) re-joins; the broker-kept and replayed frames are refused', async () => {
  const broker = await startBroker();
  const frames: Uint8Array[] = [];
  broker.tap((f) => {
    if (f.topic.startsWith('hopsafe/~g/')) frames.push(f.bytes.slice());
  });
  const run = randomBytes(2).toString('hex');
  try {
    await restartScenario(
      (id) => mqttTransport({ url: broker.url, clientId: `rj-${run}-${id}`, mqttOptions: { reconnectPeriod: 100 } }),
      () => frames,
    );
  } finally {
    await broker.close();
  }
});

test('[SPEC 13.7] a re-join when nothing was sealed in the current epoch hands over the current key (no rotation)', async () => {
  const hub = createMemoryHub();
  const pki = await createTestPki({ endpoints: ['der', 'a'].map((id) => ({ id })) });
  const mk = async (id: string) => {
    const transport = hub.transport();
    return { transport, ep: await createEndpoint({ id, identity: pki.identities[id]!, trust: { roots: pki.roots }, transport }) };
  };
  const der = await mk('der');
  const a = await mk('a');
  let a2: Awaited<ReturnType<typeof mk>> | undefined;
  try {
    const g = await der.ep.group('t', { members: ['a'] });
    await a.ep.join('der', 't');
    const epochs: number[] = [];
    hub.tap((f) => void (f.topic.startsWith('memory/~g/') && epochs.push(epochOf(f.bytes))));
    // a crashes and restarts before anything was sealed: nothing to replay, the current epoch is kept
    await a.transport.close();
    a2 = await mk('a');
    await a2.ep.join('der', 't');
    const got: string[] = [];
    a2.ep.on('message', (m) => got.push(text(m)));
    await g.publish(utf8('first'));
    await until(() => got.length === 1);
    assert.deepEqual(epochs, [0]);
  } finally {
    await a2?.ep.close();
    await a.ep.close();
    await der.ep.close();
  }
});
