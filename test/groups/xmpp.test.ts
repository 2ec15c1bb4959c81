/**
 * [SPEC 8.4, 13.9] Groups on XMPP: PEP nodes (XEP-0163) on a private Prosody with mod_pep. One publish iq per group
 * message, one notification per member; only the publisher can publish on its node; a non-member subscriber reads
 * only ciphertext.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client as xmppClient, xml, type Element } from '@xmpp/client';
import { randomBytes } from 'node:crypto';
import { xmppTransport, type XmppClientHandle } from '../../src/bindings/xmpp.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { createBridge } from '../../src/bindings/bridge.js';
import { startBroker } from '../../src/broker/index.js';
import type { TransportStatus } from '../../src/transport/transport.js';
import {
  catchUpStart,
  GROUP_NODE_DEFAULT_ITEMS,
  groupNodeConfig,
  groupIdOfNode,
  groupNode,
  PUBSUB_EVENT_NS,
  PUBSUB_NS,
} from '../../src/bindings/xmpp-groups.js';
import { HopsafeError } from '../../src/errors/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { GROUP_MEMBERS, groupScenario } from '../support/group-scenario.js';
import { prosodyInstalled, startProsody, type RunningProsody } from '../support/prosody.js';
import { requireOrSkip } from '../support/services.js';

const IDS = [...new Set(['der', ...GROUP_MEMBERS, 'scada', 'hist', 'eve', 'p2', 'm1', 'm2'])];
let prosody: RunningProsody | undefined;

before(async () => {
  if (prosodyInstalled())
    prosody = await startProsody({ users: IDS.map((u) => ({ username: u, password: `pw-${u}` })), modules: ['pep', 'smacks'] });
});
after(async () => {
  await prosody?.stop();
});

const PROSODY = 'Prosody (scripts/ci/install-prosody.sh)';
const G = '0123456789abcdef0123456789abcdef';
const code = (c: string) => (e: unknown) => e instanceof HopsafeError && e.code === c;
const transport = (p: RunningProsody, id: string) =>
  xmppTransport({ service: p.service, domain: p.domain, password: `pw-${id}`, reconnectDelayMs: 50 });

/** A raw XMPP client of `username` (the curious non-member, or a forger). */
async function rawClient(p: RunningProsody, username: string) {
  const c = xmppClient({ service: p.service, domain: p.domain, username, password: `pw-${username}` });
  c.on('error', () => undefined);
  const stanzas: Element[] = [];
  c.on('stanza', (el: Element) => void stanzas.push(el));
  await c.start();
  // [SPEC 8.4] presence only once XEP-0198 is settled (the @xmpp/client miscount the binding avoids the same way)
  const sm = c.streamManagement as unknown as { enableSent?: boolean; enabled: boolean };
  await until(() => !sm.enableSent || sm.enabled, 5000, 'stream management').catch(() => undefined);
  await new Promise((r) => setTimeout(r, 20));
  await c.send(xml('presence'));
  // stop() alone lets @xmpp/reconnect start over once the socket closes
  const stop = async (): Promise<void> => {
    c.reconnect.stop();
    await c.stop().catch(() => undefined);
  };
  return { c, stanzas, stop };
}

test('[SPEC 13.9] group node names: urn:hopsafe:group:1:{32 hex}', () => {
  assert.equal(groupNode(G), `urn:hopsafe:group:1:${G}`);
  assert.equal(groupIdOfNode(groupNode(G)), G);
  for (const n of [undefined, G, `urn:hopsafe:group:1:${G.toUpperCase()}`, `urn:hopsafe:group:1:${G}0`, `urn:hopsafe:group:2:${G}`])
    assert.equal(groupIdOfNode(n), undefined, String(n));
});

