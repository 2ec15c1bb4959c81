/**
 * [SPEC 8.4, 13.6, 13.7, 13.9] A hostile XMPP server answers a member's group catch-up. Real endpoints on a private
 * Prosody (mod_pep, no XEP-0198: every reconnect is a new stream, so every reconnect catches up): publisher `der`
 * with groups `t` and `u`, member `scada` joined over its pairwise session — and scada's c2s connection runs through
 * a man in the middle (test/support/xmpp-mitm.ts) that rewrites the `<items>` result of each catch-up. Round by round
 * scada goes offline, der publishes, scada reconnects on a new stream and is answered with replayed, reordered,
 * foreign-node, foreign-group, oversized, too many, tampered, forged, old-epoch and lying-id items. What the
 * application is told is checked exactly: every genuine message once (in the order the server listed it: SPEC 8.4, a
 * server can reorder as it can any frame), nothing forged, each refusal counted in stats() under its code, and
 * nothing kept from one catch-up to the next but the last item id (the last round, honest, is decided by it alone).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { xmppTransport } from '../../src/bindings/xmpp.js';
import { FRAME_NS, XMPP_DEFAULT_MAX_FRAME_SIZE, decodeFrameText, encodeFrameText } from '../../src/bindings/xmpp-stanza.js';
import { GROUP_NODE_MAX_ITEMS, PUBSUB_NS, groupNode } from '../../src/bindings/xmpp-groups.js';
import { decodeGroupHeader } from '../../src/codec/group.js';
import type { ErrorCode } from '../../src/errors/index.js';
import type { Transport, TransportStatus } from '../../src/transport/transport.js';
import type { EndpointStats } from '../../src/endpoint/stats.js';
import { utf8 } from '../../src/bytes/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { prosodyInstalled, startProsody, type RunningProsody } from '../support/prosody.js';
import { requireOrSkip } from '../support/services.js';
import { StreamScanner, startXmppMitm, type MitmRewrite, type XmppMitm } from '../support/xmpp-mitm.js';

const PROSODY = 'Prosody (scripts/ci/install-prosody.sh)';
const IDS = ['der', 'scada', 'hist', 'aux'];
/** scada's catch-up byte budget (SPEC 8.4 `maxCatchUpBytes`): above one maximal frame, below two. */
const BUDGET = 256 * 1024;

let prosody: RunningProsody | undefined;
let mitm: XmppMitm | undefined;
before(async () => {
  if (!prosodyInstalled()) return;
  prosody = await startProsody({ users: IDS.map((u) => ({ username: u, password: `pw-${u}` })), modules: ['pep'] });
  mitm = await startXmppMitm({ host: '127.0.0.1', port: prosody.port });
});
after(async () => {
  await mitm?.close();
  await prosody?.stop();
});

test('xmpp-mitm scanner: a server stream cut anywhere comes out as the same bytes, one unit per top-level element', () => {
  const header = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' version='1.0'>`;
  const els = [
    `<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>`,
    `<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`,
    `<iq type='result' id='a&apos;b'><pubsub xmlns='${PUBSUB_NS}'><items node='n'><item id='1'><frame xmlns='${FRAME_NS}'>AAEC</frame></item><item id='2'/></items></pubsub></iq>`,
    `<message from='der@localhost' type='headline'><body>é &lt;x&gt;</body></message>`,
  ];
  const stream = `${header}${els[0]}${els[1]}${header}\n ${els[2]} ${els[3]}</stream:stream>`;
  const bytes = Buffer.from(stream, 'utf8');
  for (const step of [1, 2, 7, 64, bytes.length]) {
    const out: Buffer[] = [];
    const found: string[] = [];
    const s = new StreamScanner((raw, isElement) => {
      out.push(Buffer.from(raw));
      if (isElement) found.push(raw.toString('utf8'));
    });
    for (let i = 0; i < bytes.length; i += step) s.write(bytes.subarray(i, i + step));
    assert.equal(Buffer.concat(out).toString('utf8'), stream, `chunks of ${step}`);
    assert.deepEqual(found, els, `chunks of ${step}`);
  }
});

/** One catch-up item as the hostile server lists it: its id (none: no attribute) and the `<frame>` text. */
interface Item {
  readonly id?: string;
  readonly b64: string;
}
/** What a script answers for one node: items under the node asked for, or `<items>` of another node. */
type Answer = Item[] | { node: string; items: Item[] };

