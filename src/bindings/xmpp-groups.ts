/**
 * Group addresses on XMPP: PEP (XEP-0163), the XEP-0060 publish-subscribe service every account has on its own bare
 * JID (Prosody's mod_pep). The group address `{P}/{G}` is node `urn:hopsafe:group:1:{G}` on the PEP service of
 * jidFor(P). The publisher creates the node when the group is created (`openGroup`: open access model, items not
 * kept, the last item never re-sent), publishes each group frame as one item, and the server sends one notification
 * `<message type="headline" from="{P's bare JID}"><event xmlns="…pubsub#event"><items node="…"><item><frame/></item>`
 * to every subscribed member. Only the account itself may publish on its PEP nodes, so a group address cannot be
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
 * [SPEC 8.4, 13.9] Node configuration a group node is created with (and checked against, as publish-options, when the
 * node was not created by this transport): anyone may subscribe (a non-member reads only ciphertext and cannot forge:
 * SPEC 13.6), only the owner publishes, no item is kept or re-sent to a new subscriber (a member would get a frame
 * of an epoch it does not hold).
 */
export const GROUP_NODE_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['pubsub#access_model', 'open'],
  ['pubsub#publish_model', 'publishers'],
  ['pubsub#persist_items', 'false'],
  ['pubsub#max_items', '1'],
  ['pubsub#send_last_published_item', 'never'],
];

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
export function createNodeIq(xml: Xml, id: string, node: string): Element {
  return xml(
    'iq',
    { type: 'set', id },
    xml(
      'pubsub',
      { xmlns: PUBSUB_NS },
      xml('create', { node }),
      xml('configure', {}, form(xml, `${PUBSUB_NS}#node_config`, GROUP_NODE_CONFIG)),
    ),
  );
}

/** [SPEC 13.9] One group frame as one item on our own node; `withOptions`: the node config as publish-options preconditions. */
export function publishIq(xml: Xml, id: string, node: string, base64: string, withOptions: boolean): Element {
  return xml(
    'iq',
    { type: 'set', id },
    xml(
      'pubsub',
      { xmlns: PUBSUB_NS },
      xml('publish', { node }, xml('item', {}, xml(FRAME_ELEMENT, { xmlns: FRAME_NS }, base64))),
      ...(withOptions ? [xml('publish-options', {}, form(xml, `${PUBSUB_NS}#publish-options`, GROUP_NODE_CONFIG))] : []),
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

/**
 * [SPEC 8.4, 13.9] The group notification in a `<message>`: its node's group id and the frame elements of its items;
 * undefined for any other stanza (the caller checks the type and maps `from`).
 */
export function groupNotification(el: Element): { groupId: string; frames: Element[] } | undefined {
  const items = el.getChild('event', PUBSUB_EVENT_NS)?.getChild('items');
  const groupId = groupIdOfNode(items?.attrs.node);
  if (items === undefined || groupId === undefined) return undefined;
  const frames: Element[] = [];
  for (const item of items.getChildren('item')) {
    const f = item.getChild(FRAME_ELEMENT, FRAME_NS);
    if (f !== undefined) frames.push(f);
  }
  return { groupId, frames };
}