test('[SPEC 8.4, 13.9] catch-up selection: after the last item handed over, the newest within the count and byte bounds', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];
  const sizes = [10, 10, 10, 10, 10];
  assert.equal(catchUpStart(ids, sizes, undefined, 64, 1000), 0, 'nothing handed over yet: all');
  assert.equal(catchUpStart(ids, sizes, 'b', 64, 1000), 2, 'after the last one handed over');
  assert.equal(catchUpStart(ids, sizes, 'e', 64, 1000), 5, 'all handed over already: none');
  assert.equal(catchUpStart(ids, sizes, 'zz', 64, 1000), 0, 'the last one is no longer kept: all');
  assert.equal(catchUpStart(ids, sizes, undefined, 3, 1000), 2, 'at most maxItems, the newest');
  assert.equal(catchUpStart(ids, sizes, undefined, 64, 25), 3, 'at most maxBytes, the newest');
  assert.equal(catchUpStart(ids, [10, 10, 10, 10, 2000], undefined, 64, 1000), 5, 'an item larger than the budget stops it');
  // a hostile server repeating an id: the last occurrence counts
  assert.equal(catchUpStart(['a', 'b', 'a', 'c'], [1, 1, 1, 1], 'a', 64, 1000), 3);
  const cfg = (n: number) => Object.fromEntries(groupNodeConfig(n));
  assert.equal(cfg(16)['pubsub#max_items'], '16');
  assert.equal(cfg(16)['pubsub#persist_items'], 'true');
  assert.equal(cfg(0)['pubsub#persist_items'], 'false', 'groupNodeItems 0: nothing kept');
  for (const n of [0, 16, 64]) assert.equal(cfg(n)['pubsub#send_last_published_item'], 'never');
});

test('[SPEC 8.10, 13.9] publishGroup guards, and an XMPP endpoint publishes only its own group addresses', async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  const tr = transport(prosody, 'p2');
  await assert.rejects(tr.publishGroup!(`p2/${G}`, new Uint8Array(1)), code('ERR_STATE'));
  await assert.rejects(
    tr.subscribeGroup!(`der/${G}`, () => undefined),
    code('ERR_STATE'),
  );
  await tr.open('p2', () => undefined);
  try {
    await assert.rejects(tr.publishGroup!('p2/xyz', new Uint8Array(1)), code('ERR_INPUT'));
    await assert.rejects(tr.publishGroup!(`p2/${G}`, new Uint8Array(tr.maxFrameSize + 1)), code('ERR_PAYLOAD_TOO_LARGE'));
    await assert.rejects(tr.publishGroup!(`der/${G}`, new Uint8Array(1)), code('ERR_INPUT'));
    await assert.rejects(tr.openGroup!(`der/${G}`), code('ERR_INPUT'));
  } finally {
    await tr.close();
  }
  await assert.rejects(tr.publishGroup!(`p2/${G}`, new Uint8Array(1)), code('ERR_CLOSED'));
});

test('[SPEC 8.4, 13.9] transport level: openGroup then subscribe; one publish reaches every subscriber once; unsubscribe; nobody else can publish on the node', async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  const pub = transport(prosody, 'p2');
  const subs = [transport(prosody, 'm1'), transport(prosody, 'm2')];
  const inbox: unknown[] = [];
  const got: Uint8Array[][] = [[], []];
  const eve = await rawClient(prosody, 'eve');
  try {
    await pub.open('p2', (f) => void inbox.push(f));
    await pub.openGroup!(`p2/${G}`);
    await pub.openGroup!(`p2/${G}`); // exists: kept
    for (const [i, s] of subs.entries()) {
      await s.open(`m${i + 1}`, (f) => void inbox.push(f));
      await s.subscribeGroup!(`p2/${G}`, (b) => void got[i]!.push(b));
    }
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    await pub.publishGroup!(`p2/${G}`, bytes);
    await pub.publishGroup!(`p2/${G}`, utf8('two'));
    await until(() => got[0]!.length === 2 && got[1]!.length === 2, 5000, 'group frames');
    assert.deepEqual(got[0]![0], bytes);
    assert.equal(inbox.length, 0, 'a group frame never reaches an inbox');
    // eve (not the owner) publishing on p2's node: refused by the server
    const res = await eve.c
      .send(
        xml(
          'iq',
          { type: 'set', to: 'p2@localhost', id: 'forge1' },
          xml(
            'pubsub',
            { xmlns: PUBSUB_NS },
            xml('publish', { node: groupNode(G) }, xml('item', {}, xml('frame', { xmlns: 'urn:hopsafe:frame:1' }, 'AAEC'))),
          ),
        ),
      )
      .then(() => until(() => eve.stanzas.some((s) => s.attrs.id === 'forge1'), 5000, 'the reply'))
      .then(() => eve.stanzas.find((s) => s.attrs.id === 'forge1'));
    assert.equal(res?.attrs.type, 'error');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got[0]!.length, 2, 'nothing forged arrived');
    await subs[0]!.unsubscribeGroup!(`p2/${G}`);
    await pub.publishGroup!(`p2/${G}`, utf8('three'));
    await until(() => got[1]!.length === 3, 5000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got[0]!.length, 2, 'unsubscribed');
  } finally {
    await eve.stop();
    for (const x of [pub, ...subs]) await x.close();
  }
});

