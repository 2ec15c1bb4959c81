/**
 * Offline peer over JetStream (issue 22): a session established before the peer went offline carries on when it comes
 * back — the frames sent meanwhile wait in the stream and reach the application exactly once, in order, with no new
 * handshake (the peer's keys are unchanged: no key update happened, so the §7.3 grace does not come into play).
 * The peer goes offline by a network partition (a TCP relay in front of the system nats-server is cut), so its
 * endpoint keeps its session state, as a device behind a dropped link does. The third test starts a session with a
 * peer that is offline longer than the freshness window (offline start, §5.11). [SPEC 8.11, 7.4, 5.11]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { MessageEvent } from '../../src/endpoint/events.js';
import { natsTransport } from '../../src/bindings/nats.js';
import { fromHex, utf8 } from '../../src/bytes/index.js';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { createTestPki } from '../../src/testing/index.js';
import type { TransportStatus } from '../../src/transport/transport.js';
import { requireOrSkip } from '../support/services.js';
import { until, text } from '../support/endpoints.js';
import { NATS_SERVICE, NATS_URL, deleteStream, natsAvailable, natsSpy } from '../support/nats.js';
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

test('[SPEC 5.11, 8.11] JetStream: a session started while the peer is offline for 2 minutes (beyond the ±30 s window) completes under a fresh HS_INIT; each message once, in order; replays refused', async (t) => {
  if (!requireOrSkip(t, NATS_SERVICE, await natsAvailable())) return;
  const prefix = `hopsafe-off3-${randomBytes(3).toString('hex')}`;
  cleanup.push(() => deleteStream(NATS_URL, prefix));
  const pki = await createTestPki({
    endpoints: [
      { id: 'cc', roles: ['OPERATOR'] },
      { id: 'der', roles: ['OPERATOR'] },
    ],
  });
  const js = { stream: prefix, storage: 'file' as const };
  // Both endpoints read one injected clock; moving it 2 minutes on stands for 2 minutes of absence (no test sleeps 30 s).
  let offset = 0;
  const clock = (): number => Date.now() + offset;
  const spy = await natsSpy(prefix);
  cleanup.push(() => spy.close());
  const ccEp = await createEndpoint({
    id: 'cc',
    identity: pki.identities.cc!,
    trust: { roots: pki.roots },
    transport: natsTransport({ servers: NATS_URL, prefix, jetstream: js }),
    clock,
    offlineStartMs: 5 * 60_000,
  });
  cleanup.push(() => ccEp.close());
  const ccRejects: string[] = [];
  ccEp.on('reject', (r) => ccRejects.push(r.code));
  // der has never started: its consumer does not exist yet, the stream keeps what is sent to it
  const sends = ['one', 'two', 'three'].map((m) => ccEp.send('der', utf8(m)));
  await until(() => spy.seen().some((h) => h.startsWith('11')), 5000, 'the HS_INIT reached the stream');
  const staleHex = spy.seen().find((h) => h.startsWith('11'))!;
  await new Promise((r) => setTimeout(r, 1500)); // past handshakeTimeoutMs's first re-send
  offset += 2 * 60_000;
  await new Promise((r) => setTimeout(r, 1500)); // cc's timers run on the moved clock: the handshake is still pending
  assert.equal(ccEp.stats().handshakes.failed, 0, 'offlineStartMs: no ERR_TIMEOUT after handshakeTimeoutMs');

  const derEp = await createEndpoint({
    id: 'der',
    identity: pki.identities.der!,
    trust: { roots: pki.roots },
    transport: natsTransport({ servers: NATS_URL, prefix, jetstream: js }),
    clock,
  });
  cleanup.push(() => derEp.close());
  const got: MessageEvent[] = [];
  derEp.on('message', (m) => got.push(m));
  await Promise.all(sends);
  await until(() => got.length === 3, 20_000, 'messages after the peer starts');
  await new Promise((r) => setTimeout(r, 1000)); // a duplicate would show up here
  assert.deepEqual(got.map(text), ['one', 'two', 'three']);
  assert.ok((derEp.stats().rejected.ERR_STALE ?? 0) >= 1, 'the stored HS_INIT was refused as stale');
  assert.equal(ccEp.stats().handshakes.initiated, 2, 'one fresh HS_INIT');
  assert.equal(ccEp.stats().handshakes.completed, 1);
  assert.equal(derEp.stats().handshakes.completed, 1);
  assert.ok(!ccRejects.includes('ERR_STALE'), 'the hint never reached the application');

  // replays through the stream: the stale token and the fresh one are refused, nothing is delivered again
  const fresh = spy.seen().filter((h) => h.startsWith('11') && h !== staleHex);
  assert.ok(fresh.length >= 1);
  const nc = await connect({ servers: NATS_URL });
  cleanup.push(() => nc.close());
  const jsc = jetstream(nc);
  const before = derEp.stats().rejected;
  for (const h of [staleHex, fresh[0]!]) await jsc.publish(`${prefix}.der.cc`, fromHex(h));
  await until(
    () =>
      (derEp.stats().rejected.ERR_STALE ?? 0) > (before.ERR_STALE ?? 0) &&
      (derEp.stats().rejected.ERR_REPLAY ?? 0) > (before.ERR_REPLAY ?? 0),
    10_000,
    'both replays refused',
  );
  assert.deepEqual(got.map(text), ['one', 'two', 'three']);
  await derEp.send('cc', utf8('reply'));
});
