/**
 * [SPEC 8.11, 13.9] Groups on the system nats-server (127.0.0.1:4222): one core message per group publish on
 * `~g.{prefix}.{w(P)}.{G}`, in core and JetStream mode; the subject mapping; group frames never enter the JetStream
 * inbox stream; a NATS ↔ MQTT bridge carries a NATS publisher's group.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { natsTransport } from '../../src/bindings/nats.js';
import { natsGroupAddress, natsGroupSubject, natsPublisherGroups } from '../../src/bindings/nats-groups.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { createBridge } from '../../src/bindings/bridge.js';
import { startBroker } from '../../src/broker/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { HopsafeError } from '../../src/errors/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { groupScenario } from '../support/group-scenario.js';
import { deleteStream, NATS_SERVICE, NATS_URL, natsAvailable } from '../support/nats.js';
import { requireOrSkip } from '../support/services.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { checkGroupGuards } from '../support/group-guards.js';

let available = false;
let spy: NatsConnection | undefined;
const streams = new Set<string>();

before(async () => {
  available = await natsAvailable();
  if (available) spy = await connect({ servers: NATS_URL });
});
after(async () => {
  for (const s of streams) await deleteStream(NATS_URL, s);
  await spy?.close();
});

const guard = (t: { skip(m?: string): void }): boolean => requireOrSkip(t, NATS_SERVICE, available);
const uniquePrefix = (): string => `hopsafe-g${randomBytes(3).toString('hex')}`;
const G = '0123456789abcdef0123456789abcdef';

/** [SPEC 13.9] Interest retention: a group frame every member's consumer acked leaves the stream. */
async function drained(stream: string, what: string): Promise<void> {
  const jsm = await jetstreamManager(spy!);
  let left = -1;
  for (let i = 0; i < 100 && left !== 0; i++) {
    left = (await jsm.streams.info(stream)).state.messages;
    if (left !== 0) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(left, 0, `group stream empty: ${what}`);
}

/** A broker spy on every group subject of `prefix`: what a curious operator (or a non-member) sees. */
async function groupSpy(prefix: string): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  spy!.subscribe(`~g.${prefix}.>`, { callback: (_e, m) => void frames.push(new Uint8Array(m.data)) });
  await spy!.flush();
  return frames;
}

test('[SPEC 8.11, 13.9] group subjects: ~g first, then the prefix tokens, w(publisher), the group id; reversible', () => {
  assert.equal(natsGroupSubject('hopsafe', `der.17/${G}`), `~g.hopsafe.der/17.${G}`);
  assert.equal(natsGroupSubject('a.b', `der/${G}`), `~g.a.b.der.${G}`);
  assert.equal(natsPublisherGroups('a.b', 'der.17'), '~g.a.b.der/17.*');
  assert.equal(natsGroupAddress('a.b', `~g.a.b.der/17.${G}`), `der.17/${G}`);
  for (const s of [`a.b.der.${G}`, `~g.a.der.${G}`, `~g.a.b.der.${G.toUpperCase()}`, `~g.a.b.-x.${G}`, `~g.a.b.der.${G}.x`])
    assert.equal(natsGroupAddress('a.b', s), undefined, s);
  assert.throws(
    () => natsGroupSubject('hopsafe', 'der/xyz'),
    (e) => e instanceof HopsafeError && e.code === 'ERR_INPUT',
  );
});

test('[SPEC 8.10, 13.9] publishGroup guards: not opened ERR_STATE, bad address ERR_INPUT, oversize ERR_PAYLOAD_TOO_LARGE, closed ERR_CLOSED', async (t) => {
  if (!guard(t)) return;
  await checkGroupGuards(natsTransport({ servers: NATS_URL, prefix: uniquePrefix(), maxFrameSize: 1000 }));
});

test('[SPEC 8.11, 8.9, 13.9] transport level: one server message per publish reaches every subscriber; oversize dropped; unsubscribe stops it', async (t) => {
  if (!guard(t)) return;
  const prefix = uniquePrefix();
  const seen = await groupSpy(prefix);
  const pub = natsTransport({ servers: NATS_URL, prefix });
  const subs = [natsTransport({ servers: NATS_URL, prefix }), natsTransport({ servers: NATS_URL, prefix, maxFrameSize: 100 })];
  const inbox: unknown[] = [];
  await pub.open('der', (f) => void inbox.push(f));
  const got: Uint8Array[][] = [[], []];
  try {
    for (const [i, s] of subs.entries()) {
      await s.open(`m${i}`, (f) => void inbox.push(f));
      await s.subscribeGroup!(`der/${G}`, (b) => void got[i]!.push(b));
    }
    await pub.publishGroup!(`der/${G}`, utf8('one'));
    await pub.publishGroup!(`der/${G}`, new Uint8Array(200));
    await until(() => got[0]!.length === 2 && got[1]!.length === 1, 5000, 'group frames');
    await until(() => seen.length >= 2, 5000, 'the spy');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen.length, 2, 'one server message per publish');
    assert.deepEqual(
      got[1]!.map((b) => Buffer.from(b).toString()),
      ['one'],
    );
    assert.equal(subs[1]!.inboundStats!().oversize, 1);
    assert.equal(inbox.length, 0, 'a group frame never reaches an inbox');
    await subs[0]!.unsubscribeGroup!(`der/${G}`);
    await pub.publishGroup!(`der/${G}`, utf8('two'));
    await until(() => got[1]!.length === 2, 5000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got[0]!.length, 2, 'unsubscribed');
  } finally {
    for (const x of [pub, ...subs]) await x.close();
  }
});

