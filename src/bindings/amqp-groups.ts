/**
 * Group addresses on AMQP: a group frame is published with routing key `[prefix.]~g.{address}` on the endpoint's
 * topic exchange, and a member binds its own queue to that key. `~` is not in the endpoint-id alphabet (SPEC 8.1), so
 * no inbox key `[prefix.]{w(to)}.{w(from)}` is ever a group key and no inbox binding `[prefix.]{w(self)}.*` matches
 * one. With RabbitMQ's MQTT plugin, MQTT topic `prefix/~g/{address}` is routing key `prefix.~g.{address}` on
 * `amq.topic`. [SPEC 8.3, 13.9]
 */
import { assertGroupAddress } from '../transport/group-address.js';
import { GROUP_ADDRESS_PATTERN, GROUP_LEVEL } from '../transport/transport.js';
import { prefixWords } from './amqp-routing.js';

/** [SPEC 13.9] */
export function groupRoutingKey(prefix: string, address: string): string {
  return [...prefixWords(prefix), GROUP_LEVEL, assertGroupAddress(address)].join('.');
}

/** [SPEC 13.9] The group address of a routing key `[prefix.]~g.{address}`; undefined for any other key. */
export function groupAddressFromKey(prefix: string, key: string): string | undefined {
  const want = prefixWords(prefix);
  const words = key.split('.');
  if (words.length !== want.length + 2) return undefined;
  for (let i = 0; i < want.length; i++) if (words[i] !== want[i]) return undefined;
  if (words[want.length] !== GROUP_LEVEL) return undefined;
  const a = words[want.length + 1] as string;
  return GROUP_ADDRESS_PATTERN.test(a) ? a : undefined;
}
