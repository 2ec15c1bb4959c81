/**
 * A real broker's MQTT-over-WebSocket listener (issue 21): RabbitMQ's Web MQTT plugin on a PRIVATE node
 * (test/support/rabbitmq.ts: own name, config, free ports, data in a temp dir; never the system node). The browser
 * bundle's endpoint (in Chromium and Firefox) connects to `ws://127.0.0.1:port/ws` and holds end-to-end sessions
 * through RabbitMQ with a Node endpoint on the MQTT plugin's TCP listener (confidentiality, the page initiates) and
 * one on AMQP (`amq.topic`, the plugin's topic mapping; integrity, the AMQP endpoint initiates): messages both ways,
 * verified with the sender's roles. (Mosquitto 2.0.11 here refuses to open a websockets listener, docs/deploy.md.)
 * Skipped when rabbitmq-server is not installed (fails under HOPSAFE_REQUIRE_SERVICES=1). [SPEC 8.2, 8.3]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { createTestPki } from '../../src/testing/index.js';
import { BROWSERS, launchBrowser } from '../support/browsers.js';
import { until } from '../support/endpoints.js';
import { requireOrSkip } from '../support/services.js';
import { rabbitmqServerBinary, startWebMqttRabbitmq, type WebMqttRabbitmq } from '../support/rabbitmq.js';

const BUNDLE = fileURLToPath(new URL('../../dist/browser/index.js', import.meta.url));
let rabbit: WebMqttRabbitmq | undefined;
let bootError: unknown;

before(async () => {
  if (rabbitmqServerBinary() === undefined) return;
  try {
    rabbit = await startWebMqttRabbitmq({ bootTimeoutMs: 90_000 });
  } catch (e) {
    bootError = e;
  }
});
after(async () => {
  await rabbit?.stop();
});

interface PageState {
  messages: string[];
  sessions: { peer: string; protection: string }[];
}

for (const name of BROWSERS)
  test(`${name}: the browser endpoint through RabbitMQ's Web MQTT (private node) to Node endpoints on MQTT and AMQP, end to end`, async (t) => {
    if (bootError) throw bootError;
    if (!requireOrSkip(t, 'rabbitmq-server (a private node with rabbitmq_web_mqtt)', rabbit !== undefined)) return;
    const r = rabbit as WebMqttRabbitmq;
    const browser = await launchBrowser(t, name);
    if (!browser) return;
    const prefix = `hopsafe-${randomUUID().slice(0, 8)}`;
    const pki = await createTestPki({
      endpoints: [
        { id: 'control-center', roles: ['OPERATOR'] },
        { id: 'der-mqtt', roles: ['VIEWER'] },
        { id: 'der-amqp', roles: ['VIEWER'] },
      ],
    });
    const bundle = readFileSync(BUNDLE);
    const server = createServer((req, res) => {
      if (req.url === '/hopsafe.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>web mqtt</title>');
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const ders: Endpoint[] = [];
    try {
      const common = { trust: pki.trust(), acceptProtection: ['integrity', 'confidentiality'] as const };
      ders.push(
        await createEndpoint({
          id: 'der-mqtt',
          identity: pki.identities['der-mqtt'] as { certificate: string; privateKey: string },
          protection: 'confidentiality',
          ...common,
          transport: mqttTransport({
            url: r.mqttUrl,
            prefix,
            protocolVersion: 4,
            unsubscribeOnClose: true,
            mqttOptions: { username: r.username, password: r.password },
          }),
        }),
        await createEndpoint({
          id: 'der-amqp',
          identity: pki.identities['der-amqp'] as { certificate: string; privateKey: string },
          protection: 'integrity',
          ...common,
          // The MQTT plugin maps topic p/to/from to routing key p.to.from on amq.topic (SPEC 8.3).
          transport: amqpTransport({
            url: r.amqpUrl,
            exchange: 'amq.topic',
            routingKeyPrefix: prefix,
            queuePrefix: prefix,
            durable: false,
          }),
        }),
      );
      const derGot: string[] = [];
      for (const d of ders)
        d.on('message', (m) => {
          derGot.push(`${d.id}<${m.from}[${m.roles.join(',')}]: ${new TextDecoder().decode(m.data)}`);
          void d.send(m.from, new TextEncoder().encode(`applied by ${d.id}`));
        });

      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.evaluate(
        async (cfg) => {
          const m = await import('/hopsafe.js' as string);
          const state: PageState = { messages: [], sessions: [] };
          const cc = await m.createEndpoint({
            id: 'control-center',
            identity: cfg.identity,
            trust: cfg.trust,
            protection: 'confidentiality',
            acceptProtection: ['integrity', 'confidentiality'],
            transport: m.mqttWsTransport({
              url: cfg.wsUrl,
              prefix: cfg.prefix,
              mqttOptions: { protocolVersion: 4, username: cfg.username, password: cfg.password },
            }),
          });
          cc.on('message', (e: { from: string; roles: string[]; data: Uint8Array }) =>
            state.messages.push(`${e.from}[${e.roles.join(',')}]: ${new TextDecoder().decode(e.data)}`),
          );
          cc.on('session', () => {
            state.sessions = cc.sessions();
          });
          Object.assign(globalThis, { cc, ccState: state });
        },
        {
          identity: pki.identities['control-center'] as { certificate: string; privateKey: string },
          trust: pki.trust(),
          wsUrl: r.wsUrl,
          prefix,
          username: r.username,
          password: r.password,
        },
      );
      const waitPage = async (what: string, ok: (s: PageState) => boolean): Promise<PageState> => {
        const end = Date.now() + 20_000;
        for (;;) {
          const s = await page.evaluate(() => (globalThis as unknown as { ccState: PageState }).ccState, undefined);
          if (ok(s)) return s;
          if (Date.now() > end) assert.fail(`${name}: timed out waiting for ${what}: ${JSON.stringify(s)}`);
          await new Promise((ok2) => setTimeout(ok2, 100));
        }
      };
      const pageSend = (to: string, text: string) =>
        page.evaluate(
          (a) =>
            (globalThis as unknown as { cc: { send(p: string, b: Uint8Array): Promise<void> } }).cc.send(
              a.to,
              new TextEncoder().encode(a.text),
            ),
          { to, text },
        );

      // The page initiates with the MQTT endpoint (confidentiality): RabbitMQ's web MQTT ↔ its MQTT listener.
      await pageSend('der-mqtt', 'setpoint 40 kW');
      await until(() => derGot.includes('der-mqtt<control-center[OPERATOR]: setpoint 40 kW'), 20_000, 'der-mqtt verified the setpoint');
      await waitPage('der-mqtt answer', (s) => s.messages.includes('der-mqtt[VIEWER]: applied by der-mqtt'));

      // The AMQP endpoint initiates (integrity): RabbitMQ's AMQP ↔ its web MQTT, no bridge.
      await ders[1]?.send('control-center', new TextEncoder().encode('telemetry 3.2 MW'));
      await waitPage('der-amqp telemetry', (s) => s.messages.includes('der-amqp[VIEWER]: telemetry 3.2 MW'));
      await pageSend('der-amqp', 'setpoint 10 kW');
      await until(() => derGot.includes('der-amqp<control-center[OPERATOR]: setpoint 10 kW'), 20_000, 'der-amqp verified the setpoint');

      const s = await waitPage('both sessions', (x) => x.sessions.length === 2);
      assert.deepEqual(s.sessions.map((x) => [x.peer, x.protection]).sort(), [
        ['der-amqp', 'integrity'],
        ['der-mqtt', 'confidentiality'],
      ]);
      await page.evaluate(() => (globalThis as unknown as { cc: { close(): Promise<void> } }).cc.close(), undefined);
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
      await Promise.all(ders.map((d) => d.close()));
      server.close();
    }
  });