test('[SPEC 8.11, 13.9] core NATS: 1 publisher → 3 members, one server message each, a non-member subscriber reads nothing', async (t) => {
  if (!guard(t)) return;
  const prefix = uniquePrefix();
  const frames = await groupSpy(prefix);
  await groupScenario(
    () => natsTransport({ servers: NATS_URL, prefix }),
    () => frames.length,
    () => frames,
  );
});

test('[SPEC 8.11, 13.9] JetStream mode: the group works, and no group frame is stored in the inbox stream', async (t) => {
  if (!guard(t)) return;
  const prefix = uniquePrefix();
  const stream = `${prefix}-s`;
  streams.add(stream);
  streams.add(`${stream}-g`);
  const frames = await groupSpy(prefix);
  await groupScenario(
    () => natsTransport({ servers: NATS_URL, prefix, jetstream: { stream, storage: 'memory' } }),
    () => frames.length,
    () => frames,
  );
  // A group publish in JetStream mode is a core publish on ~g.…: the inbox stream over {prefix}.> never stores it.
  const jsm = await jetstreamManager(spy!);
  const seqBefore = (await jsm.streams.info(stream)).state.last_seq;
  const pub = natsTransport({ servers: NATS_URL, prefix, jetstream: { stream, storage: 'memory' } });
  await pub.open('der', () => undefined);
  try {
    await pub.publishGroup!(`der/${G}`, utf8('x'));
    await pub.publishGroup!(`der/${G}`, utf8('y'));
  } finally {
    await pub.close();
  }
  await until(() => frames.length >= 12, 5000, 'the spy saw them');
  assert.equal((await jsm.streams.info(stream)).state.last_seq, seqBefore, 'no group frame stored in the inbox stream');
});

test('[SPEC 8.11, 13.7, 13.9] JetStream mode: a member whose connection drops catches up from its durable group consumer, in order', async (t) => {
  if (!guard(t)) return;
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: 4222 });
  const prefix = uniquePrefix();
  const stream = `${prefix}-s`;
  streams.add(stream);
  streams.add(`${stream}-g`);
  const js = { stream, storage: 'memory' } as const;
  const c = await cast(['der', 'scada', 'hist'], {
    transport: (id) =>
      natsTransport({
        servers: id === 'hist' ? `nats://127.0.0.1:${proxy.port}` : NATS_URL,
        prefix,
        jetstream: js,
        reconnectTimeWaitMs: 100,
      }),
  });
  try {
    const g = await c.eps.der!.group('t', { members: ['scada', 'hist'] });
    await c.eps.scada!.join('der', 't');
    await c.eps.hist!.join('der', 't');
    await g.publish(utf8('m0'));
    await until(() => c.inbox.hist!.length === 1, 5000);
    await drained(`${stream}-g`, 'm0 acked by both members'); // (also: hist's ack is not lost in the cut)
    await proxy.cut();
    for (let i = 1; i <= 5; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.scada!.length === 6, 5000, 'the connected member');
    assert.equal(c.inbox.hist!.length, 1, 'nothing reaches the cut-off member');
    await proxy.restore();
    await until(() => c.inbox.hist!.length === 6, 15_000, 'catch-up');
    assert.deepEqual(c.inbox.hist!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    await drained(`${stream}-g`, 'after the catch-up');
  } finally {
    await c.close();
    await proxy.close();
  }
});

test('[SPEC 8.5, 8.11, 13.9] NATS ↔ MQTT bridge: a NATS publisher, members on both sides, one message per publish on each', async (t) => {
  if (!guard(t)) return;
  const prefix = uniquePrefix();
  const frames = await groupSpy(prefix);
  const broker = await startBroker();
  let mqttGroup = 0;
  broker.tap((f) => void (f.topic.includes('/~g/') && mqttGroup++));
  const sides = { der: 'n', scada: 'n', hist: 'm' } as const;
  const sideN = (): ReturnType<typeof natsTransport> => natsTransport({ servers: NATS_URL, prefix });
  const sideM = (id: string) => mqttTransport({ url: broker.url, clientId: `${id}-${randomBytes(2).toString('hex')}` });
  const bridge = await createBridge({ sides: { n: sideN, m: sideM }, endpoints: { ...sides } });
  const c = await cast(['der', 'scada', 'hist'], { transport: (id) => (sides[id as keyof typeof sides] === 'n' ? sideN() : sideM(id)) });
  try {
    const g = await c.eps.der!.group('telemetry', { members: ['scada', 'hist'] });
    await c.eps.scada!.join('der', 'telemetry');
    await c.eps.hist!.join('der', 'telemetry');
    const before = { n: frames.length, m: mqttGroup };
    for (let i = 0; i < 5; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.scada!.length === 5 && c.inbox.hist!.length === 5, 10_000, 'both sides');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(c.inbox.hist!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.deepEqual(c.inbox.scada!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.equal(frames.length - before.n, 5, 'one group message per publish on NATS');
    assert.equal(mqttGroup - before.m, 5, 'and one on the MQTT broker (the bridge)');
  } finally {
    await c.close();
    await bridge.close();
    await broker.close();
  }
});
