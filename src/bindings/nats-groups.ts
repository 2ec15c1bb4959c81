/**
 * Group subjects on NATS: a group frame of address `{publisher}/{groupId}` is published on
 * `~g.{prefix}.{w(publisher)}.{groupId}` (w: the §8.3 word mapping). The `~g` token comes first, not after the prefix as
 * on MQTT and AMQP: a JetStream inbox stream captures `{prefix}.>` with work-queue retention (one consumer per message),
 * so a group frame there would be taken by one member or pile up unread; `~g.…` is outside every inbox stream, and no
 * prefix token can be `~g` (prefix tokens are `[A-Za-z0-9_/-]`), so no inbox subject is ever a group subject.
 * [SPEC 8.11, 13.9]
 */
import { splitGroupAddress } from '../transport/group-address.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { GROUP_LEVEL } from '../transport/transport.js';
import { idToWord, prefixWords, wordToId } from './amqp-routing.js';

/** [SPEC 8.11, 13.9] `~g.{prefix}.{w(publisher)}.{groupId}` for the group address `{publisher}/{groupId}`. */
export function natsGroupSubject(prefix: string, address: string): string {
  const { publisher, groupId } = splitGroupAddress(address);
  return [GROUP_LEVEL, ...prefixWords(prefix), idToWord(publisher), groupId].join('.');
}

/** [SPEC 8.5, 8.11] Every group subject of `publisher`: `~g.{prefix}.{w(publisher)}.*` (a bridge). */
export function natsPublisherGroups(prefix: string, publisher: string): string {
  return [GROUP_LEVEL, ...prefixWords(prefix), idToWord(assertEndpointId(publisher, 'publisher id')), '*'].join('.');
}

/** [SPEC 8.11, 13.9] The group address of a group subject; undefined for any other subject. Never throws on input. */
export function natsGroupAddress(prefix: string, subject: string): string | undefined {
  const want = [GROUP_LEVEL, ...prefixWords(prefix)];
  const words = subject.split('.');
  if (words.length !== want.length + 2) return undefined;
  for (let i = 0; i < want.length; i++) if (words[i] !== want[i]) return undefined;
  const publisher = wordToId(words[want.length] as string);
  const groupId = words[want.length + 1] as string;
  return publisher !== undefined && /^[0-9a-f]{32}$/.test(groupId) ? `${publisher}/${groupId}` : undefined;
}