test('[SPEC 8.4, 13.9] Prosody PEP: 1 publisher → 3 members, one publish per message, a non-member subscriber reads nothing', async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  const p = prosody;
  // The curious non-member subscribes to the group node (open access model) and counts what the server sends it:
  // one notification per publish.
  const eve = await rawClient(p, 'eve');
  const frames: Uint8Array[] = [];
  let publishes = 0;
  eve.c.on('stanza', (el: Element) => {
    const items = el.is('message') ? el.getChild('event', PUBSUB_EVENT_NS)?.getChild('items') : undefined;
    for (const it of items?.getChildren('item') ?? []) {
      publishes++;
      frames.push(new Uint8Array(Buffer.from(it.getChild('frame', 'urn:hopsafe:frame:1')?.getText() ?? '', 'base64')));
    }
  });
  try {
    await groupScenario(
      (id) => {
        const tr = transport(p, id);
        if (id !== 'der') return tr;
        // der's group node exists once group() returned: subscribe eve right then
        const open = tr.openGroup!.bind(tr);
        tr.openGroup = async (address) => {
          await open(address);
          const node = groupNode(address.slice(address.indexOf('/') + 1));
          await eve.c.send(
            xml(
              'iq',
              { type: 'set', to: 'der@localhost', id: 'eve-sub' },
              xml('pubsub', { xmlns: PUBSUB_NS }, xml('subscribe', { node, jid: 'eve@localhost' })),
            ),
          );
          await until(() => eve.stanzas.some((s) => s.attrs.id === 'eve-sub' && s.attrs.type === 'result'), 5000, 'eve subscribed');
        };
        return tr;
      },
      () => publishes,
      () => frames,
    );
  } finally {
    await eve.stop();
  }
});

test('[SPEC 13.7, 13.9] XMPP: group() creates the node, so a member may join before the first publish; leave ends the subscription', async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  const p = prosody;
  const c = await cast(['der', 'scada', 'hist'], { transport: (id) => transport(p, id) });
  try {
    const g = await c.eps.der!.group('t', { members: ['scada', 'hist'], protection: 'integrity', sourceAuth: 'none' });
    await c.eps.scada!.join('der', 't');
    await c.eps.hist!.join('der', 't');
    for (let i = 0; i < 3; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.scada!.length === 3 && c.inbox.hist!.length === 3, 10_000);
    assert.deepEqual(c.inbox.hist!.map(text), ['m0', 'm1', 'm2']);
    await c.eps.hist!.leave('der', 't');
    await until(() => g.members().length === 1, 5000, 'the publisher saw the leave');
    await g.publish(utf8('after leave'));
    await until(() => c.inbox.scada!.length === 4, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(c.inbox.hist!.length, 3);
    assert.equal(c.eps.hist!.stats().groups.rejected, 0, 'no frame reached the member that left');
    // on the server: the node's subscriptions (asked by the owner from a second resource) hold scada only
    const owner = await rawClient(p, 'der');
    try {
      await owner.c.send(
        xml(
          'iq',
          { type: 'get', id: 'subs', to: 'der@localhost' },
          xml('pubsub', { xmlns: `${PUBSUB_NS}#owner` }, xml('subscriptions', { node: groupNode(g.address.slice(4)) })),
        ),
      );
      await until(() => owner.stanzas.some((s) => s.attrs.id === 'subs'), 5000, 'subscriptions');
      const reply = owner.stanzas.find((s) => s.attrs.id === 'subs')!;
      assert.equal(reply.attrs.type, 'result', reply.toString());
      const jids = (reply.getChild('pubsub', `${PUBSUB_NS}#owner`)?.getChild('subscriptions')?.getChildren('subscription') ?? []).map(
        (x) => x.attrs.jid,
      );
      assert.deepEqual(jids, ['scada@localhost']);
    } finally {
      await owner.stop();
    }
  } finally {
    await c.close();
  }
});

