/**
 * Group addresses on XMPP: PEP (XEP-0163), the XEP-0060 publish-subscribe service every account has on its own bare
 * JID (Prosody's mod_pep). The group address `{P}/{G}` is node `urn:hopsafe:group:1:{G}` on the PEP service of
 * jidFor(P). The publisher creates the node when the group is created (`openGroup`: open access model, the last
 * GROUP_NODE_MAX_ITEMS items kept, the last item never re-sent), publishes each group frame as one item, and the
 * server sends one notification
 * `<message type="headline" from="{P's bare JID}"><event xmlns="…pubsub#event"><items node="…"><item><frame/></item>`
 * to every subscribed member. A member whose stream was not resumed asks for the kept items (`<items max_items>`)
 * and catches up (`catchUpStart`). Only the account itself may publish on its PEP nodes, so a group address cannot be
 * published by anyone but its publisher (the broker ACL of MQTT, here built in). Pure functions, no I/O. [SPEC 8.4, 13.9]
 */
import type { Element } from '@xmpp/client';
import { FRAME_ELEMENT, FRAME_NS } from './xmpp-stanza.js';

/** XEP-0060 namespaces. */
export const PUBSUB_NS = 'http://jabber.org/protocol/pubsub';
export const PUBSUB_EVENT_NS = 'http://jabber.org/protocol/pubsub#event';
/** [SPEC 8.4, 13.9] Prefix of a group node's name; the 32 lower-case hex digits of the group id follow. */
export const GROUP_NODE_PREFIX = 'urn:hopsafe:group:1:';

/**
 * [SPEC 8.4, 13.9] The most items a member asks for and accepts from one catch-up, and the most a group node may be
 * configured to keep: 64 = the replay window (SPEC 7.4), so the frames a reconnecting member already had fall inside
 * its window and are dropped as replays. Prosody's `pep_max_items` (default 256) is above it.
 */
export const GROUP_NODE_MAX_ITEMS = 64;
/** [SPEC 8.4, 13.9] Items a group node keeps by default (`groupNodeItems`). */
export const GROUP_NODE_DEFAULT_ITEMS = 16;

/**
 * [SPEC 8.4, 13.9] Node configuration a group node keeping `items` items is created with (and checked against, as publish-options, when the
 * node was not created by this transport; an existing node configured otherwise is reconfigured to it): anyone may
 * subscribe (a non-member reads only ciphertext and cannot forge: SPEC 13.6), only the owner publishes, the newest
 * `items` items (0: none, as before catch-up existed) are kept for members that reconnect, and none is ever sent to a new subscriber unasked
 * (it would get frames of epochs it does not hold).
 */
export function groupNodeConfig(items: number): ReadonlyArray<readonly [string, string]> {
  return [
    ['pubsub#access_model', 'open'],
    ['pubsub#publish_model', 'publishers'],
    ['pubsub#persist_items', items > 0 ? 'true' : 'false'],
    ['pubsub#max_items', String(Math.max(items, 1))],
    ['pubsub#send_last_published_item', 'never'],
  ];
}
export type NodeConfig = ReadonlyArray<readonly [string, string]>;

/** [SPEC 13.9] Node name of group id `groupId` (hex). */
export function groupNode(groupId: string): string {
  return `${GROUP_NODE_PREFIX}${groupId}`;
}

/** [SPEC 13.9] The group id (hex) of a group node name, or undefined. */
export function groupIdOfNode(node: string | undefined): string | undefined {
  if (node === undefined || !node.startsWith(GROUP_NODE_PREFIX)) return undefined;
  const g = node.slice(GROUP_NODE_PREFIX.length);
  return /^[0-9a-f]{32}$/.test(g) ? g : undefined;
}

type Xml = (name: string, attrs?: Record<string, string | undefined> | null, ...children: Array<Element | string>) => Element;

/** A submitted data form (XEP-0004) of `formType` with `fields`. */
function form(xml: Xml, formType: string, fields: ReadonlyArray<readonly [string, string]>): Element {
  return xml(
    'x',
    { xmlns: 'jabber:x:data', type: 'submit' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, formType)),
    ...fields.map(([v, value]) => xml('field', { var: v }, xml('value', {}, value))),
  );
}

/** [SPEC 13.9] `<iq type="set">` creating the group node on our own PEP service, configured. */
export function createNodeIq(xml: Xml, id: string, node: string, config: NodeConfig): Element {
  return xml(
    'iq',
    { type: 'set', id },
    xml('pubsub', { xmlns: PUBSUB_NS }, xml('create', { node }), xml('configure', {}, form(xml, `${PUBSUB_NS}#node_config`, config))),
  );
}

/** [SPEC 13.9] Owner `<configure>` setting an existing group node of ours to the group configuration. */
export function configureNodeIq(xml: Xml, id: string, node: string, config: NodeConfig): Element {
  return xml(
    'iq',
    { type: 'set', id },
    xml('pubsub', { xmlns: `${PUBSUB_NS}#owner` }, xml('configure', { node }, form(xml, `${PUBSUB_NS}#node_config`, config))),
  );
}

/** [SPEC 8.4, 13.9] XEP-0060 §6.5.7: the newest `max` items of the publisher's group node (the catch-up request). */
export function itemsIq(xml: Xml, id: string, service: string, node: string, max: number): Element {
  return xml('iq', { type: 'get', id, to: service }, xml('pubsub', { xmlns: PUBSUB_NS }, xml('items', { node, max_items: String(max) })));
}

