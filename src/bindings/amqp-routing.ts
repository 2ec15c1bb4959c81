/**
 * AMQP routing-key scheme for hopsafe frames. [SPEC 8.3]
 *
 * A frame from `from` to `to` is published with routing key `[prefix.]{word(to)}.{word(from)}`;
 * an endpoint's queue is bound with `[prefix.]{word(self)}.*`. Endpoint ids may contain '.', the AMQP
 * word separator, so an id is written as one word with every '.' replaced by '/' (ids never contain
 * '/', so the mapping is reversible). With RabbitMQ's MQTT plugin, MQTT topic `prefix/{to}/{from}` arrives
 * as routing key `prefix.{to}.{from}` on `amq.topic` (and back), so an AMQP transport with exchange
 * `amq.topic` and routingKeyPrefix `prefix` shares inboxes with MQTT endpoints — for ids without '.':
 * RabbitMQ 3.10 replaces '/' by '.' without swapping, so a dotted id splits into two words there.
 * The NATS binding uses the same mapping for its subjects (`{prefix}.{w(to)}.{w(from)}`, SPEC 8.11): NATS subject
 * tokens are dot-separated like routing-key words, and '/' is a valid token character there too.
 */
import { HopsafeError } from '../errors/index.js';
import { ENDPOINT_ID_PATTERN } from '../transport/transport.js';

const PREFIX_WORD = /^[A-Za-z0-9_/-][A-Za-z0-9_/-]*$/;

/** [SPEC 8.3] Endpoint id → routing-key word ('.' → '/'). */
export function idToWord(id: string): string {
  return id.replaceAll('.', '/');
}

/** [SPEC 8.3] Routing-key word → endpoint id ('/' → '.'), or undefined if the result is not a valid id. */
export function wordToId(word: string): string | undefined {
  const id = word.replaceAll('/', '.');
  return ENDPOINT_ID_PATTERN.test(id) ? id : undefined;
}

/** Validates a routing-key prefix ('' or dot-separated words without wildcards) and returns its words. */
export function prefixWords(prefix: string): string[] {
  if (prefix === '') return [];
  const words = prefix.split('.');
  for (const w of words)
    if (!PREFIX_WORD.test(w))
      throw new HopsafeError('ERR_CONFIG', `routing-key prefix ${JSON.stringify(prefix)}: words must match ${PREFIX_WORD}`);
  return words;
}

/** [SPEC 8.3] Routing key of a frame from `from` to `to`. */
export function routingKey(prefix: string, to: string, from: string): string {
  return [...prefixWords(prefix), idToWord(to), idToWord(from)].join('.');
}

/** [SPEC 8.3] Binding key of the queue of endpoint `self`: every frame addressed to it, from anyone. */
export function bindingKey(prefix: string, self: string): string {
  return [...prefixWords(prefix), idToWord(self), '*'].join('.');
}

/**
 * [SPEC 8.3] Sender endpoint id from a routing key: the last word. Returns undefined when the key does
 * not have the expected shape (`prefix` words, the recipient `self`, one sender word) — such frames are dropped.
 */
export function senderFromKey(prefix: string, self: string, key: string): string | undefined {
  const want = prefixWords(prefix);
  const words = key.split('.');
  if (words.length !== want.length + 2) return undefined;
  for (let i = 0; i < want.length; i++) if (words[i] !== want[i]) return undefined;
  if (words[want.length] !== idToWord(self)) return undefined;
  const last = words[want.length + 1];
  return last === undefined ? undefined : wordToId(last);
}