test("[SPEC 8.4, 13.9] XEP-0198: group notifications sent while a member's stream is broken arrive once it is resumed", async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  let handle: XmppClientHandle | undefined;
  const pub = transport(prosody, 'p2');
  const member = xmppTransport({
    service: prosody.service,
    domain: prosody.domain,
    password: 'pw-m1',
    reconnectDelayMs: 50,
    onClient: (c) => (handle = c),
  });
  const statuses: TransportStatus[] = [];
  member.onStatus!((s) => statuses.push(s));
  const got: string[] = [];
  const A = `p2/${'f'.repeat(32)}`;
  try {
    await pub.open('p2', () => undefined);
    await pub.openGroup!(A);
    await member.open('m1', () => undefined);
    await member.subscribeGroup!(A, (b) => void got.push(Buffer.from(b).toString()));
    await pub.publishGroup!(A, utf8('m0'));
    await until(() => got.length === 1, 5000);
    assert.equal(handle?.streamManagement.enabled, true, 'stream management negotiated');
    let resumed = false;
    (handle as unknown as { streamManagement: { on(e: string, f: () => void): void } }).streamManagement.on(
      'resumed',
      () => (resumed = true),
    );
    handle!.socket!.destroy();
    await until(() => statuses.includes('reconnecting'), 5000, 'reconnecting');
    for (const m of ['m1', 'm2', 'm3']) await pub.publishGroup!(A, utf8(m));
    await until(() => got.length >= 4 && resumed, 10_000, 'resumed');
    await new Promise((r) => setTimeout(r, 300));
    // [SPEC 8.4] resumed, not a new stream: no catch-up, each frame handed over exactly once
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3']);
    assert.equal(statuses.at(-1), 'connected');
  } finally {
    await member.close();
    await pub.close();
  }
});

/** The owner's view of one of its nodes' configuration (from a second resource of the account). */
async function nodeConfig(p: RunningProsody, owner: string, node: string): Promise<Record<string, string | undefined>> {
  const c = await rawClient(p, owner);
  try {
    await c.c.send(
      xml(
        'iq',
        { type: 'get', id: 'cfg', to: `${owner}@localhost` },
        xml('pubsub', { xmlns: `${PUBSUB_NS}#owner` }, xml('configure', { node })),
      ),
    );
    await until(() => c.stanzas.some((s) => s.attrs.id === 'cfg'), 5000, 'node config');
    const reply = c.stanzas.find((s) => s.attrs.id === 'cfg')!;
    assert.equal(reply.attrs.type, 'result', reply.toString());
    const fields =
      reply.getChild('pubsub', `${PUBSUB_NS}#owner`)?.getChild('configure')?.getChild('x', 'jabber:x:data')?.getChildren('field') ?? [];
    return Object.fromEntries(fields.map((f) => [f.attrs.var as string, f.getChild('value')?.getText()]));
  } finally {
    await c.stop();
  }
}

test('[SPEC 8.4, 13.9] a node created with the old configuration (no items kept) is reconfigured: by openGroup, and by the first publish', async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  const p = prosody;
  const old = [
    ['pubsub#access_model', 'open'],
    ['pubsub#publish_model', 'publishers'],
    ['pubsub#persist_items', 'false'],
    ['pubsub#max_items', '1'],
    ['pubsub#send_last_published_item', 'never'],
  ];
  const form = xml(
    'x',
    { xmlns: 'jabber:x:data', type: 'submit' },
    xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, `${PUBSUB_NS}#node_config`)),
    ...old.map(([v, value]) => xml('field', { var: v }, xml('value', {}, value!))),
  );
  const [G1, G2] = ['a'.repeat(32), 'b'.repeat(32)];
  const raw = await rawClient(p, 'p2');
  try {
    for (const [i, g] of [G1, G2].entries()) {
      await raw.c.send(
        xml(
          'iq',
          { type: 'set', id: `old${i}` },
          xml('pubsub', { xmlns: PUBSUB_NS }, xml('create', { node: groupNode(g) }), xml('configure', {}, form)),
        ),
      );
      await until(() => raw.stanzas.some((s) => s.attrs.id === `old${i}`), 5000, 'created');
      assert.equal(raw.stanzas.find((s) => s.attrs.id === `old${i}`)?.attrs.type, 'result');
    }
  } finally {
    await raw.stop();
  }
  assert.equal((await nodeConfig(p, 'p2', groupNode(G1)))['pubsub#persist_items'], '0');
  const pub = transport(p, 'p2');
  try {
    await pub.open('p2', () => undefined);
    await pub.openGroup!(`p2/${G1}`); // exists: reconfigured
    await pub.publishGroup!(`p2/${G2}`, utf8('x')); // no openGroup: the publish-options fail, reconfigured, published
  } finally {
    await pub.close();
  }
  for (const g of [G1, G2]) {
    const cfg = await nodeConfig(p, 'p2', groupNode(g));
    assert.ok(cfg['pubsub#persist_items'] === '1' || cfg['pubsub#persist_items'] === 'true', JSON.stringify(cfg));
    assert.equal(cfg['pubsub#max_items'], String(GROUP_NODE_DEFAULT_ITEMS));
    assert.equal(cfg['pubsub#send_last_published_item'], 'never');
  }
});

