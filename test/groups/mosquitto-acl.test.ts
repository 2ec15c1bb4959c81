/**
 * The example Mosquitto ACL with groups (examples/mosquitto/hopsafe.acl) on a private Mosquitto process: a group works,
 * and a member publishing on the publisher's group topic is dropped by the broker. [SPEC 13.9, 8.2]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { utf8 } from '../../src/bytes/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { mosquittoBinary, startPrivateMosquitto } from '../support/mosquitto.js';
import { requireOrSkip } from '../support/services.js';

test('[SPEC 13.9] Mosquitto ACL: members read the group; only the publisher may publish on its group topics', async (t) => {
  const binary = mosquittoBinary();
  if (!requireOrSkip(t, 'mosquitto binary', binary !== undefined) || !binary) return;
  const broker = await startPrivateMosquitto(binary);
  const c = await cast(['der-1', 'scada', 'hist'], { transport: () => mqttTransport({ url: broker.url }) });
  try {
    const g = await c.eps['der-1']!.group('telemetry', { members: ['scada', 'hist'], sourceAuth: 'none' });
    await c.eps.scada!.join('der-1', 'telemetry');
    await c.eps.hist!.join('der-1', 'telemetry');
    await g.publish(utf8('genuine 1'));
    await until(() => c.inbox.scada!.length === 1 && c.inbox.hist!.length === 1, 5000);
    // 'scada' (a member, no signatures in this group) publishes a copy of a frame on der-1's group topic from its own
    // client id: the ACL drops it at the broker, so hist sees no duplicate (not even one to refuse)
    const spy = await mqtt.connectAsync(broker.url, { clientId: 'scada-2', reconnectPeriod: 0 });
    const seen: Buffer[] = [];
    spy.on('message', (_t, p) => seen.push(p));
    await spy.subscribeAsync(`hopsafe/~g/#`, { qos: 1 });
    await g.publish(utf8('genuine 2'));
    await until(() => seen.length === 1 && c.inbox.hist!.length === 2, 5000);
    await spy.publishAsync(`hopsafe/~g/${g.address}`, seen[0]!, { qos: 1 });
    await g.publish(utf8('genuine 3'));
    await until(() => c.inbox.hist!.length === 3, 5000);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(c.inbox.hist!.map(text), ['genuine 1', 'genuine 2', 'genuine 3']);
    assert.equal(c.eps.hist!.stats().rejected.ERR_REPLAY ?? 0, 0, 'the injected copy never reached hist');
    assert.equal(seen.length, 2, "the spy (allowed to read) saw only the publisher's frames");
    await spy.endAsync();
  } finally {
    await c.close();
    await broker.stop();
  }
});
