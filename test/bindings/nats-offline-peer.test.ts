/**
 * Offline peer over JetStream (issue 22): a session established before the peer went offline carries on when it comes
 * back — the frames sent meanwhile wait in the stream and reach the application exactly once, in order, with no new
 * handshake (the peer's keys are unchanged: no key update happened, so the §7.3 grace does not come into play).
 * The peer goes offline by a network partition (a TCP relay in front of the system nats-server is cut), so its
 * endpoint keeps its session state, as a device behind a dropped link does. [SPEC 8.11, 7.4]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { MessageEvent } from '../../src/endpoint/events.js';
import { natsTransport } from '../../src/bindings/nats.js';
import { utf8 } from '../../src/bytes/index.js';
import { createTestPki } from '../../src/testing/index.js';
import type { TransportStatus } from '../../src/transport/transport.js';
import { requireOrSkip } from '../support/services.js';
import { until, text } from '../support/endpoints.js';
import { NATS_SERVICE, NATS_URL, deleteStream, natsAvailable } from '../support/nats.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

test('[SPEC 8.11, 7.4] JetStream: messages sent while the peer is offline wait in the stream and are delivered once, in order, on the same session', async (t) => {
  if (!requireOrSkip(t, NATS_SERVICE, await natsAvailable())) return;
  const prefix = `hopsafe-off-${randomBytes(3).toString('hex')}`;
  cleanup.push(() => deleteStream(NATS_URL, prefix));
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: 4222 });
  cleanup.push(() => proxy.close());
  const js = { stream: prefix, storage: 'file' as const };
  const pki = await createTestPki({
    endpoints: [
      { id: 'cc', roles: ['OPERATOR'] },
      { id: 'der.9', roles: ['OPERATOR'] },
    ],
  });
  const ep = async (id: string, servers: string): Promise<{ e: Endpoint; inbox: MessageEvent[]; statuses: TransportStatus[] }> => {
    const transport = natsTransport({ servers, prefix, jetstream: js, reconnectTimeWaitMs: 200 });
    const statuses: TransportStatus[] = [];
    transport.onStatus!((s) => statuses.push(s));
    const e = await createEndpoint({ id, identity: pki.identities[id]!, trust: { roots: pki.roots }, transport });
    cleanup.push(() => e.close());
    const inbox: MessageEvent[] = [];
    e.on('message', (m) => inbox.push(m));
    return { e, inbox, statuses };
  };
  const cc = await ep('cc', NATS_URL);
  const der = await ep('der.9', `nats://127.0.0.1:${proxy.port}`);

  await cc.e.send('der.9', utf8('hello'));
  await until(() => der.inbox.length === 1, 10_000, 'first message');
  await der.e.send('cc', utf8('hello back'));
  await until(() => cc.inbox.length === 1 && cc.e.sessions().length === 1, 10_000, 'session both ways');

  await proxy.cut(); // der.9 is offline
  await until(() => der.statuses.includes('reconnecting'), 5000, 'der notices');
  for (const m of ['one', 'two', 'three']) await cc.e.send('der.9', utf8(m)); // resolve on the stream's publish ack
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(der.inbox.length, 1, 'nothing arrives while offline');

  await proxy.restore();
  await until(() => der.inbox.length === 4, 20_000, 'stored messages after the peer returns');
  await new Promise((r) => setTimeout(r, 1000)); // a redelivery would show up here
  assert.deepEqual(der.inbox.map(text), ['hello', 'one', 'two', 'three']);
  assert.equal(cc.e.stats().handshakes.completed, 1, 'no new handshake');
  assert.deepEqual(der.e.stats().rejected, {});
  // and the session still works both ways
  await der.e.send('cc', utf8('after'));
  await until(() => cc.inbox.length === 2, 10_000, 'reply after the partition');
});

test('[SPEC 8.11, 5.6] JetStream: a session started while the peer is offline for less than the freshness window completes when it returns', async (t) => {
  if (!requireOrSkip(t, NATS_SERVICE, await natsAvailable())) return;
  const prefix = `hopsafe-off2-${randomBytes(3).toString('hex')}`;
  cleanup.push(() => deleteStream(NATS_URL, prefix));
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: 4222 });
  cleanup.push(() => proxy.close());
  const pki = await createTestPki({
    endpoints: [
      { id: 'cc', roles: ['OPERATOR'] },
      { id: 'der', roles: ['OPERATOR'] },
    ],
  });
  const js = { stream: prefix, storage: 'file' as const };
  const der = natsTransport({ servers: `nats://127.0.0.1:${proxy.port}`, prefix, jetstream: js, reconnectTimeWaitMs: 200 });
  const derEp = await createEndpoint({ id: 'der', identity: pki.identities.der!, trust: { roots: pki.roots }, transport: der });
  cleanup.push(() => derEp.close());
  const got: MessageEvent[] = [];
  derEp.on('message', (m) => got.push(m));
  const ccEp = await createEndpoint({
    id: 'cc',
    identity: pki.identities.cc!,
    trust: { roots: pki.roots },
    transport: natsTransport({ servers: NATS_URL, prefix, jetstream: js }),
  });
  cleanup.push(() => ccEp.close());
  await proxy.cut();
  const sends = ['a', 'b', 'c'].map((m) => ccEp.send('der', utf8(m)));
  await new Promise((r) => setTimeout(r, 3000)); // offline well inside the ±30 s window
  await proxy.restore();
  await Promise.all(sends);
  await until(() => got.length === 3, 20_000, 'messages after the peer returns');
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(got.map(text), ['a', 'b', 'c']);
  assert.equal(ccEp.stats().handshakes.completed, 1);
});
