/**
 * XMPP inbound bounds on a private Prosody (issue 14: Part 2 item 2, the XMPP transport; item 12, the inbound
 * queue). Frames are injected by a raw XMPP client through the server, never by our own send(). [SPEC 8.4, 8.9]
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { client as xmppClient, xml, type Client } from '@xmpp/client';
import { xmppTransport } from '../../src/bindings/xmpp.js';
import { decodedLengthOfText, encodeFrameText } from '../../src/bindings/xmpp-stanza.js';
import type { InboundFrame, Transport } from '../../src/transport/transport.js';
import { prosodyInstalled, startProsody, type RunningProsody } from '../support/prosody.js';
import { requireOrSkip } from '../support/services.js';

const PROSODY = 'Prosody (scripts/ci/install-prosody.sh)';
const USERS = ['rx1', 'rx2', 'forger'].map((u) => ({ username: u, password: `pw-${u}` }));
const MAX = 1000;
let prosody: RunningProsody | undefined;
const open: Transport[] = [];
const raws: Client[] = [];

before(async () => {
  if (prosodyInstalled()) prosody = await startProsody({ users: USERS });
});
after(async () => {
  for (const t of open) await t.close();
  for (const r of raws) {
    r.reconnect.stop();
    await r.stop().catch(() => undefined);
  }
  await prosody?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await sleep(10);
  }
}

/** A raw XMPP client logged in as the forger: it writes whatever stanza it likes, the server stamps `from`. */
async function forger(p: RunningProsody): Promise<{ frame(to: string, text: string): Promise<void> }> {
  const raw = xmppClient({
    service: p.service,
    domain: p.domain,
    credentials: (auth) => auth({ username: 'forger', password: 'pw-forger' }, 'PLAIN'),
  });
  raw.on('error', () => undefined);
  raws.push(raw);
  await raw.start();
  return {
    frame: (to, text) =>
      raw.send(xml('message', { to: `${to}@${p.domain}`, type: 'normal' }, xml('frame', { xmlns: 'urn:hopsafe:frame:1' }, text))),
  };
}

const frameOf = (tag: number, n: number): Uint8Array => {
  const b = new Uint8Array(n).fill(0x5a);
  b[0] = tag;
  return b;
};

test('[SPEC 8.9] decodedLengthOfText: the decoded size from the base64 text length, padding split across text nodes included', () => {
  for (const n of [0, 1, 2, 3, 4, 5, 999, 1000, 1001]) {
    const text = encodeFrameText(new Uint8Array(n));
    assert.equal(decodedLengthOfText([text]), n, `${n} bytes`);
    for (let cut = 0; cut <= text.length; cut++)
      assert.equal(decodedLengthOfText([text.slice(0, cut), text.slice(cut)]), n, `${n} bytes cut at ${cut}`);
    assert.equal(decodedLengthOfText([text.slice(0, 1), { name: 'x' }, text.slice(1)]), n, 'element children are not text');
  }
});

test('[SPEC 8.4, 8.9] a stanza whose base64 text decodes to more than maxFrameSize never reaches onFrame; one of exactly maxFrameSize does', async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  const frames: InboundFrame[] = [];
  const rx = xmppTransport({ service: prosody.service, domain: prosody.domain, password: 'pw-rx1', maxFrameSize: MAX });
  open.push(rx);
  await rx.open('rx1', (f) => void frames.push(f));
  const f = await forger(prosody);
  await f.frame('rx1', encodeFrameText(frameOf(1, MAX + 1)));
  await f.frame('rx1', encodeFrameText(frameOf(2, 150 * MAX))); // 200 KB of text: still under Prosody's stanza limit
  await f.frame('rx1', encodeFrameText(frameOf(3, MAX)));
  await f.frame('rx1', `${'A'.repeat(4 * MAX)}`); // not even valid framing: judged by its length alone, never decoded
  await f.frame('rx1', encodeFrameText(frameOf(4, 1)));
  await until(() => frames.length >= 2);
  await sleep(300);
  assert.deepEqual(
    frames.map((x) => [x.from, x.bytes[0], x.bytes.length]),
    [
      ['forger', 3, MAX],
      ['forger', 4, 1],
    ],
  );
  assert.equal(rx.inboundStats?.().oversize, 3);
});

test('[SPEC 8.4, 8.9] the inbound queue is bounded: past maxUnsettledFrames the socket is not read until onFrame settles; nothing is lost', async (t) => {
  if (!requireOrSkip(t, PROSODY, prosody !== undefined) || !prosody) return;
  const BOUND = 8;
  const N = 2000;
  const got: number[] = [];
  let release: (() => void) | undefined;
  const gate = new Promise<void>((r) => (release = r));
  const rx = xmppTransport({ service: prosody.service, domain: prosody.domain, password: 'pw-rx2', maxUnsettledFrames: BOUND });
  open.push(rx);
  await rx.open('rx2', async (f) => {
    got.push((f.bytes[0] as number) * 256 + (f.bytes[1] as number));
    await gate; // the first frame blocks the (serial) handler: everything after it queues
  });
  const f = await forger(prosody);
  // ~150 bytes a stanza: 2000 of them are ~300 KB, several reads of the socket.
  for (let i = 0; i < N; i++) void f.frame('rx2', encodeFrameText(Uint8Array.of(i >> 8, i & 255, 0, 0)));
  await until(() => got.length === 1);
  await sleep(1500); // ample time for the server to push everything it may
  const queued = rx.inboundStats?.().queued ?? N;
  // Before issue 14 every stanza read was queued (2000). Now: the bound plus what one read of the socket held.
  assert.ok(queued >= BOUND && queued < N / 2, `queued ${queued}`);
  assert.equal(got.length, 1);
  release?.();
  await until(() => got.length === N, 30_000, `all ${N} frames (got ${got.length})`);
  assert.deepEqual(
    got,
    Array.from({ length: N }, (_, i) => i),
    'every frame delivered once, in order',
  );
  await until(() => rx.inboundStats?.().queued === 0);
});
