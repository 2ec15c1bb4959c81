/**
 * Group addresses on MQTT: a group frame travels on `{prefix}/~g/{publisherId}/{groupId}` (the address is `{publisherId}/{groupId}`). `~` is not in the endpoint-id alphabet
 * (SPEC 8.1), so no inbox `{prefix}/{to}/{from}` is ever a group topic and no inbox filter `{prefix}/{self}/+` matches
 * one. Same QoS as the inbox, never retained; the persistent session keeps the subscription across reconnects. A broker
 * ACL can pin group publishing to the publisher: `pattern write {prefix}/~g/%c/#`.
 * [SPEC 8.2, 13.9]
 */
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { HopsafeError } from '../errors/index.js';
import { assertGroupAddress, assertGroupSendable, splitGroupAddress } from '../transport/group-address.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import type { InboundGuard, UnsettledBound } from '../transport/inbound.js';
import { deliverPublish } from './mqtt-inbound.js';
import { GROUP_ADDRESS_PATTERN, GROUP_LEVEL, type GroupFrameHandler, type Transport } from '../transport/transport.js';

/** [SPEC 13.9] */
export function groupTopic(prefix: string, address: string): string {
  return `${prefix}/${GROUP_LEVEL}/${assertGroupAddress(address)}`;
}

/** [SPEC 13.9] The address of `{prefix}/~g/{address}`; undefined for any other topic. Never throws. */
export function parseGroupTopic(prefix: string, topic: string): string | undefined {
  const head = `${prefix}/${GROUP_LEVEL}/`;
  if (!topic.startsWith(head)) return undefined;
  const a = topic.slice(head.length);
  return GROUP_ADDRESS_PATTERN.test(a) ? a : undefined;
}

export interface MqttGroupParts {
  readonly prefix: string;
  readonly qos: 0 | 1;
  readonly maxFrameSize: number;
  readonly guard: InboundGuard;
  readonly log: Logger;
  /** The connected client and local id once open; undefined before. */
  readonly client: () => MqttClient | undefined;
  readonly localId: () => string | undefined;
  readonly closed: () => boolean;
  readonly bound: () => UnsettledBound | undefined;
  /** The binding's own publish after the guards: the broker's packet limit, the offline bound shared with `send`
   * (`maxQueue`, ERR_QUEUE_FULL) and ERR_CLOSED for what is pending at close. Throws for a refusal. [SPEC 8.2, 13.9] */
  readonly publish: (topic: string, bytes: Uint8Array, to: string) => Promise<void>;
}

export function createMqttGroups(p: MqttGroupParts) {
  const handlers = new Map<string, GroupFrameHandler>();
  /** The topics of `handlers`' addresses (topic → address): a frame on one skips parsing its topic. */
  const topics = new Map<string, string>();
  /** [SPEC 8.5] publisher → handler of all its group addresses (a bridge). */
  const bySender = new Map<string, (address: string, bytes: Uint8Array) => void | Promise<void>>();

  function subscribe(c: MqttClient, topic: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      c.subscribe(topic, { qos: p.qos }, (err, granted) => {
        if (err) return reject(new HopsafeError('ERR_TRANSPORT', `subscribe to ${topic} failed: ${err.message}`, { cause: err }));
        if ((granted ?? []).some((g) => g.qos >= 128))
          return reject(new HopsafeError('ERR_FORBIDDEN', `broker refused the subscription to ${topic}`));
        resolve();
      });
    });
  }

  function ready(): MqttClient {
    if (p.closed()) throw new HopsafeError('ERR_CLOSED', 'mqtt transport is closed');
    const c = p.client();
    if (!c || p.localId() === undefined) throw new HopsafeError('ERR_STATE', 'mqtt transport: call open() first');
    return c;
  }

  const methods: Required<Pick<Transport, 'subscribeGroup' | 'unsubscribeGroup' | 'publishGroup' | 'subscribeGroupsOf'>> = {
    subscribeGroup(address, onFrame) {
      try {
        const c = ready();
        const topic = groupTopic(p.prefix, address);
        handlers.set(address, onFrame);
        topics.set(topic, address);
        return subscribe(c, topic);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    subscribeGroupsOf(publisher, onFrame) {
      try {
        const c = ready();
        assertEndpointId(publisher, 'publisher id');
        bySender.set(publisher, onFrame);
        return subscribe(c, `${p.prefix}/${GROUP_LEVEL}/${publisher}/+`);
      } catch (e) {
        return Promise.reject(e);
      }
    },
    unsubscribeGroup(address) {
      if (!handlers.delete(address)) return Promise.resolve();
      topics.delete(groupTopic(p.prefix, address));
      const c = p.client();
      if (!c || p.closed() || !c.connected) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        c.unsubscribe(groupTopic(p.prefix, address), () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    publishGroup(address, bytes) {
      try {
        assertGroupSendable({ name: 'mqtt', closed: p.closed(), localId: p.localId(), maxFrameSize: p.maxFrameSize }, address, bytes);
        ready();
        return p.publish(groupTopic(p.prefix, address), bytes, `group ${address}`);
      } catch (e) {
        return Promise.reject(e);
      }
    },
  };

  /**
   * A publish the client received: true (and settled) when it is on a group topic subscribed here. [SPEC 8.9] Oversize
   * frames are dropped before any copy; handler calls count against the inbox's unsettled bound.
   */
  function handle(packet: IPublishPacket, done: () => void): boolean {
    const address = topics.get(packet.topic) ?? parseGroupTopic(p.prefix, packet.topic);
    if (address === undefined) return false;
    const exact = handlers.get(address);
    const all = exact ? undefined : bySender.get(splitGroupAddress(address).publisher);
    const h: GroupFrameHandler | undefined = exact ?? (all ? (b) => all(address, b) : undefined);
    // Not subscribed here: the binding's other handling decides (on an application's client, its own handler).
    if (!h) return false;
    if (p.closed()) {
      done();
      return true;
    }
    deliverPublish(
      packet.payload,
      undefined,
      p.guard,
      p.bound(),
      h,
      (_e, size) => p.log.debug({ address, size }, 'group frame handler rejected'),
      done,
    );
    return true;
  }

  return { methods, handle };
}
