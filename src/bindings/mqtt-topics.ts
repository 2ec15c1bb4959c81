/**
 * The MQTT topic mapping. A frame from A to B travels on `{prefix}/{B}/{A}`; an endpoint
 * subscribes to `{prefix}/{self}/+`. The receiver is the second-to-last level and the sender the
 * last one, so a broker ACL can pin each client to its own inbox (`read {prefix}/%c/#`) and its own
 * sender slot (`write {prefix}/+/%c`). [SPEC 8.2]
 */
import { HopsafeError } from '../errors/index.js';
import { assertEndpointId } from '../transport/endpoint-id.js';
import { ENDPOINT_ID_PATTERN } from '../transport/transport.js';

/** [SPEC 8.2] Default first topic level of frame topics: a frame from A to B is published on `hopsafe/B/A`. */
export const DEFAULT_PREFIX = 'hopsafe';
const MAX_PREFIX_LENGTH = 128;

/**
 * [SPEC 8.2] A prefix is 1–128 chars of one or more non-empty topic levels, without the wildcards
 * `+`/`#`, NUL, or a leading `$` (reserved for broker topics, and invisible to `#` subscribers).
 */
export function assertPrefix(prefix: unknown): string {
  if (!isPrefix(prefix))
    throw new HopsafeError(
      'ERR_CONFIG',
      `MQTT topic prefix must be 1-${MAX_PREFIX_LENGTH} chars of non-empty levels without +, #, NUL, a leading $ or a level beginning with ~ (got ${JSON.stringify(prefix)})`,
    );
  return prefix;
}

/** [SPEC 8.2, 13.9] `assertPrefix` as a test: true when `prefix` is a valid topic prefix. */
function isPrefix(prefix: unknown): prefix is string {
  return (
    typeof prefix === 'string' &&
    prefix.length > 0 &&
    prefix.length <= MAX_PREFIX_LENGTH &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what MQTT forbids in a topic (MQTT 5 §4.7.3)
    !/[+#\u0000]/.test(prefix) &&
    !prefix.startsWith('$') &&
    // [SPEC 13.9] a level beginning with '~' is reserved for group addresses
    prefix.split('/').every((level) => level.length > 0 && !level.startsWith('~'))
  );
}

/** Topic carrying a frame from `from` to `to`. [SPEC 8.2] */
export function frameTopic(prefix: string, to: string, from: string): string {
  return `${prefix}/${assertEndpointId(to, 'recipient id')}/${assertEndpointId(from, 'sender id')}`;
}

/** Subscription filter for an endpoint's inbox. [SPEC 8.2] */
export function inboxFilter(prefix: string, self: string): string {
  return `${prefix}/${assertEndpointId(self, 'local id')}/+`;
}

/**
 * Splits `{prefix}/{to}/{from}` when the last two levels are valid endpoint ids and what precedes them is a valid
 * prefix (`assertPrefix`); undefined otherwise. So a group topic `{prefix}/~g/{P}/{G}` (SPEC 13.9) is never read as an
 * inbox topic: its '~g' level cannot be part of a prefix. Never throws.
 */
export function parseFrameTopic(topic: string): { prefix: string; to: string; from: string } | undefined {
  const last = topic.lastIndexOf('/');
  if (last <= 0) return undefined;
  const middle = topic.lastIndexOf('/', last - 1);
  if (middle <= 0) return undefined;
  const prefix = topic.slice(0, middle);
  const to = topic.slice(middle + 1, last);
  const from = topic.slice(last + 1);
  if (!ENDPOINT_ID_PATTERN.test(to) || !ENDPOINT_ID_PATTERN.test(from) || !isPrefix(prefix)) return undefined;
  return { prefix, to, from };
}