/**
 * A rewrite that answers the catch-up `<items>` results of the scripted nodes: `script(genuine)` gets the items
 * Prosody returned (publish order, so `genuine[k]` is message k of that group) and says what scada gets instead.
 * `served` counts the answers given per node (so a round whose catch-up never happened fails, not passes); `seen`
 * keeps, per node, the last genuine list Prosody returned (scripted or not).
 */
function catchUp(
  scripts: Record<string, (genuine: Item[]) => Answer>,
  served: Record<string, number>,
  seen: Record<string, Item[]>,
): MitmRewrite {
  return (el) => {
    if (!el.is('iq') || el.attrs.type !== 'result') return undefined;
    const items = el.getChild('pubsub', PUBSUB_NS)?.getChild('items');
    const node = items?.attrs.node;
    if (items === undefined || node === undefined) return undefined;
    const genuine = items.getChildren('item').map((i) => ({ id: i.attrs.id, b64: i.getChild('frame', FRAME_NS)?.getText() ?? '' }));
    seen[node] = genuine;
    const script = scripts[node];
    if (script === undefined) return undefined;
    const a = script(genuine);
    const [answerNode, list] = Array.isArray(a) ? [node, a] : [a.node, a.items];
    served[node] = (served[node] ?? 0) + 1;
    const { to, from, id } = el.attrs;
    return xml(
      'iq',
      { type: 'result', to, from, id },
      xml(
        'pubsub',
        { xmlns: PUBSUB_NS },
        xml(
          'items',
          { node: answerNode },
          ...list.map((i) => xml('item', i.id === undefined ? {} : { id: i.id }, xml('frame', { xmlns: FRAME_NS }, i.b64))),
        ),
      ),
    );
  };
}

/** The frame bytes of an item, changed by `f` (on a copy), as an item with id `id`. */
function altered(item: Item | undefined, id: string, f: (bytes: Uint8Array, headerLength: number) => void): Item {
  const bytes = decodeFrameText(item?.b64 ?? '');
  assert.ok(bytes !== undefined, 'a genuine frame');
  const copy = bytes.slice();
  f(copy, decodeGroupHeader(copy).length);
  return { id, b64: encodeFrameText(copy) };
}
const withId = (item: Item | undefined, id: string | undefined): Item => {
  assert.ok(item !== undefined, 'a genuine item');
  return id === undefined ? { b64: item.b64 } : { id, b64: item.b64 };
};
/** Base64 text (valid, canonical) decoding to `n` bytes of zeros, never a real frame. */
const zeros = (n: number): string => Buffer.alloc(n).toString('base64');