test('[SPEC 8.4, 13.7, 13.9] offline catch-up (no XEP-0198): a member whose connection was cut gets the K frames published meanwhile, once each, in order', async (t) => {
  if (!requireOrSkip(t, PROSODY, prosodyInstalled())) return;
  // A server without stream management: every reconnect is a new stream, so only the node's kept items can bring
  // back what was published meanwhile (headlines are not stored for an unavailable account).
  const p = await startProsody({ users: ['der', 'scada', 'hist'].map((u) => ({ username: u, password: `pw-${u}` })), modules: ['pep'] });
  let handle: XmppClientHandle | undefined;
  const statuses: TransportStatus[] = [];
  const K = 5;
  const c = await cast(['der', 'scada', 'hist'], {
    transport: (id) => {
      if (id !== 'scada') return transport(p, id);
      const tr = xmppTransport({
        service: p.service,
        domain: p.domain,
        password: 'pw-scada',
        reconnectDelayMs: 1500, // the K publishes land while scada is away
        onClient: (h) => (handle = h),
      });
      tr.onStatus!((s) => statuses.push(s));
      return tr;
    },
  });
  try {
    const g = await c.eps.der!.group('t', { members: ['scada', 'hist'] });
    await c.eps.scada!.join('der', 't');
    await c.eps.hist!.join('der', 't');
    await g.publish(utf8('m0'));
    await until(() => c.inbox.scada!.length === 1 && c.inbox.hist!.length === 1, 10_000, 'm0');
    assert.equal(handle?.streamManagement.enabled, false, 'no stream management on this server');
    handle!.socket!.destroy();
    await until(() => statuses.includes('reconnecting'), 5000, 'scada cut off');
    for (let i = 1; i <= K; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.hist!.length === K + 1, 10_000, 'hist, online throughout');
    assert.equal(statuses.at(-1), 'reconnecting', 'the K frames were published while scada was away');
    await until(() => c.inbox.scada!.length >= K + 1, 15_000, 'scada caught up');
    await g.publish(utf8('live'));
    await until(() => c.inbox.scada!.length >= K + 2, 10_000, 'live again');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(c.inbox.scada!.map(text), ['m0', ...Array.from({ length: K }, (_, i) => `m${i + 1}`), 'live']);
    assert.ok(c.inbox.scada!.every((m) => m.from === 'der' && m.group === 't'));
    // m0 (handed over before the cut) was skipped by its item id: nothing reached the session twice
    assert.equal(c.eps.scada!.stats().groups.rejected, 0);
  } finally {
    await c.close();
    await p.stop();
  }
});

