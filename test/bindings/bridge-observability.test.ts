/**
 * Logs and metrics of a bridge and of the endpoints talking through it (memory hubs on both sides): one pino trace
 * logger and one prom-client registry for all of them. The logs hold no key, no payload and no frame bytes, also in
 * integrity mode (where the payload is readable on the wire); the metrics agree with the stats. [SPEC 8.5]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { createBridge } from '../../src/bindings/bridge.js';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { createTestPki } from '../../src/testing/index.js';
import { toBase64, toHex, utf8 } from '../../src/bytes/index.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { until } from '../support/endpoints.js';
import { sample } from '../support/prometheus.js';

test('[SPEC 8.5] one logger and one registry for a bridge and its endpoints: counters agree with stats(), logs carry no key, payload or frame bytes', async () => {
  const lines: string[] = [];
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    }),
  );
  const registry = new Registry();
  const east = createMemoryHub({ logger, maxFrameSize: 4096 });
  const west = createMemoryHub({ logger });
  const wire: Uint8Array[] = [];
  const bridge = await createBridge({
    sides: { east: () => east.transport(), west: () => west.transport() },
    endpoints: { 'der-1': 'east', cc: 'west' },
    tap: (f) => void wire.push(f.bytes),
    logger,
    metrics: { registry, name: 'edge' },
  });
  const pki = await createTestPki({ endpoints: [{ id: 'der-1' }, { id: 'cc' }] });
  const secret = 'SECRET-BRIDGED-PAYLOAD-51c2';
  const der = await createEndpoint({
    id: 'der-1',
    identity: pki.identities['der-1']!,
    trust: { roots: pki.roots },
    transport: east.transport(),
    protection: 'integrity',
    logger,
    metrics: { registry },
  });
  const cc = await createEndpoint({
    id: 'cc',
    identity: pki.identities.cc!,
    trust: { roots: pki.roots },
    transport: west.transport(),
    acceptProtection: ['integrity'],
    logger,
    metrics: { registry },
  });
  try {
    const got: string[] = [];
    cc.on('message', (m) => got.push(new TextDecoder().decode(m.data)));
    for (let i = 0; i < 3; i++) await der.send('cc', utf8(`${secret}-${i}`));
    await der.rekey('cc');
    await der.send('cc', utf8(`${secret}-3`));
    await until(() => got.length === 4);
    // the east hub (a hostile intermediary) injects an oversize frame: dropped before the bridge, logged without bytes
    east.tap((f) => (f.from === 'der-1' && f.to === 'cc' ? [f.bytes, new Uint8Array(5000).fill(0x41)] : undefined));
    await der.send('cc', utf8(`${secret}-4`));
    await until(() => got.length === 5);
    const st = bridge.stats();
    const t = await registry.metrics();
    assert.equal(sample(t, 'hopsafe_bridge_frames_forwarded_total', { bridge: 'edge', side: 'east' }), st.perSide.east?.forwarded);
    assert.equal(sample(t, 'hopsafe_bridge_frames_forwarded_total', { bridge: 'edge', side: 'west' }), st.perSide.west?.forwarded);
    assert.ok((st.perSide.east?.forwarded ?? 0) >= 5);
    assert.equal(sample(t, 'hopsafe_bridge_bytes_forwarded_total', { bridge: 'edge' }), st.bytes);
    assert.equal(sample(t, 'hopsafe_bridge_proxies', { bridge: 'edge' }), 2);
    assert.equal(sample(t, 'hopsafe_records_sent_total', { endpoint: 'der-1' }), 5);
    assert.equal(sample(t, 'hopsafe_records_received_total', { endpoint: 'cc' }), 5);
    assert.equal(await bridge.metrics(), await registry.metrics(), 'bridge.metrics() is the shared registry');
    await der.close();
    await cc.close();
    await bridge.close();
    const after = await registry.metrics();
    assert.ok(!after.includes('bridge="edge"') && !after.includes('endpoint="cc"'), 'closed: series gone');
  } finally {
    await Promise.all([der.close(), cc.close(), bridge.close()]);
  }
  const log = lines.join('');
  assert.ok(log.includes('"msg":"bridge open"') && log.includes('"transport":"bridge"'), 'the bridge logged');
  assert.ok(log.includes('"transport":"memory"') && log.includes('larger than maxFrameSize'), 'the hub logged the oversize drop');
  assert.ok(log.includes('"msg":"session established"'));
  for (const needle of [secret, toHex(utf8(secret)), toBase64(utf8(secret)).slice(0, 16), 'AAAAAAAAAAAA', '4141414141'])
    assert.ok(!log.includes(needle), `in the log: ${needle}`);
  assert.ok(!/PRIVATE KEY/.test(log));
  for (const pem of [pki.identities['der-1']!.privateKey, pki.identities.cc!.privateKey])
    for (const l of pem.split('\n').filter((x) => x.length > 20 && !x.startsWith('-----')))
      assert.ok(!log.includes(l), 'private key material in the log');
  for (const f of wire.slice(0, 20)) {
    assert.ok(!log.includes(toHex(f.subarray(0, 24))), 'frame bytes in the log (hex)');
    assert.ok(!log.includes(toBase64(f.subarray(0, 24)).slice(0, 24)), 'frame bytes in the log (base64)');
  }
});

test('[SPEC 8.5] createBridge: metrics off by default; bad metrics or logger options are ERR_CONFIG', async () => {
  const a = createMemoryHub();
  const b = createMemoryHub();
  const sides = { a: () => a.transport(), b: () => b.transport() };
  const plain = await createBridge({ sides, endpoints: { x: 'a', y: 'b' } });
  try {
    assert.equal(plain.metricsRegistry, undefined);
    await assert.rejects(plain.metrics(), (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG');
  } finally {
    await plain.close();
  }
  for (const bad of [{ metrics: { prefix: '9x' } }, { metrics: { registry: 'nope' } }, { logger: 'console' }]) {
    await assert.rejects(
      createBridge({ sides, endpoints: { x: 'a', y: 'b' }, ...(bad as object) }),
      (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG',
      JSON.stringify(bad),
    );
  }
});
