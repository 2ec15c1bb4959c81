/**
 * Group addresses on AMQP: a group frame is published with routing key `[prefix.]~g.{w(publisher)}.{groupId}` on the endpoint's
 * topic exchange, and a member binds its own queue to that key. `~` is not in the endpoint-id alphabet (SPEC 8.1), so
 * no inbox key `[prefix.]{w(to)}.{w(from)}` is ever a group key and no inbox binding `[prefix.]{w(self)}.*` matches
 * one. With RabbitMQ's MQTT plugin, MQTT topic `prefix/~g/{publisher}/{groupId}` is routing key `prefix.~g.{publisher}.{groupId}` on
 * `amq.topic`. [SPEC 8.3, 13.9]
 */
import { splitGroupAddress } from '../transport/group-address.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { GROUP_LEVEL } from '../transport/transport.js';
import { idToWord, prefixWords, wordToId } from './amqp-routing.js';

/** [SPEC 13.9] `[prefix.]~g.{w(publisher)}.{groupId}` for the group address `{publisher}/{groupId}`. */
export function groupRoutingKey(prefix: string, address: string): string {
  const { publisher, groupId } = splitGroupAddress(address);
  return [...prefixWords(prefix), GROUP_LEVEL, idToWord(publisher), groupId].join('.');
}

/** [SPEC 13.9] The group address of a routing key `[prefix.]~g.{w(publisher)}.{groupId}`; undefined for any other key. */
export function groupAddressFromKey(prefix: string, key: string): string | undefined {
  const want = prefixWords(prefix);
  const words = key.split('.');
  if (words.length !== want.length + 3) return undefined;
  for (let i = 0; i < want.length; i++) if (words[i] !== want[i]) return undefined;
  if (words[want.length] !== GROUP_LEVEL) return undefined;
  const publisher = wordToId(words[want.length + 1] as string);
  const groupId = words[want.length + 2] as string;
  return publisher !== undefined && /^[0-9a-f]{32}$/.test(groupId) ? `${publisher}/${groupId}` : undefined;
}

/** [SPEC 8.5, 13.9] Binding key of every group address of `publisher`: `[prefix.]~g.{w(publisher)}.*`. */
export function publisherGroupsKey(prefix: string, publisher: string): string {
  return [...prefixWords(prefix), GROUP_LEVEL, idToWord(assertEndpointId(publisher, 'publisher id')), '*'].join('.');
}
