/**
 * The embedded broker: adversary and taps (drop, replace, duplicate, inject, observe), inject(),
 * restart on the same port, WebSocket listener, and a close that leaves nothing open. [SPEC 8.2]
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import type { InboundFrame, Transport } from '../../src/transport/transport.js';
import { startBroker, type InterceptedFrame, type Interceptor, type RunningBroker } from '../../src/broker/index.js';
import { applyInterceptors } from '../../src/transport/interceptor.js';
import { isHopsafeError } from '../../src/errors/index.js';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function endpoint(url: string, id: string): Promise<{ t: Transport; frames: InboundFrame[] }> {
  const frames: InboundFrame[] = [];
  const t = mqttTransport({ url });
  cleanup.push(() => t.close());
  await t.open(id, (f) => void frames.push(f));
  return { t, frames };
}

const list = (frames: InboundFrame[]): Array<[string, number[]]> => frames.map((f) => [f.from, [...f.bytes]]);

async function pair(
  adversary?: Interceptor,
): Promise<{ broker: RunningBroker; a: Transport; b: { t: Transport; frames: InboundFrame[] } }> {
  const broker = await startBroker(adversary ? { adversary } : {});
  cleanup.push(() => broker.close());
  const a = await endpoint(broker.url, 'cc');
  const b = await endpoint(broker.url, 'der-1');
  return { broker, a: a.t, b };
}

describe('interceptor pipeline (pure)', () => {
  const frame: InterceptedFrame = { from: 'a', to: 'b', topic: 'hopsafe/b/a', bytes: Uint8Array.from([1]) };
  test('[SPEC 8.2] undefined passes, bytes replace, array fans out, null and [] drop, later stages see earlier output, a throwing stage passes', () => {
    assert.deepEqual(applyInterceptors(frame, []), [frame.bytes]);
    assert.deepEqual(applyInterceptors(frame, [() => undefined]), [frame.bytes]);
    assert.deepEqual(applyInterceptors(frame, [() => Uint8Array.from([9])]), [Uint8Array.from([9])]);
    assert.deepEqual(applyInterceptors(frame, [() => null]), []);
    assert.deepEqual(applyInterceptors(frame, [() => []]), []);
    const seen: number[][] = [];
    const out = applyInterceptors(frame, [
      (f) => [f.bytes, Uint8Array.from([2])],
      (f) => void seen.push([...f.bytes]),
      (f) => (f.bytes[0] === 2 ? null : undefined),
    ]);
    assert.deepEqual(seen, [[1], [2]]);
    assert.deepEqual(out, [frame.bytes]);
    assert.deepEqual(
      applyInterceptors(frame, [
        () => {
          throw new Error('x');
        },
      ]),
      [frame.bytes],
    );
  });
});

describe('embedded broker interceptors', () => {
  test('[SPEC 8.2] the adversary can drop a frame; the publisher still gets its PUBACK; no # subscriber sees it', async () => {
    const { broker, a, b } = await pair((f) => (f.bytes[0] === 0xff ? null : undefined));
    const spySeen: string[] = [];
    const spy = await mqtt.connectAsync(broker.url, { clientId: 'spy', reconnectPeriod: 0 });
    cleanup.push(() => spy.endAsync());
    spy.on('message', (topic, payload) => spySeen.push(`${topic}:${payload.toString('hex')}`));
    await spy.subscribeAsync('#', { qos: 1 });
    await a.send('der-1', Uint8Array.from([1]));
    await a.send('der-1', Uint8Array.from([0xff])); // resolves: dropped after PUBACK, like an ACL deny
    await a.send('der-1', Uint8Array.from([2]));
    await until(() => b.frames.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(list(b.frames), [
      ['cc', [1]],
      ['cc', [2]],
    ]);
    assert.deepEqual(spySeen, ['hopsafe/der-1/cc:01', 'hopsafe/der-1/cc:02']);
    // nobody may subscribe to the drop sink explicitly
    await assert.rejects(spy.subscribeAsync('$hopsafe/#', { qos: 1 }), /Subscribe error/); // SUBACK 0x80
  });

  test('[SPEC 8.2] the adversary can replace, duplicate and inject; order is kept', async () => {
    const { a, b } = await pair((f) => {
      if (f.bytes[0] === 1) return Uint8Array.from([1, 0xee]); // tamper
      if (f.bytes[0] === 2) return [f.bytes, f.bytes]; // duplicate
      if (f.bytes[0] === 3) return [f.bytes, Uint8Array.from([0x66])]; // inject after
      return undefined;
    });
    for (const x of [1, 2, 3, 4]) await a.send('der-1', Uint8Array.from([x]));
    await until(() => b.frames.length === 6);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(list(b.frames), [
      ['cc', [1, 0xee]],
      ['cc', [2]],
      ['cc', [2]],
      ['cc', [3]],
      ['cc', [0x66]],
      ['cc', [4]],
    ]);
  });

  test("[SPEC 8.2] taps see every client publish with from/to parsed (non-frame topics with from = to = ''), after the adversary; untap stops it", async () => {
    const { broker, a, b } = await pair((f) => (f.bytes[0] === 9 ? null : f.bytes[0] === 2 ? [f.bytes, f.bytes] : undefined));
    const seen: Array<[string, string, string, number[]]> = [];
    const untap = broker.tap((f) => void seen.push([f.from, f.to, f.topic, [...f.bytes]]));
    const mutator = broker.tap((f) => (f.topic === 'hopsafe/cc/der-1' ? Uint8Array.from([0x42]) : undefined));
    await a.send('der-1', Uint8Array.from([1]));
    await a.send('der-1', Uint8Array.from([9]));
    await a.send('der-1', Uint8Array.from([2]));
    await b.t.send('cc', Uint8Array.from([5]));
    const raw = await mqtt.connectAsync(broker.url, { clientId: 'raw', reconnectPeriod: 0 });
    cleanup.push(() => raw.endAsync());
    await raw.publishAsync('sensors/temp', Buffer.from([7]), { qos: 1 });
    await until(() => seen.length === 5);
    assert.deepEqual(seen, [
      ['cc', 'der-1', 'hopsafe/der-1/cc', [1]],
      ['cc', 'der-1', 'hopsafe/der-1/cc', [2]],
      ['cc', 'der-1', 'hopsafe/der-1/cc', [2]],
      ['der-1', 'cc', 'hopsafe/cc/der-1', [5]],
      ['', '', 'sensors/temp', [7]],
    ]);
    untap();
    mutator();
    await a.send('der-1', Uint8Array.from([3]));
    await until(() => b.frames.length === 4);
    assert.equal(seen.length, 5);
    assert.deepEqual(list(b.frames), [
      ['cc', [1]],
      ['cc', [2]],
      ['cc', [2]],
      ['cc', [3]],
    ]);
  });

  test('[SPEC 8.2] a tap registered later can also modify what subscribers get', async () => {
    const { broker, a } = await pair();
    const cc = await endpoint(broker.url, 'der-2');
    broker.tap((f) => (f.to === 'der-2' ? Uint8Array.from([0, ...f.bytes]) : undefined));
    await a.send('der-2', Uint8Array.from([5]));
    await until(() => cc.frames.length === 1);
    assert.deepEqual(list(cc.frames), [['cc', [0, 5]]]);
  });

  test('[SPEC 8.2] inject() publishes as the broker (forged sender, later replay) and bypasses the taps', async () => {
    const { broker, a, b } = await pair();
    const captured: Uint8Array[] = [];
    broker.tap((f) => void captured.push(f.bytes.slice()));
    await a.send('der-1', Uint8Array.from([1, 2]));
    await until(() => b.frames.length === 1);
    await broker.inject({ from: 'cc', to: 'der-1', bytes: captured[0]! }); // replay later
    await broker.inject({ from: 'mallory', to: 'der-1', bytes: Uint8Array.from([6]), qos: 0 }); // forged
    await broker.inject({ topic: 'hopsafe/der-1/cc', bytes: Uint8Array.from([7]) });
    await until(() => b.frames.length === 4);
    assert.deepEqual(list(b.frames), [
      ['cc', [1, 2]],
      ['cc', [1, 2]],
      ['mallory', [6]],
      ['cc', [7]],
    ]);
    assert.equal(captured.length, 1);
    await assert.rejects(
      broker.inject({ from: 'x/y', to: 'der-1', bytes: new Uint8Array(1) }),
      (e: unknown) => isHopsafeError(e) && e.code === 'ERR_INVALID_ID',
    );
  });
});

describe('embedded broker lifecycle', () => {
  test('[SPEC 8.2] close() disconnects clients (also half-open sockets) and frees the port; a new broker can take the same port', async () => {
    const broker = await startBroker();
    cleanup.push(() => broker.close());
    const { t } = await endpoint(broker.url, 'a');
    const statuses: string[] = [];
    t.onStatus?.((s) => statuses.push(s));
    const half = netConnect({ host: '127.0.0.1', port: broker.port }); // never sends CONNECT
    half.on('error', () => {});
    await new Promise((r) => half.once('connect', r));
    const halfClosed = new Promise((r) => half.once('close', r));
    assert.equal(broker.connectedClients(), 1);
    const started = Date.now();
    await Promise.all([broker.close(), broker.close()]);
    await halfClosed;
    assert.ok(Date.now() - started < 2000);
    await until(() => statuses.includes('disconnected'));
    const again = await startBroker({ port: broker.port });
    cleanup.push(() => again.close());
    assert.equal(again.port, broker.port);
    await again.close();
    await assert.rejects(
      again.inject({ from: 'a', to: 'b', bytes: new Uint8Array(1) }),
      (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CLOSED',
    );
  });

  test('[SPEC 8.2] listening on a busy port is ERR_TRANSPORT', async () => {
    const broker = await startBroker();
    cleanup.push(() => broker.close());
    await assert.rejects(startBroker({ port: broker.port }), (e: unknown) => isHopsafeError(e) && e.code === 'ERR_TRANSPORT');
  });

  test('[SPEC 8.2] MQTT over WebSocket (ws option) carries frames, through the same taps', async () => {
    const broker = await startBroker({ ws: true });
    cleanup.push(() => broker.close());
    assert.match(broker.wsUrl ?? '', /^ws:\/\/127\.0\.0\.1:\d+$/);
    const seen: string[] = [];
    broker.tap((f) => void seen.push(`${f.from}>${f.to}`));
    const a = await endpoint(broker.wsUrl!, 'a');
    const b = await endpoint(broker.url, 'b');
    await a.t.send('b', Uint8Array.from([1]));
    await b.t.send('a', Uint8Array.from([2]));
    await until(() => a.frames.length === 1 && b.frames.length === 1);
    assert.deepEqual(seen, ['a>b', 'b>a']);
    await broker.close();
  });

  test('[SPEC 8.2] a process that starts a broker and transports and closes them exits by itself (no leaked handles)', async () => {
    const fixture = fileURLToPath(new URL('fixtures/close-exits.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000); // generous: a loaded CI machine starts tsx slowly
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    assert.equal(signal, null, `fixture did not exit by itself: ${out}${err}`);
    assert.equal(code, 0, err);
    assert.equal(out, 'ok 3 frames; left: []\n');
  });
});
