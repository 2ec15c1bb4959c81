/**
 * mqttTransport({ client }): hopsafe on an mqtt.js client the application already has, on the system Mosquitto
 * (127.0.0.1:1883; skipped when unreachable unless HOPSAFE_REQUIRE_SERVICES=1). hopsafe subscribes only its inbox,
 * the application's own subscription keeps working before, during and after, and closing the hopsafe endpoint
 * leaves the application's client connected (end() only with endClient). [SPEC 8.2]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { requireOrSkip, serviceAvailable } from '../support/services.js';

const URL = 'mqtt://127.0.0.1:1883';
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

const uniq = (): string => randomBytes(4).toString('hex');

/** An application client with its own subscription on `appTopic`, recording what it receives and what is done to it. */
async function appClient(appTopic: string): Promise<{ client: MqttClient; received: string[]; subscribed: string[]; ends: number[] }> {
  const client = await mqtt.connectAsync(URL, { clientId: `app-${uniq()}`, reconnectPeriod: 0 });
  cleanup.push(() => client.endAsync(true));
  const received: string[] = [];
  const subscribed: string[] = [];
  const ends: number[] = [];
  client.on('message', (topic, payload) => {
    if (topic === appTopic) received.push(payload.toString());
  });
  await client.subscribeAsync(appTopic, { qos: 1 });
  // Spies (after the application's own subscribe): what hopsafe subscribes, and whether it ends the client.
  const subscribe = client.subscribe.bind(client);
  client.subscribe = ((topic: string | string[], ...rest: never[]) => {
    subscribed.push(...(Array.isArray(topic) ? topic : [topic]));
    return subscribe(topic, ...rest);
  }) as MqttClient['subscribe'];
  const end = client.end.bind(client);
  client.end = ((...args: never[]) => {
    ends.push(Date.now());
    return end(...args);
  }) as MqttClient['end'];
  return { client, received, subscribed, ends };
}

test("[SPEC 8.2] mqttTransport({ client }) on the application's client: handshake and records, the app's subscription unaffected, close leaves the client connected", async (t) => {
  if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;
  const prefix = `hopsafe-shared-${uniq()}`;
  const appTopic = `app-${uniq()}/telemetry`;
  const app = await appClient(appTopic);
  const originalHandler = app.client.handleMessage;
  const publisher = await mqtt.connectAsync(URL, { clientId: `pub-${uniq()}`, reconnectPeriod: 0 });
  cleanup.push(() => publisher.endAsync(true));

  const c = await cast(['der-1', 'control-center'], {
    transport: (id) =>
      id === 'der-1' ? mqttTransport({ client: app.client, prefix }) : mqttTransport({ url: URL, prefix, unsubscribeOnClose: true }),
  });
  cleanup.push(() => c.close());

  // hopsafe subscribed exactly its own inbox on the application's client
  assert.deepEqual(app.subscribed, [`${prefix}/der-1/+`]);

  await publisher.publishAsync(appTopic, 'before', { qos: 1 });
  await c.eps['der-1']!.send('control-center', new TextEncoder().encode('P=4.2MW'));
  await c.eps['control-center']!.send('der-1', new TextEncoder().encode('setpoint'));
  await until(() => c.inbox['control-center']!.length === 1 && c.inbox['der-1']!.length === 1, 10_000, 'records both ways');
  assert.equal(text(c.inbox['control-center']![0]!), 'P=4.2MW');
  assert.equal(text(c.inbox['der-1']![0]!), 'setpoint');
  assert.deepEqual(c.rejects['der-1'], []);
  await publisher.publishAsync(appTopic, 'during', { qos: 1 });
  await until(() => app.received.length === 2, 5000, "the application's own messages");
  assert.deepEqual(app.received, ['before', 'during']);

  await c.eps['der-1']!.close();
  assert.equal(app.client.connected, true, "closing the hopsafe endpoint leaves the application's client connected");
  assert.deepEqual(app.ends, [], 'hopsafe did not end() a client it did not create');
  assert.equal(app.client.handleMessage, originalHandler, 'handleMessage handed back');
  await publisher.publishAsync(appTopic, 'after', { qos: 1 });
  await until(() => app.received.length === 3, 5000, "the application's messages after close");
  assert.deepEqual(app.received, ['before', 'during', 'after']);
  // and the inbox is unsubscribed: a frame published to it no longer reaches the application's client
  const seen: string[] = [];
  app.client.on('message', (topic) => seen.push(topic));
  await publisher.publishAsync(`${prefix}/der-1/control-center`, Buffer.from([1]), { qos: 1 });
  await publisher.publishAsync(appTopic, 'marker', { qos: 1 });
  await until(() => seen.includes(appTopic), 5000, 'marker');
  assert.deepEqual(seen, [appTopic], 'nothing on the closed inbox');
});

test('[SPEC 8.2] mqttTransport({ client, endClient: true }) ends the client in close(); options that belong to the client are refused', async (t) => {
  assert.throws(
    () => mqttTransport({ client: {} as MqttClient }),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG',
  );
  if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;
  const app = await appClient(`app-${uniq()}/x`);
  for (const extra of [{ url: URL }, { clientId: 'x' }, { protocolVersion: 5 as const }, { mqttOptions: { username: 'u' } }]) {
    assert.throws(
      () => mqttTransport({ client: app.client, ...extra }),
      (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG' && e.message.includes(Object.keys(extra)[0]!),
      JSON.stringify(extra),
    );
  }
  assert.throws(
    () => mqttTransport({ url: URL, endClient: true }),
    (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG',
  );
  const tr = mqttTransport({ client: app.client, prefix: `hopsafe-shared-${uniq()}`, endClient: true });
  await tr.open('der-2', () => undefined);
  await tr.close();
  assert.equal(app.ends.length, 1, 'end() called once');
  await until(() => app.client.disconnected, 3000, 'client disconnected');
});
