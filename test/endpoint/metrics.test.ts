/** Endpoint metrics (Prometheus text exposition through prom-client), over two endpoints on a memory hub. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Registry, register as globalRegister } from 'prom-client';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { frameTypeName } from '../../src/adversary/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { createTestPki } from '../../src/testing/index.js';
import { cast, until } from '../support/endpoints.js';
import { sample, samples } from '../support/prometheus.js';

const code = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: unknown) => (isHopsafeError(e) ? e.code : String(e)),
  );

describe('endpoint metrics', () => {
  test('counters and histograms move: handshake ok, records sent/received, a forged frame is a reject by code, a key update', async () => {
    const registry = new Registry();
    const c = await cast(['a', 'b'], { metrics: { registry } });
    try {
      const { a, b } = c.eps as Record<'a' | 'b', NonNullable<(typeof c.eps)[string]>>;
      const before = await registry.metrics();
      assert.equal(sample(before, 'hopsafe_sessions', { endpoint: 'a' }), 0);
      assert.equal(sample(before, 'hopsafe_handshakes_total', { endpoint: 'a', outcome: 'ok' }), 0);
      assert.equal(sample(before, 'hopsafe_records_sent_total', { endpoint: 'a' }), 0);

      await a.send('b', utf8('one'));
      await until(() => c.inbox.b!.length === 1);
      // the hostile hub alters one DATA frame of a's (sent ahead of the genuine one): b refuses it by its tag
      let forged = 0;
      const stop = c.hub.tap((f) => {
        if (forged > 0 || f.from !== 'a' || frameTypeName(f.bytes) !== 'DATA') return undefined;
        forged++;
        const x = f.bytes.slice();
        x[x.length - 1] = (x[x.length - 1] as number) ^ 1;
        return [x, f.bytes];
      });
      await a.send('b', utf8('two'));
      await a.send('b', utf8('three'));
      await until(() => c.inbox.b!.length === 3 && (b.stats().rejected.ERR_BAD_MAC ?? 0) === 1);
      stop();
      await b.send('a', utf8('back'));
      await a.rekey('b');
      await a.send('b', utf8('four'));
      await until(() => c.inbox.a!.length === 1 && c.inbox.b!.length === 4 && b.stats().keyUpdates.received >= 1);

      const t = await a.metrics();
      assert.equal(t, await registry.metrics(), 'endpoint.metrics() is the registry text');
      assert.ok(t.includes('# TYPE hopsafe_rejects_total counter') && t.includes('# TYPE hopsafe_record_duration_seconds histogram'));
      assert.equal(sample(t, 'hopsafe_sessions', { endpoint: 'a' }), 1);
      assert.equal(sample(t, 'hopsafe_sessions', { endpoint: 'b' }), 1);
      assert.equal(sample(t, 'hopsafe_handshakes_total', { endpoint: 'a', outcome: 'ok' }), 1);
      assert.equal(sample(t, 'hopsafe_handshakes_total', { endpoint: 'b', outcome: 'ok' }), 1, 'the responder counts its handshake too');
      assert.equal(sample(t, 'hopsafe_handshakes_total', { endpoint: 'a', outcome: 'failed' }), 0);
      assert.equal(sample(t, 'hopsafe_handshakes_initiated_total', { endpoint: 'a' }), 1);
      assert.equal(sample(t, 'hopsafe_handshakes_initiated_total', { endpoint: 'b' }), 0);
      assert.equal(sample(t, 'hopsafe_records_sent_total', { endpoint: 'a' }), 4);
      assert.equal(sample(t, 'hopsafe_records_received_total', { endpoint: 'b' }), 4);
      assert.equal(sample(t, 'hopsafe_records_sent_total', { endpoint: 'b' }), 1);
      assert.equal(sample(t, 'hopsafe_records_received_total', { endpoint: 'a' }), 1);
      assert.equal(sample(t, 'hopsafe_rejects_total', { endpoint: 'b', code: 'ERR_BAD_MAC' }), 1);
      assert.equal(samples(t, 'hopsafe_rejects_total').filter((s) => s.labels.endpoint === 'a').length, 0, 'a refused nothing');
      assert.ok((sample(t, 'hopsafe_key_updates_total', { endpoint: 'a', direction: 'sent' }) ?? 0) >= 1);
      assert.ok((sample(t, 'hopsafe_key_updates_total', { endpoint: 'b', direction: 'received' }) ?? 0) >= 1);
      // the counters are the endpoint's stats()
      assert.equal(sample(t, 'hopsafe_records_sent_total', { endpoint: 'a' }), a.stats().sent);
      // histograms: one handshake started by a; the sends made on the established session; every record delivered
      assert.equal(sample(t, 'hopsafe_handshake_duration_seconds_count', { endpoint: 'a' }), 1);
      assert.equal(sample(t, 'hopsafe_handshake_duration_seconds_count', { endpoint: 'b' }), undefined, 'b started no handshake');
      assert.ok((sample(t, 'hopsafe_handshake_duration_seconds_sum', { endpoint: 'a' }) ?? 0) > 0);
      assert.equal(
        sample(t, 'hopsafe_record_duration_seconds_count', { endpoint: 'a', direction: 'send' }),
        3,
        "'one' waited for the handshake: not a record latency",
      );
      assert.equal(sample(t, 'hopsafe_record_duration_seconds_count', { endpoint: 'b', direction: 'receive' }), 4);
      assert.equal(sample(t, 'hopsafe_record_duration_seconds_bucket', { endpoint: 'b', direction: 'receive', le: '+Inf' }), 4);
      assert.equal(sample(t, 'hopsafe_queue_depth', { endpoint: 'a', queue: 'waiting' }), 0);
      assert.equal(sample(t, 'hopsafe_transport_dropped_frames_total', { endpoint: 'b', reason: 'oversize' }), 0);
    } finally {
      await c.close();
    }
    // closed endpoints leave the registry
    const after = await registry.metrics();
    assert.equal(samples(after, 'hopsafe_sessions').length, 0);
    assert.ok(!after.includes('endpoint="a"'), after);
  });

  test('queue depths and unconfirmed by code: a peer that never answers, acknowledgements that never come', async () => {
    const registry = new Registry();
    const c = await cast(['a', 'b'], { metrics: { registry }, perEndpoint: { a: { acks: { timeoutMs: 100 } } } });
    try {
      const a = c.eps.a!;
      const pending = code(a.send('nobody', utf8('x'))); // no such endpoint on the hub: the handshake stays unanswered
      await until(() => a.queues().waiting === 1);
      let t = await registry.metrics();
      assert.equal(sample(t, 'hopsafe_queue_depth', { endpoint: 'a', queue: 'waiting' }), 1);
      assert.equal(sample(t, 'hopsafe_handshakes_pending', { endpoint: 'a' }), 1);
      assert.equal(sample(t, 'hopsafe_peers', { endpoint: 'a' }), 1);
      await a.send('b', utf8('ok'), { confirm: true });
      t = await registry.metrics();
      assert.equal(sample(t, 'hopsafe_records_confirmed_total', { endpoint: 'a' }), 1);
      assert.equal(
        sample(t, 'hopsafe_confirm_duration_seconds_count', { endpoint: 'a' }),
        undefined,
        'the first send waited for the handshake: not timed',
      );
      await a.send('b', utf8('ok2'), { confirm: true });
      c.hub.tap((f) => (f.from === 'b' && frameTypeName(f.bytes) === 'ACK' ? null : undefined));
      assert.equal(await code(a.send('b', utf8('slow'), { confirm: true })), 'ERR_TIMEOUT');
      t = await registry.metrics();
      assert.equal(sample(t, 'hopsafe_records_unconfirmed_total', { endpoint: 'a', code: 'ERR_TIMEOUT' }), 1);
      assert.equal(
        sample(t, 'hopsafe_confirm_duration_seconds_count', { endpoint: 'a' }),
        1,
        'ok2 timed to its acknowledgement; slow was never acknowledged',
      );
      assert.deepEqual(a.stats().unconfirmedByCode, { ERR_TIMEOUT: 1 });
      await c.close();
      assert.notEqual(await pending, 'resolved');
    } finally {
      await c.close();
    }
  });

  test('off by default (nothing registered anywhere); metrics: true is a registry of the endpoint’s own', async () => {
    const c = await cast(['a', 'b'], { perEndpoint: { b: { metrics: true } } });
    try {
      const { a, b } = c.eps as Record<'a' | 'b', NonNullable<(typeof c.eps)[string]>>;
      assert.equal(a.metricsRegistry, undefined);
      assert.equal(await code(a.metrics()), 'ERR_CONFIG');
      assert.equal((await globalRegister.metrics()).includes('hopsafe_'), false, "prom-client's global registry is left alone");
      await a.send('b', utf8('hi'));
      await until(() => c.inbox.b!.length === 1);
      const t = await b.metrics();
      assert.ok(b.metricsRegistry instanceof Registry && b.metricsRegistry !== globalRegister);
      assert.equal(sample(t, 'hopsafe_records_received_total', { endpoint: 'b' }), 1);
      assert.ok(!t.includes('endpoint="a"'));
    } finally {
      await c.close();
    }
  });

  test("the application's registry: its own metrics and several endpoints side by side; a name clash or a bad prefix is ERR_CONFIG", async () => {
    const registry = new Registry();
    new Counter({ name: 'app_requests_total', help: 'app', registers: [registry] }).inc(7);
    const c = await cast(['a', 'b', 'c'], { metrics: { registry } });
    try {
      await c.eps.a!.send('b', utf8('1'));
      await c.eps.c!.send('b', utf8('2'));
      await until(() => c.inbox.b!.length === 2);
      const t = await registry.metrics();
      assert.equal(sample(t, 'app_requests_total', {}), 7);
      assert.equal(sample(t, 'hopsafe_records_received_total', { endpoint: 'b' }), 2);
      assert.equal(sample(t, 'hopsafe_records_sent_total', { endpoint: 'a' }), 1);
      assert.equal(sample(t, 'hopsafe_records_sent_total', { endpoint: 'c' }), 1);
      assert.equal(sample(t, 'hopsafe_sessions', { endpoint: 'b' }), 2);
      assert.equal(t.split('# TYPE hopsafe_sessions gauge').length, 2, 'one metric, one series per endpoint');
    } finally {
      await c.close();
    }

    const pki = await createTestPki({ endpoints: [{ id: 'x' }] });
    const hub = createMemoryHub();
    const base = { id: 'x', identity: pki.identities.x!, trust: { roots: pki.roots } };
    const clash = new Registry();
    new Counter({ name: 'hopsafe_rejects_total', help: 'somebody else', registers: [clash] });
    assert.equal(await code(createEndpoint({ ...base, transport: hub.transport(), metrics: { registry: clash } })), 'ERR_CONFIG');
    assert.equal(clash.getMetricsAsArray().length, 1, 'nothing registered before the clash was found');
    assert.equal(await code(createEndpoint({ ...base, transport: hub.transport(), metrics: { prefix: 'bad-prefix' } })), 'ERR_CONFIG');
    assert.equal(
      await code(createEndpoint({ ...base, transport: hub.transport(), metrics: { buckets: { record: [0.1, 0.01] } } })),
      'ERR_CONFIG',
    );
    assert.equal(await code(createEndpoint({ ...base, transport: hub.transport(), metrics: { registry: {} as Registry } })), 'ERR_CONFIG');
    // another prefix in the same registry is fine
    const ep = await createEndpoint({ ...base, transport: hub.transport(), metrics: { registry: clash, prefix: 'grid_hopsafe_' } });
    try {
      assert.equal(sample(await ep.metrics(), 'grid_hopsafe_sessions', { endpoint: 'x' }), 0);
    } finally {
      await ep.close();
    }
  });

  test('a transport that does not open leaves nothing in the registry', async () => {
    const registry = new Registry();
    const pki = await createTestPki({ endpoints: [{ id: 'x' }] });
    const hub = createMemoryHub();
    const t = hub.transport();
    const broken = { ...t, name: 'broken', maxFrameSize: t.maxFrameSize, open: async () => Promise.reject(new Error('no broker')) };
    await assert.rejects(
      createEndpoint({ id: 'x', identity: pki.identities.x!, trust: { roots: pki.roots }, transport: broken, metrics: { registry } }),
    );
    assert.equal(samples(await registry.metrics(), 'hopsafe_sessions').length, 0);
  });
});
