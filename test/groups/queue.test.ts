/**
 * Group publishes are bounded like pairwise sends [SPEC 13.3, 8.2, 8.10]: per group, publishes accepted and not
 * settled (`maxQueued`, default the endpoint's `maxQueuedPerPeer`) — a slow broker; and on MQTT, group frames count
 * against the transport's offline queue (`maxQueue`) with the inbox frames — a broker that is down.
 */
import { test, after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { startBroker, createMemoryPersistence, type RunningBroker } from '../../src/broker/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { isHopsafeError } from '../../src/errors/index.js';
import type { Transport, TransportStatus } from '../../src/transport/transport.js';
import { cast, text, until } from '../support/endpoints.js';
import { rejectsWith } from '../support/pki.js';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

const outcome = (p: Promise<void>): Promise<string> =>
  p.then(
    () => 'sent',
    (e: unknown) => (isHopsafeError(e) ? e.code : String(e)),
  );

/** The hub's transport for `id`; for the publisher, a broker that takes group frames but does not confirm them until released. */
function slowBroker(hub: ReturnType<typeof createMemoryHub>, slowId: string) {
  const held: Array<() => void> = [];
  let slow = true;
  const transport = (id: string): Transport => {
    const t = hub.transport();
    if (id !== slowId) return t;
    const publishGroup = t.publishGroup!.bind(t);
    return {
      ...t,
      publishGroup: (address, bytes) =>
        slow ? new Promise<void>((r) => held.push(() => void publishGroup(address, bytes).then(r))) : publishGroup(address, bytes),
    };
  };
  return {
    transport,
    held: () => held.length,
    release(): void {
      slow = false;
      for (const f of held.splice(0)) f();
    },
  };
}

test('[SPEC 13.3] a slow broker: past maxQueued unsettled publishes, publish refuses with ERR_QUEUE_FULL before sealing; what was accepted is delivered once', async () => {
  const hub = createMemoryHub();
  const slow = slowBroker(hub, 'der');
  const c = await cast(['der', 'a'], { transport: slow.transport });
  try {
    const g = await c.eps.der!.group('t', { members: ['a'], maxQueued: 4 });
    await c.eps.a!.join('der', 't');
    const accepted = Array.from({ length: 4 }, (_, i) => outcome(g.publish(utf8(`m${i}`))));
    await until(() => slow.held() === 4, 2000, 'four frames handed to the broker');
    await rejectsWith(g.publish(utf8('over')), 'ERR_QUEUE_FULL');
    await rejectsWith(g.publish(utf8('over again')), 'ERR_QUEUE_FULL');
    assert.equal(c.eps.der!.stats().groups.sent, 4, 'a refused publish is not sealed');
    slow.release();
    assert.deepEqual(await Promise.all(accepted), ['sent', 'sent', 'sent', 'sent']);
    // Room again once they settled.
    await g.publish(utf8('m4'));
    await until(() => c.inbox.a!.length === 5, 5000, 'deliveries');
    await hub.drain();
    assert.deepEqual(c.inbox.a!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4']);
    // Sequence numbers stayed contiguous: nothing was refused as a replay or an unknown epoch.
    assert.deepEqual(c.rejects.a!, []);
  } finally {
    await c.close();
  }
});

test("[SPEC 13.3] the default bound is the endpoint's maxQueuedPerPeer; maxQueued must be a positive integer (ERR_CONFIG)", async () => {
  const hub = createMemoryHub();
  const slow = slowBroker(hub, 'der');
  const c = await cast(['der', 'a'], { transport: slow.transport, perEndpoint: { der: { maxQueuedPerPeer: 3 } } });
  try {
    await rejectsWith(c.eps.der!.group('bad', { members: ['a'], maxQueued: 0 }), 'ERR_CONFIG');
    await rejectsWith(c.eps.der!.group('bad', { members: ['a'], maxQueued: 1.5 }), 'ERR_CONFIG');
    const g = await c.eps.der!.group('t', { members: ['a'] });
    await c.eps.a!.join('der', 't');
    const accepted = [0, 1, 2].map((i) => outcome(g.publish(utf8(`m${i}`))));
    await rejectsWith(g.publish(utf8('over')), 'ERR_QUEUE_FULL');
    slow.release();
    assert.deepEqual(await Promise.all(accepted), ['sent', 'sent', 'sent']);
    await until(() => c.inbox.a!.length === 3, 5000, 'deliveries');
  } finally {
    await c.close();
  }
});

test("[SPEC 13.3, 8.2] aedes down: group frames count against the MQTT transport's maxQueue; past it ERR_QUEUE_FULL; everything accepted is delivered once after the restart", async () => {
  const persistence = createMemoryPersistence();
  let broker: RunningBroker = await startBroker({ persistence });
  cleanup.push(() => broker.close());
  const port = broker.port;
  const statuses: TransportStatus[] = [];
  const c = await cast(['der', 'a'], {
    transport: (id) => {
      const t = mqttTransport({ url: broker.url, clientId: `q-${id}`, mqttOptions: { reconnectPeriod: 100 }, maxQueue: 5 });
      if (id === 'der') t.onStatus?.((s) => statuses.push(s));
      return t;
    },
  });
  cleanup.push(() => c.close());
  const g = await c.eps.der!.group('t', { members: ['a'] });
  await c.eps.a!.join('der', 't');
  await g.publish(utf8('before'));
  await until(() => c.inbox.a!.length === 1, 5000, 'first message');
  await broker.close();
  await until(() => statuses.includes('disconnected'), 5000, 'the publisher notices');
  const outcomes: Promise<string>[] = [];
  for (let i = 0; i < 8; i++) {
    outcomes.push(outcome(g.publish(utf8(`p${i}`))));
    await new Promise((r) => setImmediate(r));
  }
  // A pairwise send shares the same bound: refused as well (at once, not after the broker is back).
  const pairwise = await Promise.race([outcome(c.eps.der!.send('a', utf8('pairwise'))), sleep(2000).then(() => 'still pending')]);
  assert.equal(pairwise, 'ERR_QUEUE_FULL');
  await sleep(200);
  broker = await startBroker({ port, persistence });
  const results = await Promise.all(outcomes);
  // The bound is the transport's, shared with pairwise frames: a record der still owed a (an ACK) may have taken a
  // slot of the five. What matters: a prefix is accepted, within the bound, and everything past it is refused.
  const accepted = results.filter((r) => r === 'sent').length;
  assert.ok(accepted >= 3 && accepted <= 5, `accepted ${accepted}: ${results.join(',')}`);
  assert.deepEqual(results, [...Array(accepted).fill('sent'), ...Array(8 - accepted).fill('ERR_QUEUE_FULL')]);
  await until(() => c.inbox.a!.length === 1 + accepted, 10_000, 'accepted messages after the restart');
  await g.publish(utf8('after'));
  await until(() => c.inbox.a!.length === 2 + accepted, 10_000, 'after');
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(
    c.inbox.a!.map(text).sort(),
    ['before', ...Array.from({ length: accepted }, (_, i) => `p${i}`), 'after'].sort(),
    'each accepted publish delivered once, the refused ones never',
  );
});

test('[SPEC 13.3, 8.2] aedes down: group publishes still queued when the publisher closes fail with ERR_CLOSED', async () => {
  const broker = await startBroker();
  const statuses: TransportStatus[] = [];
  const c = await cast(['der', 'a'], {
    transport: (id) => {
      const t = mqttTransport({ url: broker.url, clientId: `qc-${id}`, mqttOptions: { reconnectPeriod: 100 } });
      if (id === 'der') t.onStatus?.((s) => statuses.push(s));
      return t;
    },
  });
  try {
    const g = await c.eps.der!.group('t', { members: ['a'] });
    await c.eps.a!.join('der', 't');
    await broker.close();
    await until(() => statuses.includes('disconnected'), 5000, 'the publisher notices');
    const pending = [outcome(g.publish(utf8('q0'))), outcome(g.publish(utf8('q1')))];
    await sleep(50);
    await c.eps.der!.close();
    assert.deepEqual(await Promise.all(pending), ['ERR_CLOSED', 'ERR_CLOSED']);
  } finally {
    await c.close();
  }
});