test("[SPEC 8.5, 13.9] MQTT (aedes) → XMPP bridge: the publisher's proxy publishes on its own PEP node; an XMPP member reads the group", async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  const p = prosody;
  const broker = await startBroker();
  let mqttGroup = 0;
  broker.tap((f) => void (f.topic.includes('/~g/') && mqttGroup++));
  const sides = { der: 'm', scada: 'm', hist: 'x' } as const;
  const sideM = (id: string) => mqttTransport({ url: broker.url, clientId: `${id}-${randomBytes(2).toString('hex')}` });
  const sideX = (id: string) => transport(p, id);
  const bridge = await createBridge({ sides: { m: sideM, x: sideX }, endpoints: { ...sides } });
  const c = await cast(['der', 'scada', 'hist'], { transport: (id) => (sides[id as keyof typeof sides] === 'm' ? sideM(id) : sideX(id)) });
  try {
    const g = await c.eps.der!.group('telemetry', { members: ['scada', 'hist'] });
    await c.eps.scada!.join('der', 'telemetry');
    // der lives on MQTT: its PEP node on the XMPP side is made by the bridge's first forwarded frame
    await g.publish(utf8('m0'));
    await until(() => c.inbox.scada!.length === 1, 10_000, 'scada');
    await until(() => bridge.stats().forwarded > 0, 5000, 'forwarded');
    await c.eps.hist!.join('der', 'telemetry');
    const before = mqttGroup;
    for (let i = 1; i <= 3; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.hist!.length === 3 && c.inbox.scada!.length === 4, 10_000, 'both sides');
    assert.deepEqual(c.inbox.hist!.map(text), ['m1', 'm2', 'm3']);
    assert.ok(c.inbox.hist!.every((m) => m.from === 'der' && m.group === 'telemetry'));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(mqttGroup - before, 3, "one group message per publish on the publisher's broker");
  } finally {
    await c.close();
    await bridge.close();
    await broker.close();
  }
});

test("[SPEC 8.5, 13.9] XMPP → MQTT (aedes) bridge: an XMPP publisher's group, found through its directory node, read by an MQTT member; one broker message per group message; nothing under an address of a publisher living elsewhere", async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  const p = prosody;
  const broker = await startBroker();
  const mqttGroup: string[] = [];
  broker.tap((f) => void (f.topic.includes('/~g/') && mqttGroup.push(f.topic)));
  const sides = { der: 'x', scada: 'm', hist: 'x' } as const;
  const sideM = (id: string) => mqttTransport({ url: broker.url, clientId: `${id}-${randomBytes(2).toString('hex')}` });
  const sideX = (id: string) =>
    xmppTransport({ service: p.service, domain: p.domain, password: `pw-${id}`, reconnectDelayMs: 50, groupDirectoryRetryMs: 100 });
  // the bridge starts before der opened any group: its directory node does not exist yet
  const bridge = await createBridge({ sides: { m: sideM, x: sideX }, endpoints: { ...sides } });
  const c = await cast(['der', 'scada', 'hist'], { transport: (id) => (sides[id as keyof typeof sides] === 'm' ? sideM(id) : sideX(id)) });
  try {
    const g = await c.eps.der!.group('telemetry', { members: ['scada', 'hist'] });
    await c.eps.scada!.join('der', 'telemetry');
    await c.eps.hist!.join('der', 'telemetry');
    for (let i = 0; i < 5; i++) await g.publish(utf8(`m${i}`));
    await until(() => c.inbox.scada!.length === 5 && c.inbox.hist!.length === 5, 15_000, 'both sides');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(c.inbox.scada!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.ok(c.inbox.scada!.every((m) => m.from === 'der' && m.group === 'telemetry'));
    assert.deepEqual(c.inbox.hist!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4']);
    assert.equal(mqttGroup.length, 5, 'one MQTT group message per group message, whatever the members');
    assert.ok(mqttGroup.every((topic) => topic.endsWith(`/~g/${g.address}`)));
    assert.equal(c.eps.scada!.stats().groups.rejected, 0);
    // scada lives on MQTT: a group frame under scada's own XMPP address (its account, logged in by someone holding the
    // password, directory entry and all) is never carried; nor are the groups of an account that is not bridged
    const G2 = 'c'.repeat(32);
    for (const who of ['scada', 'eve']) {
      const forger = xmppTransport({ service: p.service, domain: p.domain, password: `pw-${who}`, reconnectDelayMs: 50 });
      await forger.open(who, () => undefined);
      await forger.openGroup!(`${who}/${G2}`);
      await forger.publishGroup!(`${who}/${G2}`, utf8('not carried'));
      await forger.close();
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(mqttGroup.length, 5, 'nothing more on the MQTT side');
    // a new group of der, opened while the bridge runs, is carried too (from its directory notification)
    const g2 = await c.eps.der!.group('second', { members: ['scada'] });
    await c.eps.scada!.join('der', 'second');
    await g2.publish(utf8('s0'));
    await until(() => c.inbox.scada!.length === 6, 15_000, 'the second group');
    assert.equal(c.inbox.scada!.at(-1)?.group, 'second');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(mqttGroup.length, 6);
  } finally {
    await c.close();
    await bridge.close();
    await broker.close();
  }
});