/**
 * [SPEC 8.5, 13.9] The publisher's group directory: one more PEP node, `urn:hopsafe:groups:1`, holding one item per
 * group node it opened (item id = the group id, payload `<group xmlns="urn:hopsafe:group:1"/>`), so that a bridge can
 * find an account's groups and learn of new ones by one subscription (PEP lists an account's nodes — XEP-0030
 * disco#items — only to its presence contacts).
 */
export const GROUP_DIRECTORY_NODE = 'urn:hopsafe:groups:1';
/** [SPEC 8.5, 13.9] Entries the directory keeps (the groups opened last), and the most a reader takes from it. */
export const GROUP_DIRECTORY_ITEMS = 128;
export const GROUP_DIRECTORY_CONFIG: NodeConfig = [
  ['pubsub#access_model', 'open'],
  ['pubsub#publish_model', 'publishers'],
  ['pubsub#persist_items', 'true'],
  ['pubsub#max_items', String(GROUP_DIRECTORY_ITEMS)],
  ['pubsub#send_last_published_item', 'never'],
];

/** [SPEC 8.5, 13.9] Publishes (or replaces) the directory entry of group `groupId`, with the directory's preconditions. */
export function directoryPublishIq(xml: Xml, id: string, groupId: string): Element {
  return xml(
    'iq',
    { type: 'set', id },
    xml(
      'pubsub',
      { xmlns: PUBSUB_NS },
      xml('publish', { node: GROUP_DIRECTORY_NODE }, xml('item', { id: groupId }, xml('group', { xmlns: 'urn:hopsafe:group:1' }))),
      xml('publish-options', {}, form(xml, `${PUBSUB_NS}#publish-options`, GROUP_DIRECTORY_CONFIG)),
    ),
  );
}

/** [SPEC 8.5, 13.9] The group ids a directory `<items>` (result or notification) lists: valid item ids only, at most `max`. */
export function directoryGroupIds(items: Element | undefined, max: number): string[] {
  const ids = new Set<string>();
  if (items === undefined || items.attrs.node !== GROUP_DIRECTORY_NODE) return [];
  for (const item of items.getChildren('item')) {
    if (ids.size >= max) break;
    const id = item.attrs.id;
    if (typeof id === 'string' && /^[0-9a-f]{32}$/.test(id)) ids.add(id);
  }
  return [...ids];
}

/** [SPEC 13.9] One group frame as one item on our own node; `options`: the node config as publish-options preconditions. */
export function publishIq(xml: Xml, id: string, node: string, base64: string, options: NodeConfig | undefined): Element {
  return xml(
    'iq',
    { type: 'set', id },
    xml(
      'pubsub',
      { xmlns: PUBSUB_NS },
      xml('publish', { node }, xml('item', {}, xml(FRAME_ELEMENT, { xmlns: FRAME_NS }, base64))),
      ...(options !== undefined ? [xml('publish-options', {}, form(xml, `${PUBSUB_NS}#publish-options`, options))] : []),
    ),
  );
}

/** [SPEC 13.9] Subscribing (or unsubscribing) our bare JID to a node of the publisher's PEP service. */
export function subscriptionIq(
  xml: Xml,
  id: string,
  kind: 'subscribe' | 'unsubscribe',
  service: string,
  node: string,
  jid: string,
): Element {
  return xml('iq', { type: 'set', id, to: service }, xml('pubsub', { xmlns: PUBSUB_NS }, xml(kind, { node, jid })));
}

/** One item of a group node: the server's item id (untrusted, only used to skip what was handed over) and its frame. */
export interface GroupItem {
  readonly id: string | undefined;
  readonly frame: Element;
}

function frameItems(items: Element): GroupItem[] {
  const out: GroupItem[] = [];
  for (const item of items.getChildren('item')) {
    const f = item.getChild(FRAME_ELEMENT, FRAME_NS);
    if (f !== undefined) out.push({ id: item.attrs.id, frame: f });
  }
  return out;
}

/**
 * [SPEC 8.4, 13.9] The group notification in a `<message>`: its node's group id and its items' frames;
 * undefined for any other stanza (the caller checks the type and maps `from`).
 */
export function groupNotification(el: Element): { groupId: string; items: GroupItem[] } | undefined {
  const items = el.getChild('event', PUBSUB_EVENT_NS)?.getChild('items');
  const groupId = groupIdOfNode(items?.attrs.node);
  if (items === undefined || groupId === undefined) return undefined;
  return { groupId, items: frameItems(items) };
}

/** [SPEC 8.4, 13.9] The items of an `<items>` result for `node` (any other node: none), in the server's order. */
export function itemsResult(el: Element, node: string): GroupItem[] {
  const items = el.getChild('pubsub', PUBSUB_NS)?.getChild('items');
  return items !== undefined && items.attrs.node === node ? frameItems(items) : [];
}

/**
 * [SPEC 8.4, 13.9] Which catch-up items to hand over: those after `lastId` (the last item handed over on this address,
 * when the server still lists it), and of those the newest that fit in `maxItems` items and `maxBytes` bytes
 * (`sizes[i]`: the most item i decodes to). Returns the index of the first one; items from there on go, in order.
 */
export function catchUpStart(
  ids: ReadonlyArray<string | undefined>,
  sizes: readonly number[],
  lastId: string | undefined,
  maxItems: number,
  maxBytes: number,
): number {
  const after = lastId === undefined ? 0 : ids.lastIndexOf(lastId) + 1;
  let start = ids.length;
  let bytes = 0;
  while (start > after && ids.length - start < maxItems && bytes + (sizes[start - 1] ?? 0) <= maxBytes) {
    start--;
    bytes += sizes[start] ?? 0;
  }
  return start;
}
