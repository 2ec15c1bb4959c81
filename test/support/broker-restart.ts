/**
 * Issue #8, shared by test/adversary/faults.test.ts (aedes, private Mosquitto) and
 * test/adversary/mosquitto-daemon-restart.test.ts (a private daemonized Mosquitto): two endpoints over
 * mqttTransport (QoS 1, persistent session: clean=false, the binding's default) and a 60-message stream
 * with the broker restarted in the middle. [SPEC 7.4, 8.2]
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mqttTransport, type MqttTransportOptions } from '../../src/bindings/mqtt.js';
import type { Transport, TransportStatus } from '../../src/transport/transport.js';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import { createTestPki } from '../../src/testing/index.js';
import { utf8, fromUtf8 } from '../../src/bytes/index.js';
import { until } from './endpoints.js';

export interface FaultNode {
  readonly ep: Endpoint;
  readonly got: string[];
  readonly sessions: number[];
  readonly statuses: TransportStatus[];
}

export interface FaultNodeOptions {
  /** The transport's offline queue bound (maxQueue). */
  maxQueue?: number;
  /** More mqttTransport options (prefix, clientId, unsubscribeOnClose... for a shared broker). */
  transport?: Omit<MqttTransportOptions, 'url' | 'maxQueue' | 'mqttOptions'>;
  /** Receives a closer for each endpoint (the caller's after hook runs them). */
  register(close: () => Promise<unknown>): void;
}

/** Endpoints 'fa' and 'fb' on the MQTT broker at `url`, recording deliveries, 'session' events and transport statuses. */
export async function faultNodes(
  url: string,
  protection: 'integrity' | 'confidentiality',
  opts: FaultNodeOptions,
): Promise<{ a: FaultNode; b: FaultNode }> {
  const pki = await createTestPki({ endpoints: [{ id: 'fa' }, { id: 'fb' }] });
  const make = async (id: string): Promise<FaultNode> => {
    const statuses: TransportStatus[] = [];
    const transport: Transport = mqttTransport({
      ...opts.transport,
      url,
      mqttOptions: { reconnectPeriod: 100 },
      ...(opts.maxQueue ? { maxQueue: opts.maxQueue } : {}),
    });
    transport.onStatus?.((s) => statuses.push(s));
    const ep = await createEndpoint({ id, identity: pki.identities[id]!, trust: { roots: pki.roots }, transport, protection });
    opts.register(() => ep.close());
    const got: string[] = [];
    const sessions: number[] = [];
    ep.on('message', (m) => got.push(fromUtf8(m.data)));
    ep.on('session', () => sessions.push(Date.now()));
    return { ep, got, sessions, statuses };
  };
  return { a: await make('fa'), b: await make('fb') };
}

/** Sends 60 messages, restarting the broker after the 20th; asserts 0 lost, 0 duplicated, no new handshake. */
export async function restartMidStream(
  url: string,
  protection: 'integrity' | 'confidentiality',
  restart: () => Promise<void>,
  opts: Omit<FaultNodeOptions, 'maxQueue'>,
): Promise<void> {
  const { a, b } = await faultNodes(url, protection, opts);
  await a.ep.send('fb', utf8('m0'));
  await until(() => b.got.length === 1, 5000, 'first message');
  const sends: Promise<void>[] = [];
  for (let i = 1; i < 60; i++) {
    sends.push(a.ep.send('fb', utf8(`m${i}`)));
    if (i === 20) await restart(); // frames in flight and frames sent while it is down
  }
  await Promise.all(sends);
  await until(() => b.got.length >= 60, 10_000, `all 60 messages (got ${b.got.length})`);
  await sleep(300); // give a late redelivery the chance to show up
  assert.equal(b.got.length, 60, `duplicates delivered: ${b.got.length - 60}`);
  assert.deepEqual([...b.got].sort(), Array.from({ length: 60 }, (_, i) => `m${i}`).sort());
  // [SPEC 8.2] the sessions survive the broker: no new handshake
  assert.equal(a.sessions.length, 1);
  assert.equal(b.sessions.length, 1);
  assert.equal(a.ep.stats().handshakes.initiated, 1);
  assert.ok(a.statuses.includes('reconnecting') || a.statuses.includes('disconnected'), `a saw the outage: ${a.statuses.join(',')}`);
  await Promise.all([a.ep.close(), b.ep.close()]);
}
