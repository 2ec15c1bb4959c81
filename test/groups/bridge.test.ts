/** [SPEC 8.5, 13.9] Groups through a bridge: members on the other side read the publisher's group on their own broker. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createBridge } from '../../src/bindings/bridge.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { startBroker } from '../../src/broker/index.js';
import { utf8 } from '../../src/bytes/index.js';
import type { Transport } from '../../src/transport/transport.js';
import { cast, text, until } from '../support/endpoints.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';
import { removeAmqpObjects } from '../support/amqp-cleanup.js';

const SIDES = { der: 'a', scada: 'a', hist: 'b' } as const;

async function scenario(
  sideA: (id: string) => Transport,
  sideB: (id: string) => Transport,
  count: { a: () => number; b: () => number } | undefined,
  inject?: (bytes: Uint8Array, address: string) => Promise<void>,
): Promise<void> {
  const bridge = await createBridge({ sides: { a: sideA, b: sideB }, endpoints: { ...SIDES } });
  const c = await cast(['der', 'scada', 'hist'], { transport: (id) => (SIDES[id as keyof typeof SIDES] === 'a' ? sideA(id) : sideB(id)) });
  try {
    const g = await c.eps.der!.group('telemetry', { members: ['scada', 'hist'] });
    await c.eps.scada!.join('der', 'telemetry');
    await c.eps.hist!.join('der', 'telemetry');
    const before = count ? { a: count.a(), b: count.b() } : undefined;
    for (let i = 0; i < 5; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.scada!.length === 5 && c.inbox.hist!.length === 5, 10_000, 'both sides');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(c.inbox.hist!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.deepEqual(c.inbox.scada!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4']);
    if (count && before) {
      assert.equal(count.a() - before.a, 5, "one group message per publish on the publisher's broker");
      assert.equal(count.b() - before.b, 5, 'and one on the other broker (the bridge), not one per member');
    }
    if (inject) {
      // a frame on side b claiming der's group address: der does not live on b, so the bridge never carries it to a
      const forwarded = bridge.stats().forwarded;
      await inject(utf8('not a frame'), g.address);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(bridge.stats().forwarded, forwarded);
      assert.equal(c.eps.scada!.stats().groups.rejected, 0, 'nothing reached the member on side a');
    }
  } finally {
    await c.close();
    await bridge.close();
  }
}

test('[SPEC 8.5, 13.9] two aedes brokers bridged: one group message per publish on each broker; nothing flows back', async () => {
  const a = await startBroker();
  const b = await startBroker();
  const n = { a: 0, b: 0 };
  a.tap((f) => void (f.topic.includes('/~g/') && n.a++));
  b.tap((f) => void (f.topic.includes('/~g/') && n.b++));
  try {
    const tag = randomBytes(2).toString('hex');
    await scenario(
      (id) => mqttTransport({ url: a.url, clientId: `${id}-${tag}-a-${randomBytes(2).toString('hex')}` }),
      (id) => mqttTransport({ url: b.url, clientId: `${id}-${tag}-b-${randomBytes(2).toString('hex')}` }),
      { a: () => n.a, b: () => n.b },
      (bytes, address) => b.inject({ topic: `hopsafe/~g/${address}`, bytes }),
    );
  } finally {
    await a.close();
    await b.close();
  }
});

test("[SPEC 8.5, 13.9] MQTT (aedes) ↔ AMQP (RabbitMQ) bridge: the AMQP member reads the MQTT publisher's group", async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', await serviceAvailable('127.0.0.1', 5672))) return;
  const a = await startBroker();
  const url = 'amqp://guest:guest@127.0.0.1:5672';
  const exchange = `hopsafe-gb-${randomBytes(3).toString('hex')}`;
  try {
    await scenario(
      (id) => mqttTransport({ url: a.url, clientId: `${id}-${randomBytes(3).toString('hex')}` }),
      () => amqpTransport({ url, exchange, queuePrefix: exchange, durable: false }),
      undefined,
    );
  } finally {
    await a.close();
    await removeAmqpObjects(
      url,
      exchange,
      Object.keys(SIDES).map((id) => `${exchange}.${id}`),
    );
  }
});
