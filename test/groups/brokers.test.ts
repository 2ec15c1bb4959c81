/** [SPEC 13.9] Groups end to end through real brokers: aedes (embedded), Mosquitto, RabbitMQ (AMQP and its MQTT plugin). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import amqplib from 'amqplib';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { startBroker } from '../../src/broker/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { groupScenario, GROUP_MEMBERS as MEMBERS } from '../support/group-scenario.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

test('[SPEC 13.9, 8.2] aedes (embedded broker): 1 publisher → 3 members, one broker message each, removal', async () => {
  const broker = await startBroker();
  let n = 0;
  const frames: Uint8Array[] = [];
  broker.tap((f) => {
    if (f.topic.startsWith('hopsafe/~g/')) {
      n++;
      frames.push(f.bytes.slice());
    }
  });
  try {
    await groupScenario(
      (id) => mqttTransport({ url: broker.url, clientId: `${id}-${randomBytes(2).toString('hex')}` }),
      () => n,
      () => frames,
    );
  } finally {
    await broker.close();
  }
});

test('[SPEC 13.9, 8.2] Mosquitto: 1 publisher → 3 members, one broker message each, a non-member subscriber reads nothing', async (t) => {
  if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;
  const url = 'mqtt://127.0.0.1:1883';
  const prefix = `hopsafe-g-${randomBytes(3).toString('hex')}`;
  const spy = await mqtt.connectAsync(url, { clientId: `spy-${randomBytes(3).toString('hex')}` });
  const frames: Uint8Array[] = [];
  spy.on('message', (topic, payload) => {
    if (topic.startsWith(`${prefix}/~g/`)) frames.push(new Uint8Array(payload));
  });
  await spy.subscribeAsync(`${prefix}/~g/#`, { qos: 1 });
  try {
    await groupScenario(
      (id) => mqttTransport({ url, prefix, clientId: `${prefix}-${id}`, unsubscribeOnClose: true, mqttOptions: { clean: true } }),
      () => frames.length,
      () => frames,
    );
  } finally {
    await spy.endAsync();
  }
});

test('[SPEC 13.9, 8.3] RabbitMQ (AMQP topic exchange): 1 publisher → 3 members, one broker message each', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', await serviceAvailable('127.0.0.1', 5672))) return;
  const url = 'amqp://guest:guest@127.0.0.1:5672';
  const exchange = `hopsafe-g-${randomBytes(3).toString('hex')}`;
  const conn = await amqplib.connect(url);
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  const q = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(q.queue, exchange, '~g.#');
  const frames: Uint8Array[] = [];
  await ch.consume(q.queue, (m) => void (m && frames.push(new Uint8Array(m.content))), { noAck: true });
  try {
    await groupScenario(
      () => amqpTransport({ url, exchange, queuePrefix: exchange, durable: false }),
      () => frames.length,
      () => frames,
    );
  } finally {
    for (const id of ['der', ...MEMBERS]) await ch.deleteQueue(`${exchange}.${id}`).catch(() => undefined);
    await ch.deleteExchange(exchange).catch(() => undefined);
    await conn.close().catch(() => undefined);
  }
});

test('[SPEC 13.9, 8.3] RabbitMQ: an MQTT publisher (MQTT plugin) and AMQP members meet on prefix/~g/{address}', async (t) => {
  if (!requireOrSkip(t, 'RabbitMQ 127.0.0.1:5672', await serviceAvailable('127.0.0.1', 5672))) return;
  if (!requireOrSkip(t, 'RabbitMQ MQTT plugin 127.0.0.1:1885', await serviceAvailable('127.0.0.1', 1885))) return;
  const prefix = `hopsafe-g-${randomBytes(3).toString('hex')}`;
  const c = await cast(['der', 'scada', 'hist'], {
    transport: (id) =>
      id === 'der'
        ? mqttTransport({ url: 'mqtt://guest:guest@127.0.0.1:1885', prefix, clientId: `${prefix}-${id}`, mqttOptions: { clean: true } })
        : amqpTransport({
            url: 'amqp://guest:guest@127.0.0.1:5672',
            exchange: 'amq.topic',
            routingKeyPrefix: prefix,
            queuePrefix: prefix,
            durable: false,
          }),
  });
  try {
    const g = await c.eps.der!.group('t', { members: ['scada', 'hist'] });
    await c.eps.scada!.join('der', 't');
    await c.eps.hist!.join('der', 't');
    for (let i = 0; i < 3; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.scada!.length === 3 && c.inbox.hist!.length === 3, 10_000);
    assert.deepEqual(c.inbox.hist!.map(text), ['m0', 'm1', 'm2']);
  } finally {
    await c.close();
    const conn = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
    const ch = await conn.createChannel();
    for (const id of ['scada', 'hist']) await ch.deleteQueue(`${prefix}.${id}`).catch(() => undefined);
    await conn.close();
  }
});

test('[SPEC 13.7, 8.2] aedes: a member whose connection drops catches up on reconnect (persistent session) within the epochs it holds', async () => {
  const broker = await startBroker();
  const memberClient = await mqtt.connectAsync(broker.url, { clientId: 'hist', clean: false, reconnectPeriod: 100 });
  const c = await cast(['der', 'scada', 'hist'], {
    transport: (id) => (id === 'hist' ? mqttTransport({ client: memberClient }) : mqttTransport({ url: broker.url, clientId: id })),
  });
  try {
    const g = await c.eps.der!.group('t', { members: ['scada', 'hist'] });
    await c.eps.scada!.join('der', 't');
    await c.eps.hist!.join('der', 't');
    await g.publish(utf8('m0'));
    await until(() => c.inbox.hist!.length === 1, 5000);
    const closed = new Promise<void>((r) => memberClient.once('close', () => r()));
    memberClient.stream.destroy(); // the network drops; mqtt.js reconnects after 100 ms with the same session
    await closed;
    assert.equal(memberClient.connected, false);
    for (let i = 1; i <= 5; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.hist!.length === 6, 10_000, 'catch-up');
    assert.deepEqual(c.inbox.hist!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  } finally {
    await c.close();
    await memberClient.endAsync();
    await broker.close();
  }
});
