/**
 * [SPEC 8.2, 13.9] Groups on the browser bundle's MQTT-over-WebSocket transport (src/browser/mqtt-ws.ts), run in Node
 * against the embedded broker's WebSocket listener: the same topic `{prefix}/~g/{P}/{G}` as hopsafe/mqtt (so a TCP
 * publisher's group reaches WebSocket members), one broker message per publish for every subscriber, inbound frames
 * above maxFrameSize dropped, a group frame never in the inbox, `onTraffic` shows group frames, unsubscribe stops
 * delivery, and `publishGroup`'s guards (SPEC 8.10). The page itself is tested in web-demo.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { mqttWsTransport } from '../../src/browser/mqtt-ws.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { utf8 } from '../../src/bytes/index.js';
import type { Transport } from '../../src/transport/transport.js';
import { until } from '../support/endpoints.js';
import { groupScenario } from '../support/group-scenario.js';
import { checkGroupGuards } from '../support/group-guards.js';

const G = '0123456789abcdef0123456789abcdef';

/** The embedded broker with its WebSocket listener, counting (and keeping) what it carries on group topics. */
async function groupBroker(): Promise<{ broker: RunningBroker; frames: Uint8Array[]; wsUrl: string }> {
  const broker = await startBroker({ ws: true });
  const frames: Uint8Array[] = [];
  broker.tap((f) => {
    if (f.topic.startsWith('hopsafe/~g/')) frames.push(f.bytes.slice());
  });
  return { broker, frames, wsUrl: broker.wsUrl ?? assert.fail('no ws listener') };
}

const unique = (id: string): string => `${id}-${randomBytes(2).toString('hex')}`;

for (const [name, publisher] of [
  ['every endpoint on MQTT over WebSocket', 'ws'],
  ['the publisher on MQTT over TCP (hopsafe/mqtt), the members on WebSocket', 'tcp'],
] as const)
  test(`[SPEC 13.9, 8.2] mqttWsTransport groups, ${name}: 1 publisher → 3 members, one broker message each, removal`, async () => {
    const { broker, frames, wsUrl } = await groupBroker();
    try {
      await groupScenario(
        (id): Transport =>
          id === 'der' && publisher === 'tcp'
            ? mqttTransport({ url: broker.url, clientId: unique(id) })
            : mqttWsTransport({ url: wsUrl, clientId: unique(id) }),
        () => frames.length,
        () => frames,
      );
    } finally {
      await broker.close();
    }
  });

test('[SPEC 8.9, 13.9] mqttWsTransport at transport level: one broker message reaches every subscriber; oversize dropped; never in the inbox; onTraffic; unsubscribe stops it', async () => {
  const { broker, frames, wsUrl } = await groupBroker();
  const traffic: { direction: string; topic: string; size: number }[][] = [[], [], []];
  const onTraffic =
    (i: number) =>
    (t: { direction: string; topic: string; bytes: Uint8Array }): void =>
      void traffic[i]!.push({ direction: t.direction, topic: t.topic, size: t.bytes.length });
  const pub = mqttWsTransport({ url: wsUrl, clientId: unique('der'), onTraffic: onTraffic(0) });
  const subs = [
    mqttWsTransport({ url: wsUrl, clientId: unique('m0'), onTraffic: onTraffic(1) }),
    mqttWsTransport({ url: wsUrl, clientId: unique('m1'), maxFrameSize: 100, onTraffic: onTraffic(2) }),
  ];
  const inbox: unknown[] = [];
  const got: Uint8Array[][] = [[], []];
  const topic = `hopsafe/~g/der/${G}`;
  try {
    await pub.open('der', (f) => void inbox.push(f));
    for (const [i, s] of subs.entries()) {
      await s.open(`m${i}`, (f) => void inbox.push(f));
      await s.subscribeGroup!(`der/${G}`, (b) => void got[i]!.push(b.slice()));
    }
    await pub.publishGroup!(`der/${G}`, utf8('one'));
    await pub.publishGroup!(`der/${G}`, new Uint8Array(200));
    await until(() => got[0]!.length === 2 && got[1]!.length === 1, 5000, 'group frames');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(frames.length, 2, 'one broker message per publish');
    assert.deepEqual(
      got[0]!.map((b) => b.length),
      [3, 200],
    );
    assert.deepEqual(
      got[1]!.map((b) => Buffer.from(b).toString()),
      ['one'],
      'the frame above maxFrameSize is dropped',
    );
    assert.equal(subs[1]!.inboundStats!().oversize, 1);
    assert.equal(inbox.length, 0, 'a group frame never reaches an inbox');
    // the page's traffic hook: the publisher's two sends, each member's receipts (after the size check), on the group topic
    assert.deepEqual(traffic[0], [
      { direction: 'send', topic, size: 3 },
      { direction: 'send', topic, size: 200 },
    ]);
    assert.deepEqual(traffic[1], [
      { direction: 'receive', topic, size: 3 },
      { direction: 'receive', topic, size: 200 },
    ]);
    assert.deepEqual(traffic[2], [{ direction: 'receive', topic, size: 3 }]);
    await subs[0]!.unsubscribeGroup!(`der/${G}`);
    await pub.publishGroup!(`der/${G}`, utf8('two'));
    await until(() => got[1]!.length === 2, 5000, 'the member still subscribed');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got[0]!.length, 2, 'unsubscribed: nothing more');
  } finally {
    for (const x of [pub, ...subs]) await x.close();
    await broker.close();
  }
});

test('[SPEC 13.9] mqttWsTransport: a publish on an inbox topic is not a group frame, one on a group topic not an inbox frame', async () => {
  const { broker, wsUrl } = await groupBroker();
  const member = mqttWsTransport({ url: wsUrl, clientId: unique('m') });
  const inbox: { from: string; bytes: Uint8Array }[] = [];
  const group: Uint8Array[] = [];
  const raw = await mqtt.connectAsync(broker.url, { clientId: unique('raw') });
  try {
    await member.open('m', (f) => void inbox.push(f));
    await member.subscribeGroup!(`der/${G}`, (b) => void group.push(b));
    // another publisher's group with the same group id, and the member's inbox: neither reaches the group handler
    await raw.publishAsync(`hopsafe/~g/other/${G}`, Buffer.from('other publisher'), { qos: 1 });
    await raw.publishAsync('hopsafe/m/der', Buffer.from('inbox'), { qos: 1 });
    await raw.publishAsync(`hopsafe/~g/der/${G}`, Buffer.from('group'), { qos: 1 });
    await until(() => inbox.length === 1 && group.length === 1, 5000, 'both deliveries');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      inbox.map((f) => [f.from, Buffer.from(f.bytes).toString()]),
      [['der', 'inbox']],
    );
    assert.deepEqual(
      group.map((b) => Buffer.from(b).toString()),
      ['group'],
    );
  } finally {
    await raw.endAsync();
    await member.close();
    await broker.close();
  }
});

test('[SPEC 8.10, 13.9] mqttWsTransport publishGroup guards: not opened ERR_STATE, bad address ERR_INPUT, oversize ERR_PAYLOAD_TOO_LARGE, closed ERR_CLOSED', async () => {
  const { broker, wsUrl } = await groupBroker();
  const tr = mqttWsTransport({ url: wsUrl, clientId: unique('der'), maxFrameSize: 1000 });
  try {
    await checkGroupGuards(tr);
  } finally {
    await tr.close();
    await broker.close();
  }
});
