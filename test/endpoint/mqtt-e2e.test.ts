/** Issue #5 end to end over MQTT: hostile clients of the broker, QoS 1 duplicates, and what the logs contain. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { startBroker } from '../../src/broker/index.js';
import { frameType, FrameType } from '../../src/codec/frame.js';
import { toHex, utf8 } from '../../src/bytes/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

test('[SPEC 7.1, 7.4] Mosquitto: a client that alters or republishes captured frames gets nothing delivered', async (t) => {
  if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;
  const prefix = `hopsafe-e2e-${randomBytes(3).toString('hex')}`;
  const url = 'mqtt://127.0.0.1:1883';
  const c = await cast(['cc', 'der-1'], { transport: () => mqttTransport({ url, prefix, unsubscribeOnClose: true }) });
  const spy = await mqtt.connectAsync(url, { clientId: `mallory-${randomBytes(3).toString('hex')}` });
  try {
    const captured: { topic: string; bytes: Uint8Array }[] = [];
    spy.on('message', (topic, payload) => captured.push({ topic, bytes: new Uint8Array(payload) }));
    await spy.subscribeAsync(`${prefix}/#`);
    for (let i = 0; i < 5; i++) await c.eps['der-1']!.send('cc', utf8(`telemetry ${i}`));
    await until(() => c.inbox.cc!.length === 5 && captured.filter((f) => frameType(f.bytes) === FrameType.DATA).length >= 4, 10_000);
    assert.ok(!captured.some((f) => toHex(f.bytes).includes(toHex(utf8('telemetry')))), 'no plaintext on the broker');
    const data = captured.filter((f) => f.topic === `${prefix}/cc/der-1` && frameType(f.bytes) === FrameType.DATA);
    // republish every captured frame verbatim (replay), and altered copies (tamper)
    for (const f of data) {
      await spy.publishAsync(f.topic, Buffer.from(f.bytes), { qos: 1 });
      const x = f.bytes.slice();
      x[x.length - 1] = (x[x.length - 1] as number) ^ 0x55;
      await spy.publishAsync(f.topic, Buffer.from(x), { qos: 1 });
    }
    // a replayed handshake too
    const hs = captured.find((f) => frameType(f.bytes) === FrameType.HS_INIT);
    if (hs) await spy.publishAsync(hs.topic, Buffer.from(hs.bytes), { qos: 1 });
    // A replayed copy is refused by the window (ERR_REPLAY) before its tag is even checked; so is an altered
    // copy of an already-seen sequence number. Every injected frame must be refused, one way or the other.
    const refused = (): number => (c.eps.cc!.stats().rejected.ERR_REPLAY ?? 0) + (c.eps.cc!.stats().rejected.ERR_BAD_MAC ?? 0);
    await until(() => refused() >= 2 * data.length + (hs ? 1 : 0), 10_000, 'rejections');
    assert.equal(c.inbox.cc!.length, 5);
    await c.eps['der-1']!.send('cc', utf8('still fine'));
    await until(() => c.inbox.cc!.length === 6, 10_000);
    assert.equal(text(c.inbox.cc![5]!), 'still fine');
  } finally {
    await spy.endAsync();
    await c.close();
  }
});

test('[SPEC 7.4] QoS 1 duplicates from the broker reach the application once', async () => {
  const broker = await startBroker({
    adversary: (f) => (f.bytes.length > 0 && frameType(f.bytes) === FrameType.DATA ? [f.bytes, f.bytes] : undefined),
  });
  const c = await cast(['cc', 'der-1'], { transport: () => mqttTransport({ url: broker.url }) });
  try {
    for (let i = 0; i < 20; i++) await c.eps['der-1']!.send('cc', utf8(String(i)));
    await until(() => c.inbox.cc!.length === 20 && (c.eps.cc!.stats().rejected.ERR_REPLAY ?? 0) === 20, 10_000);
    assert.deepEqual(
      c.inbox.cc!.map(text),
      Array.from({ length: 20 }, (_, i) => String(i)),
    );
  } finally {
    await c.close();
    await broker.close();
  }
});

test('logs (pino) never contain keys or plaintext payloads', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: 'trace' }, sink);
  const broker = await startBroker({
    adversary: (f) => {
      if (f.bytes.length === 0 || frameType(f.bytes) !== FrameType.DATA) return undefined;
      const x = f.bytes.slice();
      x[x.length - 1] = (x[x.length - 1] as number) ^ 1;
      return [x, f.bytes]; // altered copy first: refused by its tag, then the genuine one is accepted
    },
  });
  const secret = 'SECRET-PAYLOAD-P=4.2MW';
  for (const protection of ['integrity', 'confidentiality'] as const) {
    const c = await cast(['cc', 'der-1'], {
      protection,
      logger,
      transport: (id) => mqttTransport({ url: broker.url, logger: logger.child({ id }) }),
    });
    try {
      await c.eps['der-1']!.send('cc', utf8(secret));
      await c.eps['der-1']!.rekey('cc');
      await c.eps['der-1']!.send('cc', utf8(secret));
      await until(() => c.inbox.cc!.length === 2, 10_000);
      await until(() => (c.eps.cc!.stats().rejected.ERR_BAD_MAC ?? 0) >= 1, 10_000);
    } finally {
      await c.close();
    }
  }
  await broker.close();
  const all = lines.join('');
  assert.ok(lines.length > 5, 'the logger was used');
  assert.ok(all.includes('session established') && all.includes('ERR_BAD_MAC'));
  assert.ok(!all.includes(secret), 'plaintext in logs');
  assert.ok(!all.includes(toHex(utf8(secret))), 'hex plaintext in logs');
  assert.ok(!/PRIVATE KEY/.test(all), 'key material in logs');
});

test('[SPEC 8.2] twenty DERs and a control center over the embedded broker, in integrity mode', async () => {
  const broker = await startBroker();
  const ids = ['cc', ...Array.from({ length: 20 }, (_, i) => `der-${i}`)];
  const c = await cast(ids, { protection: 'integrity', transport: () => mqttTransport({ url: broker.url }) });
  try {
    c.eps.cc!.on('message', (m) => void c.eps.cc!.send(m.from, utf8(`ack ${text(m)}`)));
    await Promise.all(ids.slice(1).flatMap((d) => [0, 1].map((i) => c.eps[d]!.send('cc', utf8(`${d}/${i}`)))));
    await until(() => c.inbox.cc!.length === 40 && ids.slice(1).every((d) => c.inbox[d]!.length === 2), 20_000, 'all acks');
    assert.equal(c.eps.cc!.stats().sessions, 20);
    for (const d of ids.slice(1)) assert.deepEqual(c.inbox[d]!.map(text).sort(), [`ack ${d}/0`, `ack ${d}/1`]);
  } finally {
    await c.close();
    await broker.close();
  }
});