type Codes = Partial<Record<ErrorCode, number>>;
function codeDelta(before: EndpointStats, after: EndpointStats): Codes {
  const out: Codes = {};
  for (const [k, v] of Object.entries(after.rejected) as [ErrorCode, number][]) {
    const d = v - (before.rejected[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

test('[SPEC 8.4, 13.6, 13.7, 13.9] hostile XMPP server: catch-up answers replayed, reordered, foreign, oversized, too many, forged, old-epoch and lying-id items; the member delivers each genuine message once, nothing forged, refusals counted by code', async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined && mitm !== undefined) || !prosody || !mitm) return;
  const p = prosody;
  const m = mitm;
  let member: Transport | undefined;
  const statuses: TransportStatus[] = [];
  const c = await cast(IDS, {
    // scada keeps the previous epoch long enough (SPEC 13.6 grace) for the old-epoch round to be exact
    perEndpoint: { scada: { session: { graceMs: 600_000 } } },
    transport: (id) => {
      if (id === 'der')
        return xmppTransport({ service: p.service, domain: p.domain, password: 'pw-der', reconnectDelayMs: 50, groupNodeItems: 64 });
      if (id !== 'scada') return xmppTransport({ service: p.service, domain: p.domain, password: `pw-${id}`, reconnectDelayMs: 50 });
      const tr = xmppTransport({
        service: m.service,
        domain: p.domain,
        password: 'pw-scada',
        reconnectDelayMs: 100,
        maxCatchUpBytes: BUDGET,
      });
      tr.onStatus!((s) => statuses.push(s));
      member = tr;
      return tr;
    },
  });
  const der = c.eps.der!;
  const scada = c.eps.scada!;
  const inbox = c.inbox.scada!;
  const delivered = (group: string, from = 0): string[] =>
    inbox
      .slice(from)
      .filter((x) => x.group === group)
      .map(text);
  try {
    const gt = await der.group('t', { members: ['scada', 'hist', 'aux'] });
    const gu = await der.group('u', { members: ['scada'] });
    const T = groupNode(gt.address.slice(4));
    const U = groupNode(gu.address.slice(4));
    await scada.join('der', 't');
    await scada.join('der', 'u');
    await c.eps.hist!.join('der', 't');
    await c.eps.aux!.join('der', 't');
    const published = { t: 0, u: 0 };
    /** Per node, the last genuine `<items>` list Prosody answered a catch-up with. */
    const seen: Record<string, Item[]> = {};
    const pub = async (group: 't' | 'u', n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await (group === 't' ? gt : gu).publish(utf8(`${group}${published[group]++}`));
    };
    await pub('t', 1);
    await pub('u', 1);
    await until(() => delivered('t').length === 1 && delivered('u').length === 1, 10_000, 't0 and u0 live');

    /**
     * One round: scada's connection is cut, `offline()` publishes, scada reconnects on a new stream and the catch-up
     * answers of `scripts`' nodes are rewritten; then exactly `t` / `u` are delivered (in that order) and exactly
     * `codes` refused. [SPEC 8.4, 13.6]
     */
    const round = async (
      what: string,
      offline: () => Promise<void>,
      scripts: Record<string, (genuine: Item[]) => Answer>,
      expect: { t: string[]; u?: string[]; codes: Codes; oversize?: number; held?: number },
    ): Promise<void> => {
      // nothing of the pairwise sessions in flight across the cut (a lost acknowledgement would be re-sent: noise)
      await until(() => der.queues().tracked === 0 && scada.queues().tracked === 0, 10_000, `${what}: sessions settled`);
      const s0 = scada.stats();
      const i0 = member!.inboundStats!();
      const n0 = inbox.length;
      const st0 = statuses.length;
      m.cut();
      await until(() => statuses.slice(st0).includes('reconnecting'), 5000, `${what}: scada cut off`);
      await offline();
      const served: Record<string, number> = {};
      m.rewrite = catchUp(scripts, served, seen);
      m.restore();
      const want = Object.values(expect.codes).reduce((a, b) => a + b, 0);
      try {
        await until(
          () =>
            Object.keys(scripts).every((n) => served[n] === 1) &&
            delivered('t', n0).length >= expect.t.length &&
            delivered('u', n0).length >= (expect.u ?? []).length &&
            scada.stats().groups.rejected - s0.groups.rejected >= want &&
            member!.inboundStats!().oversize - i0.oversize >= (expect.oversize ?? 0) &&
            scada.stats().groups.held - s0.groups.held >= (expect.held ?? 0),
          20_000,
          `${what}: the catch-up`,
        );
        await new Promise((r) => setTimeout(r, 500)); // anything more would show now
      } finally {
        m.rewrite = undefined;
      }
      assert.equal(m.failure, undefined, m.failure);
      const s1 = scada.stats();
      assert.equal(statuses.at(-1), 'connected', what);
      for (const n of Object.keys(scripts)) assert.equal(served[n], 1, `${what}: one catch-up answer for ${n} (a new stream)`);
      assert.deepEqual(delivered('t', n0), expect.t, `${what}: group t`);
      assert.deepEqual(delivered('u', n0), expect.u ?? [], `${what}: group u`);
      assert.ok(
        inbox.slice(n0).every((x) => x.from === 'der'),
        `${what}: from the publisher`,
      );
      assert.deepEqual(codeDelta(s0, s1), expect.codes, `${what}: refusals by code (stats().rejected)`);
      assert.equal(s1.groups.rejected - s0.groups.rejected, want, `${what}: group frames refused (stats().groups.rejected)`);
      assert.equal(s1.groups.received - s0.groups.received, expect.t.length + (expect.u ?? []).length, `${what}: delivered`);
      assert.equal(member!.inboundStats!().oversize - i0.oversize, expect.oversize ?? 0, `${what}: dropped for their size`);
      assert.equal(s1.groups.held - s0.groups.held, expect.held ?? 0, `${what}: held ahead of their key`);
      // [SPEC 8.9] nothing left waiting in the transport
      assert.equal(member!.inboundStats!().queued, 0, `${what}: inbound queue drained`);
    };

    await t.test(
      '(a, b, f) replayed, reordered, duplicate and missing ids: the genuine new ones once each, in the order listed; the replays ERR_REPLAY',
      () =>
        round(
          'replay/reorder',
          () => pub('t', 4), // t1..t4
          {
            // lastId (t0's) is not listed: everything goes, in the server's order
            [T]: (g) => [
              withId(g[0], 'x-a'),
              withId(g[3], 'dup'),
              withId(g[1], 'dup'),
              withId(g[4], undefined),
              withId(g[2], 'x-b'),
              withId(g[0], 'x-c'),
              withId(g[2], 'x-d'),
            ],
          },
          { t: ['t3', 't1', 't4', 't2'], codes: { ERR_REPLAY: 3 } },
        ),
    );

    await t.test(
      '(c) foreign node and foreign group: items of another node count for nothing; another group’s frames on this node ERR_WRONG_PEER',
      () =>
        round(
          'foreign',
          async () => {
            await pub('t', 2); // t5, t6
            await pub('u', 2); // u1, u2
          },
          {
            // t's answer: u's frame u0 (from the last catch-up of u) spliced in twice, then t's own
            [T]: (g) => [withId(seen[U]?.[0], 'u-a'), withId(seen[U]?.[0], 'u-b'), withId(g[5], g[5]?.id), withId(g[6], g[6]?.id)],
            // u's answer: the <items> of node t (t's frames, new ids): not the node asked for, nothing counts (u1, u2 withheld)
            [U]: () => ({ node: T, items: (seen[T] ?? []).map((x, i) => withId(x, `t-${i}`)) }),
          },
          { t: ['t5', 't6'], codes: { ERR_WRONG_PEER: 2 } },
        ),
    );

    await t.test(
      '(d) more than 64 items and items beyond maxCatchUpBytes or maxFrameSize: the newest 64 within the budget, an oversized frame never decoded',
      () =>
        round(
          'oversized',
          async () => {
            await pub('t', 3); // t7..t9
            await pub('u', 1); // u3
          },
          {
            // 70 replays of t1, then t7..t9: only the newest 64 go (61 replays refused, t7..t9 delivered)
            [T]: (g) => [
              ...Array.from({ length: 70 }, (_, i) => withId(g[1], `r-${i}`)),
              withId(g[7], g[7]?.id),
              withId(g[8], g[8]?.id),
              withId(g[9], g[9]?.id),
            ],
            // newest first within BUDGET: u3, a frame of maxFrameSize + 1 bytes (handed over, dropped for its size), u2, u1;
            // then 300,000 bytes that do not fit stop it (never handed over, not counted)
            [U]: (g) => [
              { id: 'big', b64: zeros(300_000) },
              withId(g[1], g[1]?.id),
              withId(g[2], g[2]?.id),
              { id: 'over', b64: zeros(XMPP_DEFAULT_MAX_FRAME_SIZE + 1) },
              withId(g[3], g[3]?.id),
            ],
          },
          { t: ['t7', 't8', 't9'], u: ['u1', 'u2', 'u3'], codes: { ERR_REPLAY: GROUP_NODE_MAX_ITEMS - 3 }, oversize: 1 },
        ),
    );

    await t.test(
      '(e) tampered and forged items: ERR_BAD_MAC, ERR_BAD_SIGNATURE, ERR_UNKNOWN_EPOCH, ERR_MALFORMED; a next-epoch forgery held then dropped; the genuine frames after them still delivered',
      async () => {
        const d0 = scada.stats().groups.dropped;
        await round(
          'forged',
          () => pub('t', 2), // t10, t11
          {
            [T]: (g) => [
              altered(g[10], 'mac', (b, h) => void (b[h] = (b[h] as number) ^ 1)), // ciphertext: ERR_BAD_MAC
              altered(g[10], 'sig', (b) => void (b[b.length - 3] = (b[b.length - 3] as number) ^ 1)), // signature: ERR_BAD_SIGNATURE
              altered(g[10], 'pairwise', (b) => void (b[0] = ((b[0] as number) & 0xf0) | 1)), // not GROUP_DATA: ERR_MALFORMED
              withId(g[10], g[10]?.id),
              altered(g[11], 'body', (b, h) => {
                // a forged body (ciphertext and tag, the signature trailer kept): ERR_BAD_MAC
                const end = b.length - 2 - (((b[b.length - 2] as number) << 8) | (b[b.length - 1] as number));
                assert.ok(end > h);
                for (let i = h; i < end; i++) b[i] = (b[i] as number) ^ 0x5a;
              }),
              altered(g[11], 'far', (b) => void (b[18] = 5)), // epoch 5: ERR_UNKNOWN_EPOCH
              altered(g[11], 'next', (b) => void (b[18] = 1)), // epoch 1 (current + 1): held, unverifiable
              { id: 'b64', b64: '!!not base64!!' }, // not a frame: dropped by the transport
              withId(g[11], g[11]?.id),
            ],
          },
          { t: ['t10', 't11'], codes: { ERR_BAD_MAC: 2, ERR_BAD_SIGNATURE: 1, ERR_MALFORMED: 1, ERR_UNKNOWN_EPOCH: 1 }, held: 1 },
        );
        // [SPEC 13.6] the held forgery goes at its deadline (2 s), silently: nothing delivered, nothing refused, nothing kept
        const r0 = scada.stats().groups.rejected;
        await until(() => scada.stats().groups.dropped > d0, 5000, 'the held forgery dropped');
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(scada.stats().groups.dropped - d0, 1);
        assert.equal(scada.queues().heldBytes, 0, 'hold empty');
        assert.equal(scada.stats().groups.rejected, r0);
      },
    );

    await t.test(
      '(e) old epochs: after two rotations, replayed epoch-0 frames ERR_UNKNOWN_EPOCH, the previous epoch’s ERR_REPLAY',
      async () => {
        await gt.remove('hist'); // epoch 1
        await pub('t', 1); // t12
        await until(() => delivered('t').includes('t12'), 10_000, 't12 live');
        await gt.remove('aux'); // epoch 2
        await pub('t', 1); // t13
        await until(() => delivered('t').includes('t13'), 10_000, 't13 live');
        await round(
          'old epochs',
          () => pub('t', 3), // t14..t16
          {
            [T]: (g) => [
              ...g.slice(0, 12).map((x, i) => withId(x, `e0-${i}`)), // t0..t11, epoch 0
              withId(g[12], 'e1'), // t12, epoch 1 (previous, in grace, delivered): ERR_REPLAY
              ...g.slice(14, 17),
            ],
          },
          { t: ['t14', 't15', 't16'], codes: { ERR_UNKNOWN_EPOCH: 12, ERR_REPLAY: 1 } },
        );
      },
    );

    await t.test('(f) a lying id withholds what it claims was handed over (and nothing else): only t19', () =>
      round(
        'lying id',
        () => pub('t', 3), // t17..t19
        {
          // the id of the last item scada handed over (t16's), on an item in the middle: t17 and t18 withheld
          [T]: (g) => [withId(g[17], 'f-1'), withId(g[18], g[16]?.id), withId(g[19], 'f-2')],
        },
        { t: ['t19'], codes: {} },
      ),
    );

    await t.test(
      'nothing kept but the last id: an honest catch-up after all this, decided by that id alone, brings what was withheld',
      () =>
        round(
          'honest',
          () => pub('t', 1), // t20
          {
            // Prosody's own answer, unchanged: t0..t20; scada's last id ('f-2') is not among them, so all go
            [T]: (g) => g,
          },
          { t: ['t17', 't18', 't20'], codes: { ERR_UNKNOWN_EPOCH: 12, ERR_REPLAY: 6 } },
        ),
    );

    // Each genuine message exactly once, nothing else: the whole story as the application saw it.
    const all = (g: string) => delivered(g).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    assert.deepEqual(
      all('t'),
      Array.from({ length: published.t }, (_, i) => `t${i}`),
    );
    assert.deepEqual(
      all('u'),
      Array.from({ length: published.u }, (_, i) => `u${i}`),
    );
    assert.equal(inbox.length, published.t + published.u);
    assert.ok(inbox.every((x) => x.from === 'der' && (x.group === 't' || x.group === 'u')));
  } finally {
    await c.close();
  }
});
